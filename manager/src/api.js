// The Manager's only way to the server: the public Administrator API, the REST API and the
// token service, as any script calls them. The token lives in memory and in a SameSite=Strict
// cookie scoped to the Manager's own path (never localStorage), is sent in the
// X-Esri-Authorization header (so no other site can make the browser use it), and is bound to
// this page by `client=referer`. A call answered "invalid token" or "token required" asks the
// person to sign in again and is then retried, so the page and what they typed stay.

const COOKIE = "geosite_manager_token";

/** The site's context path ("/arcgis"), read from where the Manager is served. */
export const base = (() => {
  const at = location.pathname.toLowerCase().lastIndexOf("/manager");
  return at >= 0 ? location.pathname.slice(0, at) : "/arcgis";
})();
/** The Manager's own URL: tokens are bound to it (browsers send it as the Referer). */
export const managerUrl = location.origin + base + "/manager/";
export const adminUrl = base + "/admin";
export const restUrl = base + "/rest";

/** An error answered by the server (either ArcGIS envelope) or by the network. */
export class ApiError extends Error {
  constructor(code, messages) {
    super(messages.join(" ") || `Error ${code}`);
    this.code = code;
    this.messages = messages;
  }
}

const TOKEN_CODES = new Set([498, 499]);

export const session = {
  token: null,
  expires: 0,
  user: null, // {name, privilege: "ADMINISTER" | "PUBLISH" | "ACCESS"}
  listeners: new Set(),
  // Set by the App: shows the sign-in dialog and resolves once the person signed in again.
  reauthenticate: null,
};

function notify() {
  for (const listener of session.listeners) listener(session.user);
}

/** Subscribe to sign-in changes; returns the unsubscribe function. */
export function onSession(listener) {
  session.listeners.add(listener);
  return () => session.listeners.delete(listener);
}

function writeCookie(token, expires) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  const path = `; Path=${base}/manager`;
  if (!token) {
    document.cookie = `${COOKIE}=; Max-Age=0${path}; SameSite=Strict${secure}`;
    return;
  }
  const age = Math.max(0, Math.floor((expires - Date.now()) / 1000));
  document.cookie = `${COOKIE}=${encodeURIComponent(token)}; Max-Age=${age}${path}; SameSite=Strict${secure}`;
}

function readCookie() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Turn an answer into its JSON, or throw an ApiError with the server's own messages. */
export function unwrap(answer) {
  if (answer && typeof answer === "object") {
    if (answer.status === "error") {
      throw new ApiError(answer.code || 500, answer.messages || []);
    }
    if (answer.error) {
      const { code, message, details } = answer.error;
      const texts = [message, ...(details || [])].filter(Boolean);
      throw new ApiError(code || 500, [...new Set(texts)]);
    }
  }
  return answer;
}

function body(params) {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries({ f: "json", ...params })) {
    if (value === undefined || value === null) continue;
    form.append(name, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return form;
}

async function send(url, params, token) {
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  if (token) headers["X-Esri-Authorization"] = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { method: "POST", headers, body: body(params), credentials: "omit" });
  } catch (error) {
    throw new ApiError(0, [`The server could not be reached (${error.message}).`]);
  }
  let answer;
  try {
    answer = await response.json();
  } catch {
    throw new ApiError(response.status, [`The server answered ${response.status} ${response.statusText}.`]);
  }
  return unwrap(answer);
}

// Calls refused at the same time (a page loading several things) share one sign-in dialog.
// `used` is the token the refused call carried: if it is no longer the session's, the person
// has signed in again meanwhile and the call is simply retried. The promise is rejected when
// the person signs out instead.
let signingInAgain = null;
export function reauthenticate(reason, used) {
  if (session.token && session.token !== used) return Promise.resolve(); // already signed in again
  if (!signingInAgain) {
    signingInAgain = Promise.resolve(session.reauthenticate(reason)).finally(() => {
      signingInAgain = null;
    });
  }
  return signingInAgain;
}

