// ArcGIS REST JS (@esri/arcgis-rest-request 4.10.2) against a stand-alone geosite server.
//
// Run by tests/compat/test_rest_js.py:
//   GEOSITE_BASE=http://127.0.0.1:PORT GEOSITE_USERNAME=... GEOSITE_PASSWORD=... node token.mjs
//
// Prints one JSON document on stdout. Every step records its own outcome ({ok, ...} or
// {ok: false, error}) so that one failing step does not hide the others.
import { ArcGISIdentityManager, request } from "@esri/arcgis-rest-request";

const BASE = process.env.GEOSITE_BASE;
const USERNAME = process.env.GEOSITE_USERNAME;
const PASSWORD = process.env.GEOSITE_PASSWORD;
if (!BASE || !USERNAME || !PASSWORD) {
  console.error("set GEOSITE_BASE, GEOSITE_USERNAME and GEOSITE_PASSWORD");
  process.exit(2);
}
const SERVER = `${BASE}/arcgis/rest/services`;
const MACHINES = `${BASE}/arcgis/admin/machines`;

function failure(error) {
  return {
    ok: false,
    error: {
      name: error?.name,
      message: error?.message,
      code: error?.code,
      response: error?.response ?? null,
    },
  };
}

async function step(run) {
  try {
    return { ok: true, ...(await run()) };
  } catch (error) {
    return failure(error);
  }
}

const result = {};

// 1. Log in the documented way for a stand-alone server: POST /arcgis/rest/info, then POST
//    the credentials to authInfo.tokenServicesUrl (expiration=20160, client=referer).
let session = null;
result.login = await step(async () => {
  const before = Date.now();
  const manager = new ArcGISIdentityManager({ server: SERVER, username: USERNAME, password: PASSWORD });
  await manager.refreshCredentials();
  session = manager;
  return {
    token: manager.token,
    tokenExpires: manager.tokenExpires.getTime(),
    requestedAt: before,
    tokenDuration: manager.tokenDuration,
  };
});

// 2. Use that token for an Administrator API resource, by GET (token in the query string)
//    and by POST (token in the form). REST JS keys the tokens it will attach by the "server
//    root" of each URL, and only URLs containing /rest/services have a root other than the
//    URL itself; so the manager is told that the token is for this admin URL.
for (const httpMethod of ["GET", "POST"]) {
  result[`machines${httpMethod}`] = session
    ? await step(async () => {
        const authentication = new ArcGISIdentityManager({
          token: session.token,
          tokenExpires: session.tokenExpires,
          server: MACHINES,
        });
        return { response: await request(MACHINES, { authentication, httpMethod, params: { f: "json" } }) };
      })
    : { ok: false, error: { message: "no token (login failed)" } };
}

// 3. The same token with the manager bound to BASE/arcgis/rest/services: REST JS then looks
//    for a server root of the admin URL (GET .../machines/rest/info), fails, and sends the
//    request without a token (a client limitation, recorded here so the test documents it).
result.machinesRestServicesManager = session
  ? await step(async () => {
      const authentication = new ArcGISIdentityManager({
        token: session.token,
        tokenExpires: session.tokenExpires,
        server: SERVER,
      });
      return { response: await request(MACHINES, { authentication, params: { f: "json" } }) };
    })
  : { ok: false, error: { message: "no token (login failed)" } };

// 4. A wrong password must make refreshCredentials() reject.
result.wrongPassword = await step(async () => {
  const manager = new ArcGISIdentityManager({
    server: SERVER,
    username: USERNAME,
    password: `${PASSWORD}-wrong`,
  });
  await manager.refreshCredentials();
  return { token: manager.token ?? null };
});

console.log(JSON.stringify(result));
