// The site's log records (/admin/logs/query), filtered as ArcGIS's query filters them (level
// "and more severe", the time window as startTime (the newer end) and endTime (the older),
// and a JSON filter of services or sources, machines, users, codes and request ids), paged by
// the answer's hasMore and endTime, which the next page sends as its startTime. The filters
// live in the URL (#/logs?level=WARNING&window=1h&code=7101), so a reload keeps them. Text is
// searched in the records already fetched: the API has no text filter.
//
// The live tail asks every few seconds for the records newer than the newest shown and puts
// them on top; it pauses while the person has scrolled the table away from its top (so rows do
// not move under their eyes), says so, and resumes with a button or by scrolling back up.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { admin, may } from "../api.js";
import { navigate } from "../router.js";
import { ErrorMessage, Field, Loading, Page, useLoad, when } from "../ui.jsx";
import { LEVELS, listServices, LogTable, queryLogs, recordKey } from "./logs-data.jsx";

const WINDOWS = [
  ["15m", "Last 15 minutes", 15 * 60_000],
  ["1h", "Last hour", 3_600_000],
  ["1d", "Last day", 86_400_000],
  ["1w", "Last week", 7 * 86_400_000],
  ["all", "Any time", 0],
  ["custom", "Custom: from and to", 0],
];
const SIZES = ["25", "50", "100", "200", "500", "1000"];
const DEFAULTS = { level: "WARNING", window: "all", size: "100" };
const KEYS = ["level", "window", "from", "to", "source", "machine", "user", "code", "request", "text", "size"];
/** Seconds between two looks for new records while the live tail is on. */
const TAIL_SECONDS = 3;
/** At most this many pages of new records per look (more: the newest ones). */
const TAIL_PAGES = 5;
/** The most rows the live tail keeps: the oldest go first. */
const TAIL_ROWS = 1000;
/** Scrolled further than this (px) from the table's top: the tail pauses. */
const SCROLL_SLACK = 4;
const SERVER_SOURCES = ["Admin", "Rest", "Server", "Tokens"];

/** The filters of a route query, with the defaults filled in. */
function fromQuery(query) {
  const filters = { ...DEFAULTS };
  for (const key of KEYS) if (query[key]) filters[key] = query[key];
  if (!LEVELS.includes(filters.level)) filters.level = DEFAULTS.level;
  if (!WINDOWS.some(([id]) => id === filters.window)) filters.window = DEFAULTS.window;
  if (!SIZES.includes(filters.size)) filters.size = DEFAULTS.size;
  return filters;
}

/** The URL query of filters: the level, and what differs from the defaults. */
function toQuery(filters) {
  const query = {};
  for (const key of KEYS) {
    const value = String(filters[key] ?? "").trim();
    if (value && (value !== DEFAULTS[key] || key === "level")) query[key] = value;
  }
  if (query.window !== "custom") {
    delete query.from;
    delete query.to;
  }
  return query;
}

