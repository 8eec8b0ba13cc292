// Site › Backup and restore: exportSite writes a backup file on the server (the site's backups
// folder, or a folder inside a server directory) and answers its path; importSite puts the site
// back to a backup file on the server, after a strong confirmation (it replaces the site's
// services, users, roles, permissions and settings at once).
//
// geosite's Administrator API neither serves a backup file for download nor takes one by
// upload (uploads accept data files only and hide their path on the server), so both stay on
// the server: what a script could do through the API is what this tab does.
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { ErrorMessage, Field, Notice, useAction, useConfirm, when } from "../ui.jsx";

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

function Restore({ location, setLocation }) {
  const [understood, setUnderstood] = useState(false);
  const [report, setReport] = useState(null);
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const submit = async (event) => {
    event.preventDefault();
    setReport(null);
    const file = location.trim();
    const sure = await confirm(
      `Restore the site from ${file}? Its services, folders, users, roles, permissions, data stores and settings are replaced by the backup's at once; whatever was changed since is lost, and other users must sign in again.`,
      "Restore the site",
    );
    if (!sure) return;
    const answer = await action.run(() => admin("/importSite", { location: file }), `The site was restored from ${file}.`);
    if (answer) {
      setReport(answer.report || {});
      setUnderstood(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="restore-title">
      <h3 id="restore-title">Restore the site</h3>
      {dialog}
      <p>
        <strong>Restoring replaces the site.</strong> The primary site administrator stays as it is.
      </p>
      <Field label="Backup file on the server" hint="The path 'Back up now' answered (a .agssite file).">
        <input name="restoreLocation" required value={location} onInput={(e) => setLocation(e.currentTarget.value)} />
      </Field>
      <label class="check">
        <input type="checkbox" required checked={understood} onChange={(e) => setUnderstood(e.currentTarget.checked)} /> I understand that
        restoring replaces the site's current configuration and data
      </label>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="danger" disabled={action.busy || !understood || !location.trim()}>
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

export function Backups() {
  const [list, setList] = useState(made.slice());
  const [location, setLocation] = useState(made[0] || "");
  const onMade = (path) => {
    made.unshift(path);
    setList(made.slice());
    setLocation(path);
  };
  return (
    <section class="site-tab" aria-labelledby="backup-title">
      <h2 id="backup-title">Backup and restore</h2>
      <div class="grid">
        <Export onMade={onMade} />
        <Restore location={location} setLocation={setLocation} />
      </div>
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
