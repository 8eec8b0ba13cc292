// Site › Machines: each machine's details and state, start and stop, unregister, and adding a
// machine: registered from here (machines/register, the new machine waiting with a join code)
// or joining from the new machine (geosite serve --join, the command shown with this site's URL).
import { useState } from "preact/hooks";
import { admin, base, session } from "../api.js";
import { Badge, ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad, when } from "../ui.jsx";

const machinePath = (name) => `/machines/${encodeURIComponent(name)}`;

async function loadMachines() {
  const [{ machines }, local] = await Promise.all([admin("/machines"), admin("/local")]);
  const detailed = await Promise.all(
    (machines || []).map(async (m) => {
      const path = machinePath(m.machineName);
      const [info, hardware] = await Promise.all([admin(path), admin(path + "/hardware")]);
      return { ...m, ...info, hardware };
    }),
  );
  return { machines: detailed, local: local.machineName };
}

function memory(mb) {
  return mb ? `${(mb / 1024).toFixed(1)} GiB` : "";
}

function MachineCard({ machine, local, action, confirm, reload }) {
  const name = machine.machineName;
  const isLocal = name.toUpperCase() === String(local || "").toUpperCase();
  const ports = machine.ports || {};
  const hw = machine.hardware || {};
  const stop = async () => {
    const warning = isLocal
      ? `Stop ${name}? Its services refuse requests until it is started again (this Manager keeps working).`
      : `Stop ${name}? Its services refuse requests until it is started again.`;
    if (!(await confirm(warning, "Stop"))) return;
    await action.run(() => admin(machinePath(name) + "/stop"), `${name} stopped.`);
    reload();
  };
  const start = async () => {
    await action.run(() => admin(machinePath(name) + "/start"), `${name} started.`);
    reload();
  };
  const unregister = async () => {
    if (!(await confirm(`Unregister ${name}? It leaves the site and serves none of its services.`, "Unregister"))) return;
    await action.run(() => admin(machinePath(name) + "/unregister"), `${name} unregistered.`);
    reload();
  };
  const stopped = machine.configuredState === "STOPPED";
  return (
    <article class="card machine" aria-labelledby={`machine-${name}`}>
      <h3 id={`machine-${name}`}>
        {name} {isLocal ? <span class="hint">(the machine answering)</span> : null}
      </h3>
      <p>
        Configured <Badge state={machine.configuredState} /> · now <Badge state={machine.realTimeState} />
      </p>
      <dl class="facts">
        <dt>Administrator URL</dt>
        <dd>{machine.adminURL}</dd>
        <dt>Platform</dt>
        <dd>{machine.platform}</dd>
        <dt>Ports</dt>
        <dd>{Object.entries(ports).map(([k, v]) => `${k} ${v}`).join(", ")}</dd>
        <dt>Started</dt>
        <dd>{when(machine.ServerStartTime)}</dd>
        <dt>Hardware</dt>
        <dd>
          {[hw.cores ? `${hw.cores} cores` : "", hw.cpu, memory(hw.systemMemoryMB), hw.OS].filter(Boolean).join(", ")}
        </dd>
        <dt>Certificate</dt>
        <dd>{machine.webServerCertificateAlias}</dd>
      </dl>
      <div class="actions">
        {stopped ? (
          <button type="button" class="primary" disabled={action.busy} onClick={start}>
            Start<span class="visually-hidden"> {name}</span>
          </button>
        ) : (
          <button type="button" disabled={action.busy} onClick={stop}>
            Stop<span class="visually-hidden"> {name}</span>
          </button>
        )}
        <button type="button" class="danger" disabled={action.busy || isLocal} onClick={unregister}>
          Unregister<span class="visually-hidden"> {name}</span>
        </button>
      </div>
    </article>
  );
}

function RegisterMachine({ reload }) {
  const [form, setForm] = useState({ machineName: "", adminURL: "", joinCode: "" });
  const action = useAction();
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const submit = async (event) => {
    event.preventDefault();
    const done = await action.run(
      () => admin("/machines/register", { ...form, joinCode: form.joinCode || undefined }),
      `${form.machineName.toUpperCase()} joined the site.`,
    );
    if (done) {
      setForm({ machineName: "", adminURL: "", joinCode: "" });
      reload();
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="register-title">
      <h3 id="register-title">Register a waiting machine</h3>
      <p>
        Start the new machine with no site and a join code, e.g. <code>geosite serve --join-code CODE</code> (or{" "}
        <code>GEOSITE_JOIN_CODE</code>), then name it here. The site checks that it is a geosite machine in no site
        that knows the code, and sends it the site's store over HTTPS.
      </p>
      <Field label="Machine name" hint="Its host name, e.g. GEO3.EXAMPLE.COM">
        <input name="machineName" required value={form.machineName} onInput={set("machineName")} />
      </Field>
      <Field label="Administrator URL" hint="e.g. https://geo3.example.com:6443/arcgis/admin">
        <input name="adminURL" type="url" required value={form.adminURL} onInput={set("adminURL")} />
      </Field>
      <Field label="Join code" hint="The code the machine was started with (--join-code)">
        <input name="joinCode" autoComplete="off" value={form.joinCode} onInput={set("joinCode")} />
      </Field>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="primary" disabled={action.busy}>
        Register machine
      </button>
    </form>
  );
}

function JoinCommand({ machines }) {
  const here = `${location.origin}${base}/admin`;
  const choices = [here, ...machines.map((m) => m.adminURL).filter((u) => u && u !== here)];
  const [url, setUrl] = useState(here);
  const user = session.user?.name || "ADMIN";
  const command = `geosite serve --join ${url} --user ${user}`;
  return (
    <section class="card" aria-labelledby="join-title">
      <h3 id="join-title">Join from the new machine</h3>
      <p>
        On the new machine, run this command. It asks for the password of <strong>{user}</strong> (or reads{" "}
        <code>GEOSITE_JOIN_PASSWORD</code>), proves it to this site over HTTPS and joins.
      </p>
      <Field label="Join through" hint="This site as you reach it, or one machine's own administrator URL">
        <select value={url} onChange={(e) => setUrl(e.currentTarget.value)}>
          {choices.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
      </Field>
      <pre class="join-command">
        <code>{command}</code>
      </pre>
    </section>
  );
}

export function Machines() {
  const { data, error, loading, reload } = useLoad(loadMachines, []);
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  return (
    <section class="site-tab" aria-labelledby="machines-title">
      <h2 id="machines-title">Machines</h2>
      {dialog}
      <ErrorMessage error={error || action.error} />
      <Notice text={action.notice} />
      {loading && !data ? <Loading what="Loading the machines" /> : null}
      {data ? (
        <>
          <div class="grid">
            {data.machines.map((m) => (
              <MachineCard machine={m} local={data.local} action={action} confirm={confirm} reload={reload} />
            ))}
          </div>
          <h2>Add a machine</h2>
          <div class="grid">
            <JoinCommand machines={data.machines} />
            <RegisterMachine reload={reload} />
          </div>
        </>
      ) : null}
    </section>
  );
}
