// Drive the ArcGIS Maps SDK page (src/page.js, bundled by build.mjs) in headless Chromium.
//
//   node run.mjs <major>     (4 or 5)
//
// Environment: GEOSITE_SDK_CONFIG, the page's configuration as JSON (service URLs, token, the
// features to add...); GEOSITE_SDK_PORT, the loopback port to serve the page on (0: any);
// CHROMIUM, the browser (default /usr/bin/chromium); GEOSITE_SDK_SHOT, a file to write the
// MapView's screenshot to (optional).
//
// The page and the SDK's assets are served from this process on 127.0.0.1 (a different port
// from geosite, so every call to geosite is cross-origin, as in a deployed web app). Every
// request that would leave loopback is aborted and recorded in `offLoopback`. Prints one JSON
// document: the page's results, the requests it sent to geosite and the console errors.
import { createServer } from "node:http";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const major = process.argv[2];
const here = new URL(".", import.meta.url).pathname;
const roots = {
  "/assets/": join(here, "node_modules", `arcgis-core-${major}`, "assets"),
  "/": join(here, "dist", major),
};
const config = JSON.parse(process.env.GEOSITE_SDK_CONFIG ?? "{}");
const timeoutMs = Number(process.env.GEOSITE_SDK_TIMEOUT_MS ?? 150_000);
const types = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
  ".html": "text/html",
};
const index = `<!doctype html>
<html><head><meta charset="utf-8"><title>geosite and the ArcGIS Maps SDK ${major}</title>
<link rel="stylesheet" href="/assets/esri/themes/light/main.css">
<style>html,body{margin:0;padding:0}#view{width:800px;height:600px}</style>
<script type="module" src="/page.js"></script></head>
<body><div id="view"></div></body></html>`;

if (!existsSync(join(roots["/"], "page.js"))) {
  console.error(`no bundle in ${roots["/"]}: run \`node build.mjs\` (make js-deps)`);
  process.exit(2);
}

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/" || path === "/index.html") {
    res.writeHead(200, { "content-type": "text/html" }).end(index);
    return;
  }
  const prefix = path.startsWith("/assets/") ? "/assets/" : "/";
  const file = normalize(join(roots[prefix], path.slice(prefix.length)));
  if (!file.startsWith(roots[prefix])) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(Number(process.env.GEOSITE_SDK_PORT ?? 0), "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

// Playwright gives the browser a fresh profile (--user-data-dir) of its own; this directory
// only takes crash dumps, and goes with it.
const profile = await mkdtemp(join(tmpdir(), "geosite-sdk-"));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // WebGL2 for the MapView, in software.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    `--crash-dumps-dir=${profile}`,
  ],
});
const result = { origin, requests: [], offLoopback: [], console: [] };
try {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || loopback.has(url.hostname)) {
      return route.continue();
    }
    result.offLoopback.push(route.request().url());
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  const geosite = new URL(config.server ?? origin).origin;
  const record = (request) => {
    if (new URL(request.url()).origin === geosite) {
      result.requests.push({ method: request.method(), url: request.url(), body: request.postData() });
    }
  };
  page.on("request", record);
  page.on("worker", (worker) => result.console.push(`worker: ${worker.url()}`));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      result.console.push(`${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => result.console.push(`pageerror: ${error.message}`));
  await page.addInitScript((c) => {
    window.geositeConfig = c;
  }, config);
  await page.goto(origin + "/");
  await page.waitForFunction(() => window.geositeResult !== undefined, null, {
    timeout: timeoutMs,
    polling: 200,
  });
  result.page = await page.evaluate(() => window.geositeResult);
  const png = result.page?.checks?.draw?.value?.png;
  if (png) {
    if (process.env.GEOSITE_SDK_SHOT) {
      await writeFile(process.env.GEOSITE_SDK_SHOT, Buffer.from(png.split(",")[1], "base64"));
    }
    result.page.checks.draw.value.png = png.length;
  }
} finally {
  await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
