// Security › Policies: the token configuration (/admin/security/tokens, tokens/update with
// ArcGIS's `tokenManagerConfig` JSON, and a new shared key, which ends every token) and the
// password policy (/admin/security/passwordPolicy, passwordPolicy/update).
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";

export function Policies() {
  return (
    <>
      <TokenPolicy />
      <PasswordPolicy />
      <section class="card" aria-labelledby="lockout-title">
        <h2 id="lockout-title">Sign-in lockout</h2>
        <p>
          Repeated failed sign-ins lock an account for a while (by default 5 failures within 15 minutes lock
          it for 15 minutes). The Administrator API does not change these limits: they are part of the
          server's configuration (<code>GEOSITE_LOCKOUT_*</code>).
        </p>
      </section>
    </>
  );
}

function TokenPolicy() {
  const info = useLoad(() => admin("/security/tokens"), []);
  const action = useAction(); // here, so that its notice outlives the form's reload
  return (
    <section class="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens</h2>
      <ErrorMessage error={info.error} />
      {info.loading && !info.data ? <Loading what="Loading the token configuration" /> : null}
      {info.data ? (
        <TokenForm key={JSON.stringify(info.data)} config={info.data} reload={info.reload} action={action} />
      ) : null}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
    </section>
  );
}

function randomKey() {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function TokenForm({ config, reload, action }) {
  const properties = config.properties || {};
  const [shortTimeout, setShort] = useState(String(properties.shortTimeout ?? "60"));
  const [longTimeout, setLong] = useState(String(properties.longTimeout ?? "1440"));
  const [allowGet, setAllowGet] = useState(String(properties.allowHttpGet) === "true");
  const [dialog, confirm] = useConfirm();
  const update = (changed) =>
    admin("/security/tokens/update", {
      tokenManagerConfig: { type: config.type || "BUILTIN", properties: changed },
    });
  const submit = async (event) => {
    event.preventDefault();
    const done = await action.run(
      () => update({ shortTimeout, longTimeout, allowHttpGet: allowGet ? "true" : "false" }),
      "Token configuration saved. Tokens already issued keep their expiry.",
    );
    if (done) reload();
  };
  const rotate = async () => {
    const yes = await confirm(
      "Make a new shared key? Every token issued so far stops working at once: every person and script " +
        "signed in, you included, must sign in again.",
      "End every token",
    );
    if (!yes) return;
    await action.run(() => update({ sharedKey: randomKey() }), "A new shared key is in use: every earlier token has ended.");
  };
  return (
    <form onSubmit={submit}>
      <Field label="Default token lifetime (minutes)" hint="shortTimeout: for a token requested without an expiration.">
        <input type="number" min="1" required value={shortTimeout} onInput={(e) => setShort(e.currentTarget.value)} />
      </Field>
      <Field label="Longest token lifetime (minutes)" hint="longTimeout: a longer expiration asked for is cut to this.">
        <input type="number" min="1" required value={longTimeout} onInput={(e) => setLong(e.currentTarget.value)} />
      </Field>
      <label class="check">
        <input type="checkbox" checked={allowGet} onChange={(e) => setAllowGet(e.currentTarget.checked)} /> Allow
        requesting tokens with HTTP GET (puts passwords in URLs and logs; off is safer)
      </label>
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Save token configuration
        </button>
        <button type="button" class="danger" disabled={action.busy} onClick={rotate}>
          New shared key…
        </button>
      </div>
      {dialog}
    </form>
  );
}

const RULES = [
  ["minLength", "Minimum length", 8],
  ["minUpper", "Minimum upper-case letters", 0],
  ["minLower", "Minimum lower-case letters", 0],
  ["minDigit", "Minimum digits", 0],
  ["minOther", "Minimum other characters", 0],
];

function PasswordPolicy() {
  const info = useLoad(() => admin("/security/passwordPolicy"), []);
  const action = useAction();
  return (
    <section class="card" aria-labelledby="password-policy-title">
      <h2 id="password-policy-title">Password policy</h2>
      <p>For users of the site's built-in store; it applies to passwords set from now on.</p>
      <ErrorMessage error={info.error} />
      {info.loading && !info.data ? <Loading what="Loading the password policy" /> : null}
      {info.data ? (
        <PasswordForm
          key={JSON.stringify(info.data)}
          policy={info.data.passwordPolicy || {}}
          reload={info.reload}
          action={action}
        />
      ) : null}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
    </section>
  );
}

function PasswordForm({ policy, reload, action }) {
  const [values, setValues] = useState(() =>
    Object.fromEntries(RULES.map(([name, , fallback]) => [name, String(policy[name] ?? fallback)])),
  );
  const save = async (event) => {
    event.preventDefault();
    const numbers = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number(v)]));
    const done = await action.run(
      () => admin("/security/passwordPolicy/update", { passwordPolicy: { type: "custom", ...numbers } }),
      "Password policy saved.",
    );
    if (done) reload();
  };
  const reset = async () => {
    const done = await action.run(
      () => admin("/security/passwordPolicy/update", { passwordPolicy: { type: "default" } }),
      "The default password policy is back.",
    );
    if (done) reload();
  };
  return (
    <form onSubmit={save}>
      <p>
        Now: <strong>{policy.type === "default" ? "the default policy" : "a custom policy"}</strong>.
      </p>
      <div class="grid">
        {RULES.map(([name, label]) => (
          <Field label={label}>
            <input
              type="number"
              min="0"
              required
              value={values[name]}
              onInput={(e) => {
                const value = e.currentTarget.value;
                setValues((current) => ({ ...current, [name]: value }));
              }}
            />
          </Field>
        ))}
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Save password policy
        </button>
        <button type="button" disabled={action.busy || policy.type === "default"} onClick={reset}>
          Use the default policy
        </button>
      </div>
    </form>
  );
}
