// Shared pieces of every page: loading data, showing the API's errors, confirmation, tables,
// paging, badges, notices and charts. Accessible by construction: labels wrap their inputs,
// dialogs are <dialog> (focus kept inside, Escape closes), errors are role="alert".
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";

/**
 * Run `load` (an async function) now and whenever `deps` change: {data, error, loading, reload}.
 * An error is the ApiError, shown with <ErrorMessage>.
 */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState({ data: null, error, loading: false });
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { ...state, reload };
}

/**
 * An action's state: `run(fn)` runs it, keeps its error (the API's own message) and a success
 * notice; `busy` is true meanwhile.
 */
export function useAction() {
  const [state, setState] = useState({ busy: false, error: null, notice: "" });
  const run = useCallback(async (fn, notice = "") => {
    setState({ busy: true, error: null, notice: "" });
    try {
      const result = await fn();
      setState({ busy: false, error: null, notice });
      return result;
    } catch (error) {
      setState({ busy: false, error, notice: "" });
      return undefined;
    }
  }, []);
  const clear = useCallback(() => setState({ busy: false, error: null, notice: "" }), []);
  return { ...state, run, clear };
}

/** The API's error messages, as the server wrote them. */
export function ErrorMessage({ error }) {
  if (!error) return null;
  const messages = error.messages && error.messages.length ? error.messages : [String(error.message || error)];
  return (
    <div class="error" role="alert">
      {messages.length === 1 ? (
        <p>{messages[0]}</p>
      ) : (
        <ul>
          {messages.map((m) => (
            <li>{m}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A success notice, announced politely to screen readers. */
export function Notice({ text }) {
  return (
    <p class="notice" role="status" aria-live="polite">
      {text || ""}
    </p>
  );
}

export function Loading({ what = "Loading" }) {
  return (
    <p class="loading" role="status">
      {what}…
    </p>
  );
}

/** A page: its title (focused when the page opens, for keyboard and screen reader users). */
export function Page({ title, actions, children }) {
  const heading = useRef(null);
  useEffect(() => {
    document.title = `${title} · geosite Manager`;
    heading.current?.focus();
  }, [title]);
  return (
    <section class="page">
      <header class="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** A service's or machine's state as a badge. */
export function Badge({ state }) {
  const text = String(state || "UNKNOWN").toUpperCase();
  const kind = { STARTED: "ok", STOPPED: "off", STARTING: "busy", STOPPING: "busy" }[text] || "warn";
  return <span class={`badge badge-${kind}`}>{text}</span>;
}

/**
 * A confirmation dialog: `const [dialog, confirm] = useConfirm();` render {dialog}, then
 * `if (await confirm("Delete 3 services?", "Delete")) ...`.
 */
export function useConfirm() {
  const ref = useRef(null);
  const [ask, setAsk] = useState(null);
  const confirm = useCallback(
    (message, action = "OK") =>
      new Promise((resolve) => {
        setAsk({ message, action, resolve });
      }),
    [],
  );
  useEffect(() => {
    if (ask && ref.current && !ref.current.open) ref.current.showModal();
  }, [ask]);
  const close = (answer) => {
    ref.current?.close();
    ask?.resolve(answer);
    setAsk(null);
  };
  const dialog = ask ? (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-text" onCancel={() => close(false)}>
      <p id="confirm-text">{ask.message}</p>
      <div class="actions">
        <button type="button" onClick={() => close(false)}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => close(true)}>
          {ask.action}
        </button>
      </div>
    </dialog>
  ) : null;
  return [dialog, confirm];
}

/** Previous / next paging with the position, for tables. */
export function Pager({ page, pages, onPage, label = "Pages" }) {
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={page <= 0} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page + 1} of {pages}
      </span>
      <button type="button" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

/** A labelled form control: <Field label="Name"><input .../></Field>. */
export function Field({ label, hint, children }) {
  return (
    <label class="field">
      <span class="label">{label}</span>
      {children}
      {hint ? <span class="hint">{hint}</span> : null}
    </label>
  );
}

/**
 * A time series chart (uPlot, drawn on a canvas, with a text summary for screen readers):
 * `times` in seconds since 1970, `series` as [{label, values}].
 */
export function Chart({ title, times, series, height = 220 }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return undefined;
    const colors = ["#1f5fa8", "#b3361c", "#2b7a3d", "#7a4bb3"];
    const plot = new uPlot(
      {
        width: Math.max(300, box.current.clientWidth || 600),
        height,
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 2 }))],
        axes: [{}, {}],
      },
      [times, ...series.map((s) => s.values)],
      box.current,
    );
    return () => plot.destroy();
  }, [times, series, height]);
  const total = series.map((s) => `${s.label}: ${s.values.reduce((a, b) => a + (b || 0), 0)}`).join(", ");
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} aria-hidden="true" />
      <p class="visually-hidden">
        {title}: {total} over {times.length} points.
      </p>
    </figure>
  );
}

/** Format a time in ms since 1970 in the person's locale. */
export function when(ms) {
  return ms ? new Date(Number(ms)).toLocaleString() : "";
}
