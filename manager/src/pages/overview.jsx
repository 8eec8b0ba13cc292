// The site at a glance, from the same calls a script makes: the machines and their state
// (/admin/machines, machines/<m>, countErrorReports), the services by state (the folder
// listings with detail=true), the latest SEVERE and WARNING records (logs/query) and the
// requests per minute of the last hour, from a usage report the Manager adds once and reuses
// (flagged "managerReport" in its metadata, as ArcGIS Server Manager flags its own).
import { useState } from "preact/hooks";
import { admin, ApiError, may } from "../api.js";
import { href } from "../router.js";
import { Badge, Chart, ErrorMessage, Loading, Page, useLoad, when } from "../ui.jsx";
import { listServices, LogTable, queryLogs } from "./logs-data.jsx";
import { ROOT } from "./services.jsx";

/** The usage report behind the chart: every service, per minute, over the last day. */
export const USAGE_REPORT = "geosite-manager-requests-per-minute";
const REPORT = {
  reportname: USAGE_REPORT,
  since: "LAST_DAY",
  aggregationInterval: 1,
  queries: [{ resourceURIs: ["services/"], metrics: ["RequestCount", "RequestsFailed"] }],
  metadata: { temp: false, title: "Requests per minute (geosite Manager)", managerReport: true },
};
const MINUTES = 60;
/** How the Services page names the root folder in its filter (#/services?folder=_root). */


