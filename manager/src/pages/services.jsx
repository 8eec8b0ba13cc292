// Services: every service of every folder with its state, searchable and filterable (the
// filters live in the URL: #/services?folder=&q=&type=&state=), with batch start, stop and
// delete. An administrator's list comes from each folder's `report` (description and status
// of all its services in one call, as ArcGIS scripts read them); a publisher, who may not
// read reports, gets the same from the folder listings with `detail=true`.
import { useEffect, useMemo, useState } from "preact/hooks";
import { admin, may } from "../api.js";
import { href } from "../router.js";
import { Badge, ErrorMessage, Field, Loading, Notice, Page, useAction, useConfirm, useLoad } from "../ui.jsx";

/** The folder ArcGIS keeps for its own services: listed by the root, never holding ours. */
export const SYSTEM = "system";
/** The route part standing for the root folder (#/services/_root/Name.Type). */
export const ROOT = "_root";

/** A service's path under /admin/services ("" folder: the root). */
export function servicePath(folder, name, type) {
  const where = folder ? `/${encodeURIComponent(folder)}` : "";
  return `/services${where}/${encodeURIComponent(name)}.${encodeURIComponent(type)}`;
}

/** The Manager's link to a service's page. */
export function serviceHref(folder, name, type) {
  return href(["services", folder || ROOT, `${name}.${type}`]);
}

const key = (s) => `${s.folder}/${s.name}.${s.type}`;
const label = (s) => `${s.folder ? s.folder + "/" : ""}${s.name}.${s.type}`;

function row(item, folder) {
  const state = item.status?.realTimeState || item.status?.configuredState || item.configuredState;
  return {
    folder,
    name: item.serviceName,
    type: item.type,
    state: String(state || "UNKNOWN").toUpperCase(),
    description: item.description || "",
  };
}

