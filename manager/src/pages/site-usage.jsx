// Site › Usage reports: the reports of /admin/usagereports, a new one (usagereports/add with
// ArcGIS's usagereport JSON), its data as charts (usagereports/<name>/data: one chart per
// metric, a line per resource), and deleting one.
import { useMemo, useState } from "preact/hooks";
import { admin } from "../api.js";
import { Chart, ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";

const METRICS = [
  ["RequestCount", "Requests"],
  ["RequestsFailed", "Failed requests"],
  ["RequestsTimedOut", "Timed-out requests"],
  ["RequestMaxResponseTime", "Maximum response time (s)"],
  ["RequestAvgResponseTime", "Average response time (s)"],
];
const SINCE = [
  ["LAST_DAY", "Last day"],
  ["LAST_WEEK", "Last week"],
  ["LAST_MONTH", "Last month"],
  ["LAST_YEAR", "Last year"],
  ["CUSTOM", "From … to …"],
];
const metricLabel = (name) => (METRICS.find(([m]) => m === name) || [name, name])[1];
const reportPath = (name) => `/usagereports/${encodeURIComponent(name)}`;

/** The resource URIs a report can name: every service, each folder, each service. */
async function loadResources() {
  const root = await admin("/services");
  const folders = (root.folders || []).filter(Boolean);
  const inFolders = await Promise.all(folders.map((f) => admin(`/services/${encodeURIComponent(f)}`)));
  const uris = [["services/", "All services (services/)"]];
  for (const f of folders) uris.push([`services/${f}`, `Folder ${f} (services/${f})`]);
  for (const [folder, listing] of [["", root], ...folders.map((f, i) => [f, inFolders[i]])]) {
    for (const s of listing.services || []) {
      const name = `${s.serviceName}.${s.type}`;
      const path = folder ? `${folder}/${name}` : name;
      uris.push([`services/${path}`, path]);
    }
  }
  return uris;
}

function AddReport({ onAdded }) {
  const resources = useLoad(loadResources, []);
  const [form, setForm] = useState({ reportname: "", since: "LAST_DAY", from: "", to: "", interval: "" });
  const [metrics, setMetrics] = useState(["RequestCount"]);
  const [uris, setUris] = useState(["services/"]);
  const action = useAction();
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const toggle = (metric) => (e) =>
    setMetrics(e.currentTarget.checked ? [...metrics, metric] : metrics.filter((m) => m !== metric));
  const submit = async (event) => {
    event.preventDefault();
    const report = {
      reportname: form.reportname.trim(),
      since: form.since,
      queries: [{ resourceURIs: uris, metrics }],
      metadata: JSON.stringify({ temp: false, title: form.reportname.trim(), managerReport: true }),
    };
    if (form.since === "CUSTOM") {
      report.from = form.from ? new Date(form.from).getTime() : undefined;
      report.to = form.to ? new Date(form.to).getTime() : undefined;
    }
    if (form.interval) report.aggregationInterval = Number(form.interval);
    const done = await action.run(() => admin("/usagereports/add", { usagereport: report }), `Report ${report.reportname} created.`);
    if (done) {
      setForm({ ...form, reportname: "" });
      onAdded(report.reportname);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-report-title">
      <h3 id="add-report-title">New usage report</h3>
      <Field label="Report name" hint="Letters, digits, '_', '.', '@' or '-'">
        <input name="reportname" required value={form.reportname} onInput={set("reportname")} />
      </Field>
      <fieldset>
        <legend>Metrics</legend>
        {METRICS.map(([metric, label]) => (
          <label class="check">
            <input type="checkbox" checked={metrics.includes(metric)} onChange={toggle(metric)} /> {label}
          </label>
        ))}
      </fieldset>
      <Field label="Resources" hint="Ctrl-click or Shift-click to choose several">
        <select
          name="resourceURIs"
          multiple
          size={Math.min(6, Math.max(2, resources.data?.length || 2))}
          onChange={(e) => setUris([...e.currentTarget.selectedOptions].map((o) => o.value))}
        >
          {(resources.data || [["services/", "All services (services/)"]]).map(([uri, label]) => (
            <option value={uri} selected={uris.includes(uri)}>
              {label}
            </option>
          ))}
        </select>
      </Field>
      <ErrorMessage error={resources.error} />
      <Field label="Period">
        <select name="since" value={form.since} onChange={set("since")}>
          {SINCE.map(([value, label]) => (
            <option value={value}>{label}</option>
          ))}
        </select>
      </Field>
      {form.since === "CUSTOM" ? (
        <div class="filters">
          <Field label="From">
            <input name="from" type="datetime-local" required value={form.from} onInput={set("from")} />
          </Field>
          <Field label="To">
            <input name="to" type="datetime-local" required value={form.to} onInput={set("to")} />
          </Field>
        </div>
      ) : null}
      <Field label="Interval (minutes)" hint="Optional: 30 min for a day, 4 hours for a week, a day for a month">
        <input name="aggregationInterval" type="number" min="1" step="1" value={form.interval} onInput={set("interval")} />
      </Field>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="primary" disabled={action.busy || !metrics.length || !uris.length}>
        Create report
      </button>
    </form>
  );
}

function ReportData({ name }) {
  const { data, error, loading } = useLoad(() => admin(reportPath(name) + "/data"), [name]);
  const charts = useMemo(() => {
    const report = data?.report;
    if (!report) return [];
    const times = (report["time-slices"] || []).map((ms) => ms / 1000);
    const byMetric = new Map();
    for (const query of report["report-data"] || []) {
      for (const item of query) {
        if (!byMetric.has(item["metric-type"])) byMetric.set(item["metric-type"], []);
        byMetric.get(item["metric-type"]).push({ label: item.resourceURI, values: item.data });
      }
    }
    return [...byMetric].map(([metric, series]) => ({ metric, times, series }));
  }, [data]);
  return (
    <section class="card" aria-labelledby="report-data-title">
      <h3 id="report-data-title">Report {name}</h3>
      <ErrorMessage error={error} />
      {loading ? <Loading what="Loading the report's data" /> : null}
      {charts.map((c) => (
        <Chart title={metricLabel(c.metric)} times={c.times} series={c.series} />
      ))}
    </section>
  );
}

export function UsageReports() {
  const { data, error, loading, reload } = useLoad(() => admin("/usagereports"), []);
  const [shown, setShown] = useState(null);
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const remove = async (name) => {
    if (!(await confirm(`Delete the usage report ${name}? The counts stay; only the report goes.`, "Delete"))) return;
    const done = await action.run(() => admin(reportPath(name) + "/delete"), `Report ${name} deleted.`);
    if (done && shown === name) setShown(null);
    reload();
  };
  const reports = data?.metrics || [];
  return (
    <section class="site-tab" aria-labelledby="usage-title">
      <h2 id="usage-title">Usage reports</h2>
      {dialog}
      <ErrorMessage error={error || action.error} />
      <Notice text={action.notice} />
      {loading && !data ? <Loading what="Loading the usage reports" /> : null}
      {data ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Usage reports</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Period</th>
                <th scope="col" class="num">
                  Interval (min)
                </th>
                <th scope="col">Resources</th>
                <th scope="col">Metrics</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {reports.length === 0 ? (
                <tr>
                  <td colSpan={6}>No usage report yet.</td>
                </tr>
              ) : null}
              {reports.map((r) => (
                <tr>
                  <td>{r.reportname}</td>
                  <td>{(SINCE.find(([s]) => s === r.since) || [r.since, r.since])[1]}</td>
                  <td class="num">{r.aggregationInterval}</td>
                  <td>{(r.queries || []).flatMap((q) => q.resourceURIs).join(", ")}</td>
                  <td>{[...new Set((r.queries || []).flatMap((q) => q.metrics))].map(metricLabel).join(", ")}</td>
                  <td>
                    <div class="actions">
                      <button type="button" aria-pressed={shown === r.reportname} onClick={() => setShown(r.reportname)}>
                        Chart<span class="visually-hidden"> of {r.reportname}</span>
                      </button>
                      <button type="button" class="danger" disabled={action.busy} onClick={() => remove(r.reportname)}>
                        Delete<span class="visually-hidden"> {r.reportname}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {shown ? <ReportData key={shown} name={shown} /> : null}
      <AddReport
        onAdded={(name) => {
          reload();
          setShown(name);
        }}
      />
    </section>
  );
}
