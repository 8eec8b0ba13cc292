// Site › Data stores: the registered folders (/fileShares) and PostgreSQL databases
// (/enterpriseDatabases) of /admin/data/items; register one (data/registerItem with ArcGIS's
// data item JSON), validate it first (data/validateDataItem), validate what is registered
// (validateAllDataItems, or validateDataItem with a database's item as listed), unregister.
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";

const ROOTS = ["fileShares", "enterpriseDatabases"];
const SSL_MODES = ["prefer", "require", "verify-ca", "verify-full", "allow", "disable"];

async function loadItems() {
  const lists = await Promise.all(ROOTS.map((root) => admin(`/data/items/${root}`)));
  return lists.flatMap((l) => l.items || []);
}

/** What an item points at, its password never shown. */
function where(item) {
  const info = item.info || {};
  if (item.type === "egdb") {
    return String(info.connectionString || "")
      .split(";")
      .filter((p) => !/^\s*(ENCRYPTED_)?PASSWORD=/i.test(p))
      .join(";");
  }
  return info.path || "";
}

/** A postgresql:// URL (the one connection string form a password holding ';' fits in). */
function databaseUrl(f) {
  const enc = encodeURIComponent;
  const port = f.port ? `:${f.port}` : "";
  const query = f.sslmode ? `?sslmode=${enc(f.sslmode)}` : "";
  return `postgresql://${enc(f.user)}:${enc(f.password)}@${f.host}${port}/${enc(f.database)}${query}`;
}

const EMPTY = { kind: "folder", name: "", path: "", connection: "shared", host: "", port: "5432", database: "", user: "", password: "", sslmode: "prefer" };

function RegisterItem({ reload }) {
  const [form, setForm] = useState(EMPTY);
  const action = useAction();
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const folder = form.kind === "folder";
  const item = () =>
    folder
      ? { type: "folder", path: `/fileShares/${form.name.trim()}`, info: { path: form.path.trim(), dataStoreConnectionType: form.connection } }
      : {
          type: "egdb",
          path: `/enterpriseDatabases/${form.name.trim()}`,
          info: { dataStoreConnectionType: "shared", isManaged: false, connectionString: databaseUrl(form) },
        };
  const validate = () => action.run(() => admin("/data/validateDataItem", { item: item() }), `${item().path} is valid.`);
  const register = async (event) => {
    event.preventDefault();
    const done = await action.run(() => admin("/data/registerItem", { item: item() }), `${item().path} registered.`);
    if (done) {
      setForm({ ...EMPTY, kind: form.kind });
      reload();
    }
  };
  return (
    <form class="card" onSubmit={register} aria-labelledby="register-item-title">
      <h3 id="register-item-title">Register a data store</h3>
      <fieldset>
        <legend>Kind</legend>
        <label>
          <input type="radio" name="kind" value="folder" checked={folder} onChange={set("kind")} /> Folder on the server
        </label>{" "}
        <label>
          <input type="radio" name="kind" value="database" checked={!folder} onChange={set("kind")} /> PostgreSQL database (PostGIS)
        </label>
      </fieldset>
      <Field label="Name" hint={folder ? "Registered at /fileShares/<name>" : "Registered at /enterpriseDatabases/<name>"}>
        <input name="name" required value={form.name} onInput={set("name")} />
      </Field>
      {folder ? (
        <>
          <Field label="Path on the server" hint="An absolute path the server can read, e.g. /srv/gis/data">
            <input name="path" required value={form.path} onInput={set("path")} />
          </Field>
          <Field label="Connection type">
            <select name="connection" value={form.connection} onChange={set("connection")}>
              <option value="shared">Shared (every machine reads the same folder)</option>
              <option value="replicated">Replicated (each machine has a copy)</option>
            </select>
          </Field>
        </>
      ) : (
        <>
          <Field label="Host">
            <input name="host" required value={form.host} onInput={set("host")} />
          </Field>
          <Field label="Port">
            <input name="port" type="number" min="1" max="65535" value={form.port} onInput={set("port")} />
          </Field>
          <Field label="Database">
            <input name="database" required value={form.database} onInput={set("database")} />
          </Field>
          <Field label="Database user">
            <input name="user" required autoComplete="off" value={form.user} onInput={set("user")} />
          </Field>
          <Field label="Database password" hint="Encrypted with the site's key; never shown again">
            <input name="password" type="password" required autoComplete="new-password" value={form.password} onInput={set("password")} />
          </Field>
          <Field label="SSL mode">
            <select name="sslmode" value={form.sslmode} onChange={set("sslmode")}>
              {SSL_MODES.map((m) => (
                <option value={m}>{m}</option>
              ))}
            </select>
          </Field>
        </>
      )}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <div class="actions">
        <button type="button" disabled={action.busy || !form.name} onClick={validate}>
          Validate
        </button>
        <button type="submit" class="primary" disabled={action.busy}>
          Register
        </button>
      </div>
    </form>
  );
}

export function DataStores() {
  const { data, error, loading, reload } = useLoad(loadItems, []);
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const unregister = async (item) => {
    if (!(await confirm(`Unregister ${item.path}? Its files or tables stay; the site forgets it.`, "Unregister"))) return;
    await action.run(() => admin("/data/unregisterItem", { itempath: item.path }), `${item.path} unregistered.`);
    reload();
  };
  const validateOne = (item) =>
    action.run(() => admin("/data/validateDataItem", { item: { path: item.path, type: item.type, info: item.info } }), `${item.path} is valid.`);
  const validateAll = () => action.run(() => admin("/data/validateAllDataItems"), "Every registered data store is valid.");
  return (
    <section class="site-tab" aria-labelledby="data-title">
      <h2 id="data-title">Registered data stores</h2>
      {dialog}
      <ErrorMessage error={error || action.error} />
      <Notice text={action.notice} />
      {loading && !data ? <Loading what="Loading the data stores" /> : null}
      {data ? (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Registered data stores</caption>
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Type</th>
                  <th scope="col">Location</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {data.length === 0 ? (
                  <tr>
                    <td colSpan={5}>No folder or database is registered.</td>
                  </tr>
                ) : null}
                {data.map((item) => (
                  <tr>
                    <td>{item.path}</td>
                    <td>{item.type === "egdb" ? "PostgreSQL database" : "Folder"}</td>
                    <td>
                      <code>{where(item)}</code>
                    </td>
                    <td>{item.info?.dataStoreConnectionType}</td>
                    <td>
                      <div class="actions">
                        {item.type === "egdb" ? (
                          <button type="button" disabled={action.busy} onClick={() => validateOne(item)}>
                            Validate<span class="visually-hidden"> {item.path}</span>
                          </button>
                        ) : null}
                        <button type="button" class="danger" disabled={action.busy} onClick={() => unregister(item)}>
                          Unregister<span class="visually-hidden"> {item.path}</span>
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="actions">
            <button type="button" disabled={action.busy || data.length === 0} onClick={validateAll}>
              Validate all
            </button>
          </div>
        </>
      ) : null}
      <RegisterItem reload={reload} />
    </section>
  );
}