/** Every service of the site, as rows {folder, name, type, state, description}. */
async function loadServices() {
  const root = await admin("/services");
  const folders = (root.folders || []).filter((f) => f.toLowerCase() !== SYSTEM);
  const all = ["", ...folders];
  let lists;
  if (may("ADMINISTER")) {
    const parameters = ["description", "status"];
    lists = await Promise.all(
      all.map((f) =>
        admin(f ? `/services/${encodeURIComponent(f)}/report` : "/services/report", { parameters }).then((a) => a.reports || []),
      ),
    );
  } else {
    lists = await Promise.all(
      all.map((f) => admin(f ? `/services/${encodeURIComponent(f)}` : "/services", { detail: true }).then((a) => a.services || [])),
    );
  }
  const services = lists.flatMap((list, i) => list.map((item) => row(item, all[i])));
  services.sort((a, b) => a.folder.localeCompare(b.folder) || a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  return { folders, services };
}

const refs = (services) => ({
  services: services.map((s) => ({ folderName: s.folder || "/", serviceName: s.name, type: s.type })),
});

function Filters({ filters, folders, types, onChange }) {
  const set = (name) => (event) => onChange({ ...filters, [name]: event.currentTarget.value });
  return (
    <form class="filters" role="search" aria-label="Filter services" onSubmit={(e) => e.preventDefault()}>
      <Field label="Search">
        <input type="search" name="q" placeholder="Name or description" value={filters.q || ""} onInput={set("q")} />
      </Field>
      <Field label="Folder">
        <select name="folder" value={filters.folder || ""} onChange={set("folder")}>
          <option value="">All folders</option>
          <option value={ROOT}>Root</option>
          {folders.map((f) => (
            <option value={f}>{f}</option>
          ))}
        </select>
      </Field>
      <Field label="Type">
        <select name="type" value={filters.type || ""} onChange={set("type")}>
          <option value="">All types</option>
          {types.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </Field>
      <Field label="State">
        <select name="state" value={filters.state || ""} onChange={set("state")}>
          <option value="">All states</option>
          <option value="STARTED">Started</option>
          <option value="STOPPED">Stopped</option>
        </select>
      </Field>
    </form>
  );
}

function matches(service, filters) {
  const folder = filters.folder === ROOT ? "" : filters.folder;
  if (filters.folder && service.folder.toLowerCase() !== folder.toLowerCase()) return false;
  if (filters.type && service.type !== filters.type) return false;
  if (filters.state && service.state !== filters.state) return false;
  const text = (filters.q || "").trim().toLowerCase();
  if (text && !`${service.name} ${service.description}`.toLowerCase().includes(text)) return false;
  return true;
}

function clean(filters) {
  return Object.fromEntries(Object.entries(filters).filter(([name, value]) => ["q", "folder", "type", "state"].includes(name) && value));
}

export function Services({ route }) {
  const { data, error, loading, reload } = useLoad(loadServices, []);
  const [filters, setFilters] = useState(() => clean(route.query));
  const [selected, setSelected] = useState(() => new Set());
  const action = useAction();
  const [dialog, confirm] = useConfirm();

  // Back and forward (and links) bring their own filters.
  useEffect(() => setFilters(clean(route.query)), [route]);

  const changeFilters = (next) => {
    const kept = clean(next);
    setFilters(kept);
    // Kept in the URL without a history entry per keystroke (no hashchange: the page stays).
    history.replaceState(history.state, "", href(["services"], kept));
  };

  const services = data?.services || [];
  const shown = useMemo(() => services.filter((s) => matches(s, filters)), [services, filters]);
  const types = useMemo(() => [...new Set(services.map((s) => s.type))].sort(), [services]);
  const chosen = services.filter((s) => selected.has(key(s)));

  const toggle = (service) => {
    const next = new Set(selected);
    if (next.has(key(service))) next.delete(key(service));
    else next.add(key(service));
    setSelected(next);
  };
  const allShown = shown.length > 0 && shown.every((s) => selected.has(key(s)));
  const toggleAll = () => {
    const next = new Set(selected);
    for (const s of shown) {
      if (allShown) next.delete(key(s));
      else next.add(key(s));
    }
    setSelected(next);
  };

  const batch = async (verb, fn, past) => {
    const list = chosen;
    if (!list.length) return;
    const names = list.map(label).join(", ");
    const count = list.length === 1 ? "1 service" : `${list.length} services`;
    if (!(await confirm(`${verb} ${count}: ${names}?`, verb))) return;
    await action.run(async () => {
      try {
        await fn(list);
      } finally {
        if (verb === "Delete") {
          const next = new Set(selected);
          for (const s of list) next.delete(key(s));
          setSelected(next);
        }
        await reload();
      }
    }, `${count} ${past}: ${names}.`);
  };
  const start = () => batch("Start", (list) => admin("/services/startServices", { services: refs(list) }), "started");
  const stop = () => batch("Stop", (list) => admin("/services/stopServices", { services: refs(list) }), "stopped");
  // deleteServices (ArcGIS 11's batch delete): all of them, or none when one may not go.
  const remove = () => batch("Delete", (list) => admin("/services/deleteServices", { services: refs(list) }), "deleted");

  const groups = [];
  for (const s of shown) {
    const last = groups[groups.length - 1];
    if (last && last.folder === s.folder) last.services.push(s);
    else groups.push({ folder: s.folder, services: [s] });
  }

  return (
    <Page
      title="Services"
      actions={
        <a class="button primary" href={href(["publish"])}>
          Publish a service
        </a>
      }
    >
      {dialog}
      {error ? <ErrorMessage error={error} /> : null}
      {data ? <Filters filters={filters} folders={data.folders} types={types} onChange={changeFilters} /> : null}
      <div class="actions" role="group" aria-label="Actions on the selected services">
        <span>{chosen.length} selected</span>
        <button type="button" disabled={!chosen.length || action.busy} onClick={start}>
          Start
        </button>
        <button type="button" disabled={!chosen.length || action.busy} onClick={stop}>
          Stop
        </button>
        <button type="button" class="danger" disabled={!chosen.length || action.busy} onClick={remove}>
          Delete
        </button>
        <button type="button" disabled={loading} onClick={reload}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      {loading && !data ? <Loading what="Loading the services" /> : null}
      {data ? (
        <div class="table-wrap">
          <table class="services">
            <caption class="visually-hidden">
              Services ({shown.length} of {services.length} shown), by folder
            </caption>
            <thead>
              <tr>
                <th scope="col">
                  <label>
                    <input type="checkbox" checked={allShown} disabled={!shown.length} onChange={toggleAll} />
                    <span class="visually-hidden">Select all shown services</span>
                  </label>
                </th>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            {groups.map((group) => (
              <tbody key={group.folder}>
                <tr class="folder-row">
                  <th scope="rowgroup" colSpan={5}>
                    {group.folder ? `Folder ${group.folder}` : "Root folder"}
                  </th>
                </tr>
                {group.services.map((s) => (
                  <tr key={key(s)}>
                    <td>
                      <label>
                        <input type="checkbox" checked={selected.has(key(s))} onChange={() => toggle(s)} />
                        <span class="visually-hidden">Select {label(s)}</span>
                      </label>
                    </td>
                    <td>
                      <a href={serviceHref(s.folder, s.name, s.type)}>{s.name}</a>
                    </td>
                    <td>{s.type}</td>
                    <td>
                      <Badge state={s.state} />
                    </td>
                    <td>{s.description}</td>
                  </tr>
                ))}
              </tbody>
            ))}
            {!shown.length ? (
              <tbody>
                <tr>
                  <td colSpan={5}>{services.length ? "No service matches the filters." : "No services yet: publish one."}</td>
                </tr>
              </tbody>
            ) : null}
          </table>
        </div>
      ) : null}
    </Page>
  );
}