const list = (text) =>
  String(text || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * ArcGIS's `filter`: a source with a type ("Maps/Cities.MapServer") is a service, another one
 * ("Rest", "Admin") a server source. Naming only services leaves out the server sources (an
 * empty `server` list means none), and the other way round.
 */
export function logFilter(filters) {
  const filter = {};
  const sources = list(filters.source);
  if (sources.length) {
    filter.services = sources.filter((s) => s.includes("."));
    filter.server = sources.filter((s) => !s.includes("."));
  }
  if (list(filters.machine).length) filter.machines = list(filters.machine);
  if (list(filters.user).length) filter.users = list(filters.user);
  if (list(filters.code).length) filter.codes = list(filters.code);
  if (list(filters.request).length) filter.requestIds = list(filters.request);
  return filter;
}

/** The window's ends in ms: {newest (startTime), oldest (endTime)}, undefined for open ends. */
function windowOf(filters) {
  if (filters.window === "custom") {
    const at = (text) => (text ? new Date(text).getTime() : undefined);
    return { newest: at(filters.to), oldest: at(filters.from) };
  }
  const span = WINDOWS.find(([id]) => id === filters.window)?.[2] || 0;
  return { newest: undefined, oldest: span ? Date.now() - span : undefined };
}

function matches(record, text) {
  if (!text) return true;
  const wanted = text.toLowerCase();
  return [record.message, record.source, record.user, record.machine, record.code, record.requestID]
    .some((v) => String(v ?? "").toLowerCase().includes(wanted));
}

/** Machines and sources to offer in the filter boxes (a publisher may read the logs and the
 * services, not the machines: it types a machine's name). */
async function loadChoices() {
  const [machines, services] = await Promise.all([
    may("ADMINISTER") ? admin("/machines").then((m) => (m.machines || []).map((x) => x.machineName)) : [],
    listServices().then((s) => s.map((x) => `${x.folder ? x.folder + "/" : ""}${x.name}.${x.type}`)),
  ]);
  return { machines, sources: [...SERVER_SOURCES, ...services] };
}

function Filters({ filters, choices }) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [filters]);
  const set = (key) => (event) => setDraft({ ...draft, [key]: event.currentTarget.value });
  const submit = (event) => {
    event.preventDefault();
    navigate(["logs"], toQuery(draft));
  };
  const reset = () => navigate(["logs"], {});
  return (
    <form class="filters log-filters" onSubmit={submit} aria-label="Log filters">
      <Field label="Level (and more severe)">
        <select name="level" value={draft.level} onChange={set("level")}>
          {LEVELS.map((l) => (
            <option value={l}>{l}</option>
          ))}
        </select>
      </Field>
      <Field label="Time">
        <select name="window" value={draft.window} onChange={set("window")}>
          {WINDOWS.map(([id, label]) => (
            <option value={id}>{label}</option>
          ))}
        </select>
      </Field>
      {draft.window === "custom" ? (
        <>
          <Field label="From">
            <input name="from" type="datetime-local" step="1" value={draft.from || ""} onInput={set("from")} />
          </Field>
          <Field label="To">
            <input name="to" type="datetime-local" step="1" value={draft.to || ""} onInput={set("to")} />
          </Field>
        </>
      ) : null}
      <Field label="Service or source">
        <input name="source" list="log-sources" value={draft.source || ""} onInput={set("source")} placeholder="Maps/Cities.MapServer, Rest" />
      </Field>
      <Field label="Machine">
        <input name="machine" list="log-machines" value={draft.machine || ""} onInput={set("machine")} />
      </Field>
      <Field label="User">
        <input name="user" value={draft.user || ""} onInput={set("user")} autoComplete="off" />
      </Field>
      <Field label="Code">
        <input name="code" inputMode="numeric" value={draft.code || ""} onInput={set("code")} placeholder="7101, 7303" />
      </Field>
      <Field label="Request ID">
        <input name="request" value={draft.request || ""} onInput={set("request")} autoComplete="off" />
      </Field>
      <Field label="Text" hint="In this page only: the API has no text filter.">
        <input name="text" type="search" value={draft.text || ""} onInput={set("text")} />
      </Field>
      <Field label="Records per page">
        <select name="size" value={draft.size} onChange={set("size")}>
          {SIZES.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </Field>
      <div class="actions">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button type="button" onClick={reset}>
          Clear
        </button>
      </div>
      <datalist id="log-sources">
        {(choices?.sources || []).map((s) => (
          <option value={s} />
        ))}
      </datalist>
      <datalist id="log-machines">
        {(choices?.machines || []).map((m) => (
          <option value={m} />
        ))}
      </datalist>
    </form>
  );
}

