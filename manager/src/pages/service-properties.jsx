// The Properties tab of a service: what it is, its description, capabilities and
// maxRecordCount (saved by reading the service JSON and posting it back, changed, to `edit`,
// as ArcGIS scripts do), its permissions by role (administrators), and deleting it.
import { useEffect, useState } from "preact/hooks";
import { admin, may } from "../api.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";

/** The capabilities a service of each type may have (geosite/core/services.py). */
export const CAPABILITIES = {
  FeatureServer: ["Query", "Create", "Update", "Delete", "Editing", "Extract", "Sync"],
  MapServer: ["Map", "Query", "Data"],
};
const HINTS = {
  Create: "add features",
  Update: "change features",
  Delete: "delete features",
  Editing: "all three edits",
  Extract: "download data",
  Sync: "offline sync",
  Map: "draw maps",
  Data: "download data",
};
const EVERYONE = "esriEveryone";

function formOf(info) {
  const granted = String(info.capabilities || "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  return {
    description: info.description || "",
    capabilities: granted,
    maxRecordCount: info.properties?.maxRecordCount ?? "",
  };
}

function Summary({ service, info }) {
  return (
    <dl class="service-summary">
      <dt>Name</dt>
      <dd>{service.name}</dd>
      <dt>Type</dt>
      <dd>{service.type}</dd>
      <dt>Folder</dt>
      <dd>{service.folder || "(root)"}</dd>
      <dt>Access</dt>
      <dd>{info.private ? "Private: roles allowed below, and administrators" : "Public: everyone may use it"}</dd>
    </dl>
  );
}

function EditForm({ service, info, reload }) {
  const [form, setForm] = useState(() => formOf(info));
  const action = useAction();
  const choices = CAPABILITIES[service.type] || [];
  const hasRecords = info.properties && "maxRecordCount" in info.properties;
  const saved = formOf(info);
  useEffect(() => setForm(formOf(info)), [saved.description, saved.capabilities.join(","), saved.maxRecordCount]);

  const toggle = (name, on) => {
    const next = new Set(form.capabilities);
    if (on) next.add(name);
    else next.delete(name);
    setForm({ ...form, capabilities: choices.filter((c) => next.has(c)).concat([...next].filter((c) => !choices.includes(c))) });
  };
  const save = (event) => {
    event.preventDefault();
    action.run(async () => {
      // The whole service JSON as the server has it now, changed where the form says.
      const current = await admin(service.adminPath);
      const changed = { ...current, description: form.description };
      if (choices.length) changed.capabilities = form.capabilities.join(",");
      if (hasRecords) changed.properties = { ...(current.properties || {}), maxRecordCount: String(form.maxRecordCount).trim() };
      await admin(`${service.adminPath}/edit`, { service: changed });
      await reload();
    }, "The properties are saved.");
  };
  return (
    <form class="card" onSubmit={save} aria-labelledby="service-edit-title">
      <h2 id="service-edit-title">Properties</h2>
      <Field label="Description">
        <textarea name="description" value={form.description} onInput={(e) => setForm({ ...form, description: e.currentTarget.value })} />
      </Field>
      {choices.length ? (
        <fieldset>
          <legend>Capabilities</legend>
          <div class="service-checks">
            {choices.map((name) => (
              <label class="check">
                <input type="checkbox" name="capabilities" value={name} checked={form.capabilities.includes(name)} onChange={(e) => toggle(name, e.currentTarget.checked)} />
                {name}
                {HINTS[name] ? <span class="hint"> ({HINTS[name]})</span> : null}
              </label>
            ))}
          </div>
        </fieldset>
      ) : null}
      {hasRecords ? (
        <Field label="Maximum records per query (maxRecordCount)" hint="From 1 to 100000: how many features one query answers at most.">
          <input name="maxRecordCount" inputMode="numeric" value={form.maxRecordCount} onInput={(e) => setForm({ ...form, maxRecordCount: e.currentTarget.value })} />
        </Field>
      ) : null}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Save
        </button>
        <button type="button" disabled={action.busy} onClick={() => { action.clear(); setForm(formOf(info)); }}>
          Reset
        </button>
      </div>
    </form>
  );
}

/** Allowed, denied or not set, for everyone and for each role; administrators only. */
function Permissions({ service, reload: reloadService }) {
  const loaded = useLoad(async () => {
    const [listed, roles] = await Promise.all([
      admin(`${service.adminPath}/permissions`),
      admin("/security/roles/getRoles", { startIndex: 0, pageSize: 1000 }),
    ]);
    const set = new Map((listed.permissions || []).map((p) => [p.principal, p.permission?.isAllowed !== false]));
    const names = [EVERYONE, ...(roles.roles || []).map((r) => r.rolename)];
    for (const principal of set.keys()) if (!names.includes(principal)) names.push(principal);
    return names.map((principal) => ({ principal, allowed: set.has(principal) ? set.get(principal) : null }));
  }, [service.adminPath]);
  const action = useAction();
  const change = (principal, allowed) =>
    action.run(async () => {
      if (allowed === null) await admin(`${service.adminPath}/permissions/remove`, { principal });
      else await admin(`${service.adminPath}/permissions/add`, { principal, isAllowed: allowed });
      await loaded.reload();
      await reloadService();
    }, `The permission of ${principal === EVERYONE ? "everyone" : principal} is saved.`);
  return (
    <section class="card" aria-labelledby="service-permissions-title">
      <h2 id="service-permissions-title">Permissions by role</h2>
      <p class="hint">Allowing everyone makes the service public. Otherwise only allowed roles (and administrators) may use it.</p>
      <ErrorMessage error={loaded.error || action.error} />
      <Notice text={action.notice} />
      {loaded.data ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Permissions of {service.name} by role</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Access</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.map(({ principal, allowed }) => {
                const label = principal === EVERYONE ? "Everyone" : principal;
                return (
                  <tr>
                    <td>{label}</td>
                    <td>{allowed === null ? "Not set" : allowed ? "Allowed" : "Denied"}</td>
                    <td class="actions">
                      <button type="button" aria-label={`Allow ${label}`} disabled={action.busy || allowed === true} onClick={() => change(principal, true)}>
                        Allow
                      </button>
                      <button type="button" aria-label={`Deny ${label}`} disabled={action.busy || allowed === false} onClick={() => change(principal, false)}>
                        Deny
                      </button>
                      <button type="button" aria-label={`Clear ${label}`} disabled={action.busy || allowed === null} onClick={() => change(principal, null)}>
                        Clear
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : loaded.loading ? (
        <Loading what="Loading the permissions" />
      ) : null}
    </section>
  );
}

function Delete({ service, onDeleted }) {
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const remove = async () => {
    if (!(await confirm(`Delete ${service.name} (${service.type}) and the data the site holds for it? This cannot be undone.`, "Delete"))) return;
    const done = await action.run(() => admin(`${service.adminPath}/delete`).then(() => true));
    if (done) onDeleted();
  };
  return (
    <section class="card" aria-labelledby="service-delete-title">
      <h2 id="service-delete-title">Delete</h2>
      <p>Deleting the service removes it and the data the site holds for it.</p>
      <ErrorMessage error={action.error} />
      <button type="button" class="danger" disabled={action.busy} onClick={remove}>
        Delete service
      </button>
      {dialog}
    </section>
  );
}

export function Properties({ service, info, reload, onDeleted }) {
  return (
    <>
      <Summary service={service} info={info} />
      <EditForm service={service} info={info} reload={reload} />
      {may("ADMINISTER") ? <Permissions service={service} reload={reload} /> : null}
      <Delete service={service} onDeleted={onDeleted} />
    </>
  );
}
