// Site › Directories: the server directories (/admin/system/directories), each editable
// (physicalPath, cleanupMode, maxFileAge, description) and cleanable.
import { useEffect, useRef, useState } from "preact/hooks";
import { admin } from "../api.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";

const CLEANUP = ["NONE", "TIME_ELAPSED_SINCE_LAST_MODIFIED"];
const dirPath = (name) => `/system/directories/${encodeURIComponent(name)}`;

function EditDirectory({ directory, onDone, onCancel }) {
  const [form, setForm] = useState({
    physicalPath: directory.physicalPath,
    cleanupMode: directory.cleanupMode || "NONE",
    maxFileAge: String(directory.maxFileAge ?? 0),
    description: directory.description || "",
  });
  const action = useAction();
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const system = directory.directoryType === "SYSTEM";
  const box = useRef(null);
  useEffect(() => {
    box.current?.scrollIntoView({ block: "nearest" });
    box.current?.querySelector("select")?.focus();
  }, []);
  const submit = async (event) => {
    event.preventDefault();
    const params = { ...form };
    if (system || params.physicalPath === directory.physicalPath) delete params.physicalPath;
    const done = await action.run(() => admin(dirPath(directory.name) + "/edit", params));
    if (done) onDone(`Directory ${directory.name} saved.`);
  };
  return (
    <form class="card" ref={box} onSubmit={submit} aria-labelledby="edit-directory-title">
      <h3 id="edit-directory-title">Edit {directory.name}</h3>
      <Field label="Physical path" hint={system ? "The SYSTEM directory cannot be moved." : "An absolute folder on the server; made if missing."}>
        <input name="physicalPath" required readOnly={system} value={form.physicalPath} onInput={set("physicalPath")} />
      </Field>
      <Field label="Cleanup mode">
        <select name="cleanupMode" value={form.cleanupMode} onChange={set("cleanupMode")}>
          {CLEANUP.map((m) => (
            <option value={m}>{m === "NONE" ? "None (keep every file)" : "Delete files not modified for the maximum age"}</option>
          ))}
        </select>
      </Field>
      <Field label="Maximum file age (minutes)">
        <input name="maxFileAge" type="number" min="0" step="1" required value={form.maxFileAge} onInput={set("maxFileAge")} />
      </Field>
      <Field label="Description">
        <input name="description" value={form.description} onInput={set("description")} />
      </Field>
      <ErrorMessage error={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Save directory
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function Directories() {
  const { data, error, loading, reload } = useLoad(() => admin("/system/directories"), []);
  const [editing, setEditing] = useState(null);
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const clean = async (d) => {
    const what =
      d.cleanupMode === "NONE"
        ? `Clean ${d.name}? Its cleanup mode is NONE: nothing is deleted.`
        : `Clean ${d.name}? Files not modified for ${d.maxFileAge} minutes are deleted.`;
    if (!(await confirm(what, "Clean"))) return;
    await action.run(() => admin(dirPath(d.name) + "/clean"), `Directory ${d.name} cleaned.`);
  };
  const directories = data?.directories || [];
  const current = editing && directories.find((d) => d.name === editing);
  return (
    <section class="site-tab" aria-labelledby="directories-title">
      <h2 id="directories-title">Server directories</h2>
      {dialog}
      <ErrorMessage error={error || action.error} />
      <Notice text={action.notice} />
      {loading && !data ? <Loading what="Loading the directories" /> : null}
      {data ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Server directories</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Physical path</th>
                <th scope="col">Cleanup</th>
                <th scope="col" class="num">
                  Max. file age (min)
                </th>
                <th scope="col">Description</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {directories.map((d) => (
                <tr>
                  <td>{d.name}</td>
                  <td>{d.directoryType}</td>
                  <td>
                    <code>{d.physicalPath}</code>
                  </td>
                  <td>{d.cleanupMode}</td>
                  <td class="num">{d.maxFileAge}</td>
                  <td>{d.description}</td>
                  <td>
                    <div class="actions">
                      <button type="button" onClick={() => { action.clear(); setEditing(d.name); }}>
                        Edit<span class="visually-hidden"> {d.name}</span>
                      </button>
                      <button type="button" disabled={action.busy} onClick={() => clean(d)}>
                        Clean<span class="visually-hidden"> {d.name}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {current ? (
        <EditDirectory
          key={current.name}
          directory={current}
          onCancel={() => setEditing(null)}
          onDone={(text) => {
            setEditing(null);
            action.run(async () => {}, text);
            reload();
          }}
        />
      ) : null}
    </section>
  );
}