export function Logs({ route }) {
  const filters = useMemo(() => fromQuery(route.query), [JSON.stringify(route.query)]);
  const server = useMemo(() => ({ ...filters, text: "" }), [filters]);
  const serverKey = JSON.stringify(server);
  const choices = useLoad(loadChoices, []);

  // pages[i]: the startTime that page i was asked with (undefined: now, the newest page).
  const [pages, setPages] = useState([undefined]);
  const [answer, setAnswer] = useState(null); // {records, hasMore, endTime, startTime}
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [tail, setTail] = useState(false);
  const [paused, setPaused] = useState(false);
  const [news, setNews] = useState("");
  const generation = useRef(0);
  const scroller = useRef(null);
  const page = pages.length - 1;

  const ask = (newest, oldest) =>
    queryLogs({ level: server.level, newest, oldest, filter: logFilter(server), pageSize: Number(server.size) });

  const load = async (stack) => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    const win = windowOf(server);
    const newest = stack[stack.length - 1] ?? win.newest;
    try {
      const found = await ask(newest, win.oldest);
      if (mine !== generation.current) return;
      setPages(stack);
      setAnswer({ records: found.logMessages || [], hasMore: found.hasMore, endTime: found.endTime, startTime: found.startTime });
      if (scroller.current) scroller.current.scrollTop = 0;
      setPaused(false);
    } catch (failure) {
      if (mine === generation.current) setError(failure);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    setNews("");
    load([undefined]);
  }, [serverKey]);

  const fixedEnd = server.window === "custom" && server.to;
  const tailing = tail && !paused && page === 0 && !fixedEnd && answer !== null;

  // The live tail: the records newer than the newest shown (its millisecond again, since
  // another record of it may have been written since; those already shown are skipped).
  const answerRef = useRef(answer);
  answerRef.current = answer;
  useEffect(() => {
    if (!tailing) return undefined;
    let busy = false;
    const look = async () => {
      if (busy || document.hidden) return; // no polling from a tab nobody looks at
      busy = true;
      const mine = generation.current;
      try {
        const current = answerRef.current;
        const since = current.records[0]?.time ?? current.startTime;
        const found = [];
        let newest;
        let skipped = false;
        for (let i = 0; i < TAIL_PAGES; i++) {
          const part = await ask(newest, since);
          found.push(...(part.logMessages || []));
          skipped = Boolean(part.hasMore);
          if (!part.hasMore) break;
          newest = part.endTime;
        }
        if (mine !== generation.current) return;
        const shown = new Set(answerRef.current.records.map(recordKey));
        const fresh = found.filter((m) => !shown.has(recordKey(m)));
        if (fresh.length) {
          setAnswer((a) => ({ ...a, records: [...fresh, ...a.records].slice(0, TAIL_ROWS) }));
          const word = fresh.length === 1 ? "record" : "records";
          const more = skipped ? " More arrived than the tail shows: older ones among them are left out." : "";
          setNews(`${fresh.length} new ${word} at ${new Date().toLocaleTimeString()}.${more}`);
        }
        setError(null);
      } catch (failure) {
        if (mine === generation.current) setError(failure);
      } finally {
        busy = false;
      }
    };
    look();
    const timer = setInterval(look, TAIL_SECONDS * 1000);
    return () => clearInterval(timer);
  }, [tailing, serverKey]);

  const onScroll = (event) => {
    const away = event.currentTarget.scrollTop > SCROLL_SLACK;
    if (away !== paused) setPaused(away);
  };
  const resume = () => {
    if (scroller.current) scroller.current.scrollTop = 0;
    setPaused(false);
  };
  const toggleTail = (event) => {
    const on = event.currentTarget.checked;
    setTail(on);
    setNews("");
    if (on && page > 0) load([undefined]);
  };

  const records = answer?.records || [];
  const shown = filters.text ? records.filter((m) => matches(m, filters.text)) : records;
  let status = "";
  if (tail && fixedEnd) status = "Live tail: off while the window has a fixed end (To).";
  else if (tail && page > 0) status = "Live tail: off on older pages.";
  else if (tail && paused) status = "Paused: scrolled. New records wait until you resume.";
  else if (tail) status = `Live tail: looking for new records every ${TAIL_SECONDS} seconds. ${news}`;

  return (
    <Page title="Logs">
      <Filters filters={filters} choices={choices.data} />
      <ErrorMessage error={choices.error} />
      <div class="log-bar">
        <label class="tail-toggle">
          <input type="checkbox" checked={tail} onChange={toggleTail} /> Live tail
        </label>
        <p class="tail-status" role="status" aria-live="polite">
          {status}
        </p>
        {tail && paused ? (
          <button type="button" onClick={resume}>
            Resume
          </button>
        ) : null}
      </div>
      <ErrorMessage error={error} />
      {loading && !answer ? <Loading what="Reading the logs" /> : null}
      {answer ? (
        <>
          <p class="log-summary">
            {filters.text
              ? `${shown.length} of ${records.length} records of this page contain “${filters.text}”.`
              : `${records.length} ${records.length === 1 ? "record" : "records"}`}
            {records.length ? ` from ${when(records[records.length - 1].time)} to ${when(records[0].time)}` : ""}
            {page > 0 ? ` (page ${page + 1})` : ""}.
          </p>
          <div
            class="table-wrap log-scroll"
            ref={scroller}
            onScroll={onScroll}
            tabIndex={0}
            role="region"
            aria-label="Log records, newest first"
          >
            <LogTable records={shown} caption={`Log records at ${server.level} and more severe, newest first`} />
          </div>
          {!records.length ? <p>No records match these filters.</p> : null}
          <nav class="pager" aria-label="Log pages">
            <button type="button" disabled={page === 0 || loading} onClick={() => load([undefined])}>
              Newest
            </button>
            <button type="button" disabled={page === 0 || loading} onClick={() => load(pages.slice(0, -1))}>
              Newer
            </button>
            <span>Page {page + 1}</span>
            <button type="button" disabled={!answer.hasMore || loading} onClick={() => load([...pages, answer.endTime])}>
              Older
            </button>
          </nav>
        </>
      ) : null}
    </Page>
  );
}
