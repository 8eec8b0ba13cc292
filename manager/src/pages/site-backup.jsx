// Site › Backup and restore: exportSite writes a backup file on the server (the site's backups
// folder, or a folder inside a server directory); /admin/backups lists the backups folder and
// /admin/backups/<name> downloads one (a form POST with the token in its body, streamed to disk).
// A restore (importSite) takes a backup uploaded from this computer (uploads/upload, then its
// itemID as the location) or a backup file on the server, after a strong confirmation: it
// replaces the site's services, users, roles, permissions and settings at once.
import { useState } from "preact/hooks";
import { admin, download, upload } from "../api.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad, when } from "../ui.jsx";

// The backups made while the Manager is open (kept across tab changes).
const made = [];

const COUNTS = [
  ["services", "Services"],
  ["folders", "Folders"],
  ["users", "Users"],
  ["roles", "Roles"],
  ["permissions", "Permissions"],
  ["dataItems", "Data stores"],
];

function Export({ onMade }) {
  const [location, setLocation] = useState("");
  const action = useAction();
  const submit = async (event) => {
    event.preventDefault();
    const answer = await action.run(() => admin("/exportSite", { location: location.trim() || undefined }), "Backup written.");
    if (answer) onMade(answer.location);
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="export-title">
      <h3 id="export-title">Back up the site</h3>
      <p>
        A backup holds the users (with their password hashes: keep it private), roles, folders, services and their
        data, permissions, data stores and the log, token, password and usage report settings. Not in it: the
        primary site administrator, machines, server directories, logs and usage counts.
      </p>
      <Field label="Folder on the server" hint="Optional: a folder inside one of the server directories. Empty: the site's backups folder.">
        <input name="location" value={location} onInput={(e) => setLocation(e.currentTarget.value)} />
      </Field>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="primary" disabled={action.busy}>
        {action.busy ? "Backing up…" : "Back up now"}
      </button>
    </form>
  );
}

function Restore({ location, setLocation, onRestored }) {
  const [understood, setUnderstood] = useState(false);
  const [file, setFile] = useState(null);
  const [progress, setProgress] = useState(null);
  const [report, setReport] = useState(null);
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const source = file ? file.name : location.trim();
  const submit = async (event) => {
    event.preventDefault();
    setReport(null);
    const sure = await confirm(
      `Restore the site from ${source}? Its services, folders, users, roles, permissions, data stores and settings are replaced by the backup's at once; whatever was changed since is lost, and other users must sign in again.`,
      "Restore the site",
    );
    if (!sure) return;
    const answer = await action.run(async () => {
      if (!file) return admin("/importSite", { location: location.trim() });
      setProgress(0);
      const { item } = await upload(file, setProgress, "A site backup to restore");
      try {
        return await admin("/importSite", { location: item.itemID });
      } finally {
        await admin(`/uploads/${item.itemID}/delete`).catch(() => undefined);
      }
    }, `The site was restored from ${source}.`);
    setProgress(null);
    if (answer) {
      setReport(answer.report || {});
      setUnderstood(false);
      onRestored();
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="restore-title">
      <h3 id="restore-title">Restore the site</h3>
      {dialog}
      <p>
        <strong>Restoring replaces the site.</strong> The primary site administrator stays as it is.
      </p>
      <Field label="Backup file from this computer" hint="A .agssite file downloaded from a geosite site.">
        <input name="restoreFile" type="file" accept=".agssite" onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
      </Field>
      <Field label="Backup file on the server" hint="Or the path 'Back up now' answered (used when no file is chosen above).">
        <input name="restoreLocation" value={location} disabled={Boolean(file)} onInput={(e) => setLocation(e.currentTarget.value)} />
      </Field>
      {progress !== null ? (
        <label class="field">
          <span class="label">Uploading {source}</span>
          <progress max="1" value={progress}>
            {Math.round(progress * 100)}%
          </progress>
        </label>
      ) : null}
      <label class="check">
        <input type="checkbox" required checked={understood} onChange={(e) => setUnderstood(e.currentTarget.checked)} /> I understand that
        restoring replaces the site's current configuration and data
      </label>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="danger" disabled={action.busy || !understood || !source}>
        Restore…
      </button>
      {report ? (
        <>
        <h4>What was restored</h4>
        <dl class="facts">
          <dt>Backup made</dt>
          <dd>{when(report.createdMs)}</dd>
          {COUNTS.map(([key, label]) => (
            <>
              <dt>{label}</dt>
              <dd>{report[key] ?? 0}</dd>
            </>
          ))}
        </dl>
        </>
      ) : null}
    </form>
  );
}

/** The backups in the site's backups folder, each to download. */
function ServerBackups({ version }) {
  const list = useLoad(() => admin("/backups"), [version]);
  const action = useAction();
  const get = (name) => action.run(() => download(`/admin/backups/${encodeURIComponent(name)}`), `Downloading ${name}.`);
  return (
    <section class="card" aria-labelledby="server-backups-title">
      <h3 id="server-backups-title">Backups in the site's backups folder</h3>
      <ErrorMessage error={list.error || action.error} />
      <Notice text={action.notice} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && !list.data.backups.length ? <p>No backup yet.</p> : null}
      {list.data && list.data.backups.length ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Backups in the site's backups folder</caption>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Made</th>
                <th scope="col" class="num">Size (KB)</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {list.data.backups.map((b) => (
                <tr>
                  <td>
                    <code>{b.name}</code>
                  </td>
                  <td>{when(b.modified)}</td>
                  <td class="num">{Math.ceil(b.size / 1024).toLocaleString()}</td>
                  <td>
                    <button type="button" disabled={action.busy} onClick={() => get(b.name)}>
                      Download<span class="visually-hidden"> {b.name}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

export function Backups() {
  const [list, setList] = useState(made.slice());
  const [location, setLocation] = useState(made[0] || "");
  const [version, setVersion] = useState(0);
  const onMade = (path) => {
    made.unshift(path);
    setList(made.slice());
    setLocation(path);
    setVersion((v) => v + 1);
  };
  return (
    <section class="site-tab" aria-labelledby="backup-title">
      <h2 id="backup-title">Backup and restore</h2>
      <div class="grid">
        <Export onMade={onMade} />
        <Restore location={location} setLocation={setLocation} onRestored={() => setVersion((v) => v + 1)} />
      </div>
      <ServerBackups version={version} />
      {list.length ? (
        <section class="card" aria-labelledby="made-title">
          <h3 id="made-title">Backups made in this session</h3>
          <ul>
            {list.map((path) => (
              <li>
                <code>{path}</code>{" "}
                <button type="button" onClick={() => setLocation(path)}>
                  Restore this one<span class="visually-hidden"> ({path})</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </section>
  );
}
