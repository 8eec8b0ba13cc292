// Security › Settings: /admin/security/config (config/update with ArcGIS's `securityConfig`):
// the protocols (HTTP and HTTPS, HTTPS only, HTTP only), the protocol of the Administrator API,
// and the addresses allowed to use it. A change that could lock the person out asks first:
// requiring HTTPS while this Manager is open over http:// (its next request is refused), and
// an admin address list (the server refuses a list without the address the change comes from,
// but it cannot know the other places the person works from, such as a VPN or another office).
import { useState } from "preact/hooks";
import { admin, managerUrl } from "../api.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";

const PROTOCOLS = [
  ["both", "HTTP and HTTPS", { sslEnabled: true, httpEnabled: true }],
  ["https", "HTTPS only", { sslEnabled: true, httpEnabled: false }],
  ["http", "HTTP only (HTTPS not required)", { sslEnabled: false, httpEnabled: true }],
];

function protocolOf(config) {
  if (config.sslEnabled && !config.httpEnabled) return "https";
  return config.sslEnabled ? "both" : "http";
}

/** The addresses of a list as the person typed them (commas, spaces or lines). */
function addresses(text) {
  return String(text || "")
    .split(/[\s,]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

export function Settings() {
  const info = useLoad(() => admin("/security/config"), []);
  const action = useAction();
  const [moved, setMoved] = useState(false);
  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Protocols and administrator access</h2>
      <p>
        You are using the Manager over <strong>{location.protocol === "https:" ? "HTTPS" : "plain HTTP"}</strong>.
      </p>
      {moved ? (
        <p class="warning">
          This site now accepts tokens only over HTTPS: <a href={managerUrl}>open the Manager again</a> (the site
          sends the browser to HTTPS) and sign in there.
        </p>
      ) : null}
      <ErrorMessage error={info.error} />
      {info.loading && !info.data ? <Loading what="Loading the security configuration" /> : null}
      {info.data && !moved ? (
        <ConfigForm
          key={JSON.stringify(info.data)}
          config={info.data}
          action={action}
          onSaved={(httpsNow) => (httpsNow ? setMoved(true) : info.reload())}
        />
      ) : null}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
    </section>
  );
}

function ConfigForm({ config, action, onSaved }) {
  const [protocol, setProtocol] = useState(protocolOf(config));
  const [adminProtocol, setAdminProtocol] = useState(config.allowedAdminAccessProtocol || "HTTP_AND_HTTPS");
  const [ips, setIps] = useState(addresses(config.allowedAdminAccessIPs).join("\n"));
  const [dialog, confirm] = useConfirm();

  const submit = async (event) => {
    event.preventDefault();
    const chosen = PROTOCOLS.find(([name]) => name === protocol)[2];
    const list = addresses(ips);
    const before = addresses(config.allowedAdminAccessIPs);
    const wasHttps = config.sslEnabled && (!config.httpEnabled || config.allowedAdminAccessProtocol === "HTTPS");
    const needsHttps = chosen.sslEnabled && (!chosen.httpEnabled || adminProtocol === "HTTPS");
    const overHttp = location.protocol !== "https:";
    const warnings = [];
    if (overHttp && needsHttps && !wasHttps) {
      warnings.push(
        "You are using the Manager over plain HTTP. With this change the site refuses tokens over HTTP: " +
          "your next action here will be refused, and you must open the Manager over HTTPS and sign in again.",
      );
    }
    if (list.length && list.join(",") !== before.join(",")) {
      warnings.push(
        `Only ${list.join(", ")} will reach the Administrator API, which the Manager uses. The site refuses a list ` +
          "without the address this change comes from, but check that every place you administer from " +
          "(another computer, a VPN, a proxy) is listed, or you will be locked out from there.",
      );
    }
    if (warnings.length && !(await confirm(warnings.join(" "), "Save anyway"))) return;
    const securityConfig = {
      ...chosen,
      allowedAdminAccessProtocol: chosen.sslEnabled ? adminProtocol : "HTTP_AND_HTTPS",
      allowedAdminAccessIPs: list.join(","),
    };
    const done = await action.run(
      () => admin("/security/config/update", { securityConfig }),
      "Security configuration saved; every machine applies it within seconds.",
    );
    if (done) onSaved(overHttp && needsHttps);
  };

  return (
    <form onSubmit={submit}>
      <fieldset>
        <legend>Protocol of the site</legend>
        {PROTOCOLS.map(([name, label]) => (
          <label class="check">
            <input
              type="radio"
              name="protocol"
              value={name}
              checked={protocol === name}
              onChange={() => setProtocol(name)}
            />{" "}
            {label}
          </label>
        ))}
        <p class="hint">
          With HTTPS only, plain HTTP requests are sent to HTTPS, and those carrying a token or a password are
          refused.
        </p>
      </fieldset>
      <Field label="Protocol of the Administrator API" hint="HTTPS only here keeps the rest of the site on HTTP too.">
        <select
          value={adminProtocol}
          disabled={protocol === "http"}
          onChange={(e) => setAdminProtocol(e.currentTarget.value)}
        >
          <option value="HTTP_AND_HTTPS">HTTP and HTTPS</option>
          <option value="HTTPS">HTTPS only</option>
        </select>
      </Field>
      <Field
        label="Addresses allowed to use the Administrator API"
        hint="IP addresses or networks (such as 10.0.0.0/8), one a line or separated by commas; empty allows every address. The token service and the REST API stay open to all."
      >
        <textarea rows={4} value={ips} onInput={(e) => setIps(e.currentTarget.value)} />
      </Field>
      <button type="submit" class="primary" disabled={action.busy}>
        Save settings
      </button>
      {dialog}
    </form>
  );
}