/** POST `params` to a URL under the site (`/admin/...`, `/rest/...`), signed in. */
export async function call(path, params = {}) {
  const url = path.startsWith("http") ? path : base + path;
  const used = session.token;
  try {
    return await send(url, params, used);
  } catch (error) {
    if (error instanceof ApiError && TOKEN_CODES.has(error.code) && session.reauthenticate) {
      await reauthenticate(error.messages.join(" "), used);
      return send(url, params, session.token);
    }
    throw error;
  }
}

/** Shortcuts for the two APIs. */
export const admin = (path, params) => call("/admin" + path, params);
export const rest = (path, params) => call("/rest" + path, params);

/**
 * Upload a file to `/admin/uploads/upload` with progress (`onProgress(fraction)`), as
 * multipart form data; resolves to the upload's item.
 */
export function upload(file, onProgress, description = "") {
  const attempt = () =>
    new Promise((resolve, reject) => {
      const form = new FormData();
      form.append("f", "json");
      form.append("itemFile", file, file.name);
      if (description) form.append("description", description);
      const request = new XMLHttpRequest();
      request.open("POST", `${adminUrl}/uploads/upload`);
      if (session.token) request.setRequestHeader("X-Esri-Authorization", `Bearer ${session.token}`);
      request.upload.onprogress = (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      };
      request.onerror = () => reject(new ApiError(0, ["The upload was interrupted."]));
      request.onload = () => {
        try {
          resolve(unwrap(JSON.parse(request.responseText)));
        } catch (error) {
          reject(error instanceof ApiError ? error : new ApiError(request.status, [`The server answered ${request.status}.`]));
        }
      };
      request.send(form);
    });
  const used = session.token;
  return attempt().catch(async (error) => {
    if (error instanceof ApiError && TOKEN_CODES.has(error.code) && session.reauthenticate) {
      await reauthenticate(error.messages.join(" "), used);
      return attempt();
    }
    throw error;
  });
}

/**
 * Download a file the Administrator API serves (`path` under the site, e.g.
 * `/admin/backups/<name>`): a form POSTed with the token in its body, never in a URL, so the
 * browser streams the attachment to disk however large it is. The token is checked first
 * (signing in again if it has ended), since an error answer would replace the page.
 */
export async function download(path) {
  await call("/admin/info");
  const form = document.createElement("form");
  form.method = "POST";
  form.action = base + path;
  form.hidden = true;
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "token";
  token.value = session.token;
  form.append(token);
  document.body.append(form);
  form.submit();
  form.remove();
}

/** Sign in through the token service; on success the session holds the token and the user. */
export async function signIn(username, password) {
  const answer = await send(`${adminUrl}/generateToken`, {
    username,
    password,
    client: "referer",
    referer: managerUrl,
    expiration: 60,
  });
  session.token = answer.token;
  session.expires = Number(answer.expires) || Date.now() + 3600_000;
  try {
    await loadUser(); // refused to a user who may not publish: the API's message is shown
  } catch (error) {
    session.token = null;
    session.user = null;
    throw error;
  }
  writeCookie(session.token, session.expires);
  notify();
}

async function loadUser() {
  const info = await send(`${adminUrl}/info`, {}, session.token);
  session.user = { name: info.loggedInUser, privilege: info.loggedInUserPrivilege || "ACCESS" };
}

/** Resume the session a cookie holds, if its token still works. */
export async function resume() {
  const token = readCookie();
  if (!token) return false;
  session.token = token;
  try {
    await loadUser();
  } catch {
    session.token = null;
    session.user = null;
    writeCookie(null);
    return false;
  }
  notify();
  return true;
}

/** Forget the token, here and in the cookie. */
export function signOut() {
  session.token = null;
  session.user = null;
  session.expires = 0;
  writeCookie(null);
  notify();
}

/** Whether the signed-in person holds `privilege` (ADMINISTER includes PUBLISH). */
export function may(privilege) {
  const order = { ACCESS: 0, PUBLISH: 1, ADMINISTER: 2 };
  return session.user ? order[session.user.privilege] >= order[privilege] : false;
}

/** The token as a URL parameter, for the few requests the browser itself makes (images). */
export function tokenParam() {
  return session.token ? `token=${encodeURIComponent(session.token)}` : "";
}
