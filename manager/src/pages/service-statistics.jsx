// The Statistics tab: the service's `statistics` (requests, failures, response times since the
// server started, per machine) and its requests over time, read as the ArcGIS API for Python's
// quick_report does: a usage report is added for the service, its data read, and it is deleted.
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { Chart, ErrorMessage, Field, Loading, useLoad, when } from "../ui.jsx";

const PERIODS = [
  ["LAST_DAY", "Last day (hourly)", 60],
  ["LAST_WEEK", "Last week (every 4 hours)", 240],
  ["LAST_MONTH", "Last month (daily)", 1440],
];

const ms = (value) => `${Number(value || 0).toLocaleString(undefined, { maximumFractionDigits: 1 })} ms`;

function Figures({ summary }) {
  return (
    <dl class="service-figures">
      <div>
        <dt>Requests</dt>
        <dd>{Number(summary.transactions || 0).toLocaleString()}</dd>
      </div>
      <div>
        <dt>Failures</dt>
        <dd>{Number(summary.failures || 0).toLocaleString()}</dd>
      </div>
      <div>
        <dt>Average time</dt>
        <dd>{ms(summary.avgResponseTime)}</dd>
      </div>
      <div>
        <dt>Longest time</dt>
        <dd>{ms(summary.maxResponseTime)}</dd>
      </div>
    </dl>
  );
}

/** A usage report of this service over `since`, read once and deleted. */
async function history(service, since, minutes) {
  const reportname = `manager_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin("/usagereports/add", {
    usagereport: {
      reportname,
      since,
      aggregationInterval: minutes,
      queries: [{ resourceURIs: [service.resourceURI], metrics: ["RequestCount", "RequestsFailed", "RequestAvgResponseTime"] }],
      metadata: { temp: true, title: `Manager: ${service.resourceURI}` },
    },
  });
  try {
    const answer = await admin(`/usagereports/${encodeURIComponent(reportname)}/data`);
    const report = answer.report || {};
    const series = (report["report-data"] || [])[0] || [];
    const values = (metric) => (series.find((s) => s["metric-type"] === metric)?.data || []).map((v) => v ?? 0);
    return {
      times: (report["time-slices"] || []).map((t) => t / 1000),
      requests: values("RequestCount"),
      failures: values("RequestsFailed"),
    };
  } finally {
    await admin(`/usagereports/${encodeURIComponent(reportname)}/delete`).catch(() => null);
  }
}

function History({ service }) {
  const [period, setPeriod] = useState(PERIODS[0][0]);
  const [, , minutes] = PERIODS.find(([key]) => key === period);
  const loaded = useLoad(async () => {
    const data = await history(service, period, minutes);
    return { ...data, series: [{ label: "Requests", values: data.requests }, { label: "Failures", values: data.failures }] };
  }, [service.resourceURI, period]);
  return (
    <section class="card" aria-labelledby="service-history-title">
      <h2 id="service-history-title">Requests over time</h2>
      <div class="filters">
        <Field label="Period">
          <select name="period" value={period} onChange={(e) => setPeriod(e.currentTarget.value)}>
            {PERIODS.map(([key, label]) => (
              <option value={key}>{label}</option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorMessage error={loaded.error} />
      {loaded.data ? (
        <Chart title={`Requests to ${service.name}`} times={loaded.data.times} series={loaded.data.series} />
      ) : loaded.loading ? (
        <Loading what="Loading the usage" />
      ) : null}
    </section>
  );
}

export function Statistics({ service }) {
  const loaded = useLoad(() => admin(`${service.adminPath}/statistics`), [service.adminPath]);
  const data = loaded.data;
  return (
    <>
      <section class="card" aria-labelledby="service-statistics-title">
        <h2 id="service-statistics-title">Since the server started</h2>
        <ErrorMessage error={loaded.error} />
        {data ? (
          <>
            <p>Counted since {when(data.summary?.startTime)}.</p>
            <Figures summary={data.summary || {}} />
            {(data.perMachine || []).length ? (
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Statistics of {service.name} per machine</caption>
                  <thead>
                    <tr>
                      <th scope="col">Machine</th>
                      <th scope="col" class="num">Requests</th>
                      <th scope="col" class="num">Failures</th>
                      <th scope="col" class="num">Average time</th>
                      <th scope="col" class="num">Longest time</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.perMachine.map((m) => (
                      <tr>
                        <td>{m.machineName}</td>
                        <td class="num">{Number(m.transactions || 0).toLocaleString()}</td>
                        <td class="num">{Number(m.failures || 0).toLocaleString()}</td>
                        <td class="num">{ms(m.avgResponseTime)}</td>
                        <td class="num">{ms(m.maxResponseTime)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
            <button type="button" onClick={loaded.reload} disabled={loaded.loading}>
              Refresh
            </button>
          </>
        ) : loaded.loading ? (
          <Loading what="Loading the statistics" />
        ) : null}
      </section>
      <History service={service} />
    </>
  );
}
