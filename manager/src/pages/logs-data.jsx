// What the Overview and the Logs page share: the log query (/admin/logs/query, ArcGIS's
// parameters and paging), the table of log records, and the count of services by state.
import { admin } from "../api.js";
import { when } from "../ui.jsx";
import { SYSTEM } from "./services.jsx";

/** ArcGIS's levels, most severe first; a query asks for "this level and more severe". */
export const LEVELS = ["SEVERE", "WARNING", "INFO", "FINE", "VERBOSE", "DEBUG"];

/**
 * One page of `/admin/logs/query`. `newest` is ArcGIS's `startTime` (the newer end, default
 * now), `oldest` its `endTime`; the answer's `endTime` is the next page's `startTime` while
 * `hasMore` is true.
 */
export function queryLogs({ level = "WARNING", newest, oldest, filter, pageSize = 100 }) {
  return admin("/logs/query", {
    level,
    startTime: newest ?? undefined,
    endTime: oldest ?? undefined,
    filterType: "json",
    filter: filter && Object.keys(filter).length ? filter : undefined,
    pageSize,
  });
}

/** A record's identity (records carry no id; these fields tell two apart). */
export function recordKey(m) {
  return [m.time, m.type, m.code, m.machine, m.process, m.thread, m.requestID, m.source, m.message].join("\u0001");
}

/** A table of log records, newest first (`compact`: without machine, user and request id). */
export function LogTable({ records, caption, compact = false, captionHidden = true }) {
  return (
    <table class="logs">
      <caption class={captionHidden ? "visually-hidden" : undefined}>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Level</th>
          <th scope="col" class="num">Code</th>
          <th scope="col">Source</th>
          {compact ? null : <th scope="col">Machine</th>}
          {compact ? null : <th scope="col">User</th>}
          <th scope="col">Message</th>
          {compact ? null : <th scope="col">Request ID</th>}
        </tr>
      </thead>
      <tbody>
        {records.map((m) => (
          <tr key={recordKey(m)} class="log-row">
            <td class="time">{when(m.time)}</td>
            <td class={`level level-${m.type}`}>{m.type}</td>
            <td class="num">{m.code}</td>
            <td>{m.source}</td>
            {compact ? null : <td>{m.machine}</td>}
            {compact ? null : <td>{m.user}</td>}
            <td class="message">{m.message}</td>
            {compact ? null : <td class="request-id">{m.requestID || ""}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}


/**
 * Every service with its configured state, from the folder listings with `detail=true` (what
 * an administrator and a publisher may both read): [{folder, name, type, state}].
 */
export async function listServices() {
  const root = await admin("/services", { detail: true });
  const folders = (root.folders || []).filter((f) => f.toLowerCase() !== SYSTEM);
  const row = (folder) => (s) => ({
    folder,
    name: s.serviceName,
    type: s.type,
    state: String(s.configuredState || "UNKNOWN").toUpperCase(),
  });
  const found = (root.services || []).map(row(""));
  const listings = await Promise.all(
    folders.map((f) => admin(`/services/${encodeURIComponent(f)}`, { detail: true })),
  );
  listings.forEach((listing, i) => found.push(...(listing.services || []).map(row(folders[i]))));
  return found;
}