function Section({ title, id, children }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

async function loadMachines() {
  const { machines = [] } = await admin("/machines");
  const [details, severe] = await Promise.all([
    Promise.all(machines.map((m) => admin(`/machines/${encodeURIComponent(m.machineName)}`))),
    admin("/logs/countErrorReports", { machine: "*" }).catch(() => ({})),
  ]);
  return details.map((d) => ({ ...d, severe: severe[d.machineName] ?? "" }));
}

function Machines() {
  const { data, error, loading } = useLoad(loadMachines, []);
  return (
    <Section title="Machines" id="overview-machines">
      <ErrorMessage error={error} />
      {loading && !data ? <Loading what="Reading the machines" /> : null}
      {data ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Machines table">
          <table class="machines">
            <caption class="visually-hidden">The machines of the site and their state</caption>
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">State</th>
                <th scope="col">Platform</th>
                <th scope="col">Started</th>
                <th scope="col" class="num">SEVERE records</th>
              </tr>
            </thead>
            <tbody>
              {data.map((m) => (
                <tr key={m.machineName}>
                  <th scope="row">{m.machineName}</th>
                  <td>
                    <Badge state={m.realTimeState} />
                    {m.configuredState && m.configuredState !== m.realTimeState ? (
                      <span class="configured"> (configured {m.configuredState})</span>
                    ) : null}
                  </td>
                  <td>{m.platform}</td>
                  <td class="time">{when(m.ServerStartTime)}</td>
                  <td class="num">{m.severe}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Section>
  );
}

async function loadServiceCounts() {
  const services = await listServices();
  const folders = new Map();
  const total = { STARTED: 0, STOPPED: 0, OTHER: 0, all: 0 };
  for (const s of services) {
    const name = s.folder || "(root)";
    if (!folders.has(name)) folders.set(name, { folder: s.folder, STARTED: 0, STOPPED: 0, OTHER: 0, all: 0 });
    const counts = folders.get(name);
    const state = s.state === "STARTED" || s.state === "STOPPED" ? s.state : "OTHER";
    for (const c of [counts, total]) {
      c[state] += 1;
      c.all += 1;
    }
  }
  return { total, folders: [...folders.entries()] };
}

function Services() {
  const { data, error, loading } = useLoad(loadServiceCounts, []);
  return (
    <Section title="Services" id="overview-services">
      <ErrorMessage error={error} />
      {loading && !data ? <Loading what="Reading the services" /> : null}
      {data ? (
        <>
          <p class="counts">
            <span class="count">
              <strong class="started-count">{data.total.STARTED}</strong> started
            </span>
            <span class="count">
              <strong class="stopped-count">{data.total.STOPPED}</strong> stopped
            </span>
            {data.total.OTHER ? (
              <span class="count">
                <strong>{data.total.OTHER}</strong> other
              </span>
            ) : null}
            <span class="count">
              of <strong>{data.total.all}</strong>
            </span>
          </p>
          {data.folders.length ? (
            <div class="table-wrap">
              <table class="service-counts">
                <caption class="visually-hidden">Services by folder and state</caption>
                <thead>
                  <tr>
                    <th scope="col">Folder</th>
                    <th scope="col" class="num">Started</th>
                    <th scope="col" class="num">Stopped</th>
                    <th scope="col" class="num">Total</th>
                  </tr>
                </thead>
                <tbody>
                  {data.folders.map(([name, c]) => (
                    <tr key={name}>
                      <th scope="row">
                        <a href={href(["services"], { folder: c.folder || ROOT })}>{name}</a>
                      </th>
                      <td class="num">{c.STARTED}</td>
                      <td class="num">{c.STOPPED}</td>
                      <td class="num">{c.all}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p>
              No services yet. <a href={href(["publish"])}>Publish one</a>.
            </p>
          )}
        </>
      ) : null}
    </Section>
  );
}

/** The report's definition as geosite keeps it differs from ours where it matters. */
function differs(found) {
  const query = found.queries?.[0] || {};
  return (
    found.since !== REPORT.since ||
    Number(found.aggregationInterval) !== REPORT.aggregationInterval ||
    JSON.stringify(query.resourceURIs) !== JSON.stringify(REPORT.queries[0].resourceURIs) ||
    JSON.stringify(query.metrics) !== JSON.stringify(REPORT.queries[0].metrics)
  );
}

/**
 * The Manager's usage report: added the first time, put back if someone changed it. The list
 * says whether it exists (asking for it by name would answer 404, an error in the console).
 */
async function ensureReport() {
  const params = { usagereport: REPORT };
  const { metrics = [] } = await admin("/usagereports");
  const found = metrics.find((r) => String(r.reportname).toLowerCase() === USAGE_REPORT);
  if (!found) {
    try {
      await admin("/usagereports/add", params);
    } catch (error) {
      // Another Manager added it meanwhile (409): use theirs.
      if (!(error instanceof ApiError) || error.code !== 409) throw error;
    }
  } else if (differs(found)) {
    await admin(`/usagereports/${USAGE_REPORT}/edit`, params);
  }
}

async function loadRequests() {
  await ensureReport();
  const { report } = await admin(`/usagereports/${USAGE_REPORT}/data`, { filter: { machines: "*" } });
  const slices = report["time-slices"].slice(-MINUTES);
  const series = (metric) => {
    const item = report["report-data"][0].find((d) => d["metric-type"] === metric);
    return (item ? item.data.slice(-MINUTES) : slices.map(() => 0)).map((v) => v || 0);
  };
  // A slice's time is its end; the chart shows each minute at its start.
  return {
    times: slices.map((t) => (t - 60_000) / 1000),
    series: [
      { label: "Requests", values: series("RequestCount") },
      { label: "Failed", values: series("RequestsFailed") },
    ],
  };
}

function Requests() {
  const { data, error, loading } = useLoad(loadRequests, []);
  return (
    <Section title="Requests per minute, last hour" id="overview-requests">
      <ErrorMessage error={error} />
      {loading && !data ? <Loading what="Reading the usage data" /> : null}
      {data ? (
        <Chart title="Requests to services per minute over the last hour" times={data.times} series={data.series} />
      ) : null}
    </Section>
  );
}

function Messages() {
  const { data, error, loading } = useLoad(() => queryLogs({ level: "WARNING", pageSize: 10 }), []);
  const records = data?.logMessages || [];
  return (
    <Section title="Latest SEVERE and WARNING messages" id="overview-messages">
      <ErrorMessage error={error} />
      {loading && !data ? <Loading what="Reading the logs" /> : null}
      {data && !records.length ? <p>No SEVERE or WARNING records.</p> : null}
      {records.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Latest messages table">
          <LogTable records={records} caption="The latest SEVERE and WARNING log records" compact />
        </div>
      ) : null}
      {data ? (
        <p>
          <a href={href(["logs"], { level: "WARNING" })}>All the logs</a>
        </p>
      ) : null}
    </Section>
  );
}

export function Overview() {
  const administrator = may("ADMINISTER");
  // Refresh reads everything again (the sections mount anew).
  const [round, setRound] = useState(0);
  const refresh = (
    <button type="button" onClick={() => setRound(round + 1)}>
      Refresh
    </button>
  );
  return (
    <Page title="Overview" actions={refresh}>
      <div key={round}>
        {administrator ? <Machines /> : null}
        <div class="grid overview">
          <Services />
          <Requests />
        </div>
        <Messages />
      </div>
    </Page>
  );
}
