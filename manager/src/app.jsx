// The shell: sign-in, the navigation a person's privilege allows, and the page of the route.
// When a token expires or is revoked mid-task, a sign-in dialog opens over the page (which
// stays mounted, with what was typed) and the call that failed is retried after.
import { useEffect, useRef, useState } from "preact/hooks";
import { adminUrl, ApiError, may, restUrl, resume, session, onSession, signIn, signOut } from "./api.js";
import { href, useRoute } from "./router.js";
import { ErrorMessage, Field, Loading } from "./ui.jsx";
import { Overview } from "./pages/overview.jsx";
import { Services } from "./pages/services.jsx";
import { Service } from "./pages/service.jsx";
import { Publish } from "./pages/publish.jsx";
import { Logs } from "./pages/logs.jsx";
import { Security } from "./pages/security.jsx";
import { Site } from "./pages/site.jsx";

// [route, label, privilege, component]: the navigation, in order.
const SECTIONS = [
  ["", "Overview", "PUBLISH", Overview],
  ["services", "Services", "PUBLISH", Services],
  ["publish", "Publish", "PUBLISH", Publish],
  ["logs", "Logs", "PUBLISH", Logs],
  ["security", "Security", "ADMINISTER", Security],
  ["site", "Site", "ADMINISTER", Site],
];

function SignInForm({ message, username: fixed, onDone }) {
  const [username, setUsername] = useState(fixed || "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
      setPassword("");
      onDone?.();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="signin" onSubmit={submit}>
      {message ? <p class="notice">{message}</p> : null}
      <Field label="Username">
        <input name="username" autoComplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
      </Field>
      <Field label="Password">
        <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </Field>
      <ErrorMessage error={error} />
      <button type="submit" class="primary" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}

/** The dialog shown over the page when the token stopped working: sign in again (the page
 * and what was typed stay), or sign out (an account removed or disabled cannot sign in). */
function ReauthDialog({ ask, onDone, onSignOut }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal();
    ref.current?.querySelector("input[type=password]")?.focus();
  }, []);
  return (
    <dialog ref={ref} class="reauth" aria-labelledby="reauth-title" onCancel={(e) => e.preventDefault()}>
      <h2 id="reauth-title">Sign in again</h2>
      <SignInForm
        message={`Your session has ended (${ask.reason}). Sign in to carry on where you were.`}
        username={ask.username}
        onDone={() => {
          ref.current?.close();
          onDone();
        }}
      />
      <p>
        <button type="button" onClick={onSignOut}>
          Sign out instead
        </button>
      </p>
    </dialog>
  );
}

function NotFound() {
  return <p>There is no such page in the Manager.</p>;
}

export function App() {
  const [user, setUser] = useState(session.user);
  const [starting, setStarting] = useState(true);
  const [reauth, setReauth] = useState(null);
  const route = useRoute();

  useEffect(() => {
    const off = onSession(setUser);
    resume().finally(() => setStarting(false));
    // api.js asks once for all the calls refused together (reauthenticate); a second ask
    // while the dialog is open joins the first.
    let open = null;
    session.reauthenticate = (reason) => {
      if (!open) {
        open = new Promise((resolve, reject) => {
          setReauth({ reason: reason || "the token is no longer valid", username: session.user?.name, resolve, reject });
        }).finally(() => {
          open = null;
        });
      }
      return open;
    };
    return () => {
      off();
      session.reauthenticate = null;
    };
  }, []);

  if (starting) return <Loading />;
  if (!user) {
    return (
      <main id="main" class="signin-page">
        <h1>geosite Manager</h1>
        <p>Sign in with an account of this site.</p>
        <SignInForm />
      </main>
    );
  }
  const sections = SECTIONS.filter(([, , privilege]) => may(privilege));
  const first = route.parts[0] || "";
  const section = sections.find(([path]) => path === first);
  let content;
  if (first === "services" && route.parts.length > 1) content = <Service route={route} />;
  else if (section) {
    const Component = section[3];
    content = <Component route={route} />;
  } else content = <NotFound />;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">geosite Manager</span>
        <nav aria-label="Sections">
          <ul>
            {sections.map(([path, label]) => (
              <li>
                <a href={href(path ? [path] : [])} aria-current={path === first ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {user.name} ({user.privilege.toLowerCase()})
          </span>
          {may("ADMINISTER") ? <a href={`${adminUrl}/`}>Administrator Directory</a> : null}
          <a href={`${restUrl}/services`}>Services Directory</a>
          <button type="button" onClick={() => { signOut(); location.hash = "#/"; }}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{content}</main>
      {reauth ? (
        <ReauthDialog
          ask={reauth}
          onDone={() => {
            reauth.resolve();
            setReauth(null);
          }}
          onSignOut={() => {
            setReauth(null);
            signOut();
            location.hash = "#/";
            reauth.reject(new ApiError(498, ["You signed out."]));
          }}
        />
      ) : null}
    </>
  );
}
