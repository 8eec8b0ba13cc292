// Open page.js (Leaflet and esri-leaflet drawing geosite's services) in headless Chromium.
//
//   node run.mjs
//
// Environment: GEOSITE_LEAFLET_CONFIG, the page's configuration as JSON (see page.js; its
// `background` is the map's CSS background colour as [r, g, b]); GEOSITE_LEAFLET_SHOT, the PNG
// file to write the map's screenshot to; CHROMIUM, the browser (default /usr/bin/chromium).
//
// Leaflet and esri-leaflet are served from this directory's node_modules by this process on
// 127.0.0.1 (another port than geosite's: every call to geosite is cross-origin, as from a
// deployed web page). Every request that would leave loopback is aborted and recorded in
// `offLoopback`. Prints one JSON document: the page's result, every response from geosite
// (url, status, content type), the requests that failed, console errors, and the screenshot's
// measure: how many pixels differ from the background, and the pixel at each configured point.
import { createServer } from "node:http";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
const roots = {
  "/leaflet/": join(here, "node_modules", "leaflet", "dist"),
  "/esri-leaflet/": join(here, "node_modules", "esri-leaflet", "dist"),
};
const config = JSON.parse(process.env.GEOSITE_LEAFLET_CONFIG ?? "{}");
const background = config.background ?? [250, 240, 230];
const timeoutMs = Number(process.env.GEOSITE_LEAFLET_TIMEOUT_MS ?? 90_000);
const types = {
  ".js": "text/javascript",
  ".css": "text/css",
  ".png": "image/png",
  ".html": "text/html",
};
const index = `<!doctype html>
<html><head><meta charset="utf-8"><title>geosite and esri-leaflet</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/leaflet/leaflet.css">
<style>html,body{margin:0;padding:0}
#map{width:800px;height:600px;background:rgb(${background.join(",")})}</style>
<script src="/leaflet/leaflet.js"></script>
<script src="/esri-leaflet/esri-leaflet.js"></script>
</head><body><div id="map"></div><script src="/page.js"></script></body></html>`;

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/" || path === "/index.html") {
    res.writeHead(200, { "content-type": "text/html" }).end(index);
    return;
  }
  let file = join(here, "page.js");
  if (path !== "/page.js") {
    const prefix = Object.keys(roots).find((p) => path.startsWith(p));
    file = prefix && normalize(join(roots[prefix], path.slice(prefix.length)));
    if (!file || !file.startsWith(roots[prefix])) {
      res.writeHead(404).end();
      return;
    }
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

// Count the screenshot's pixels that differ from the background and read the pixels at the
// page's points, in a blank page of the same browser (the PNG decoded by a canvas).
function measure([png, points, background]) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onerror = () => reject(new Error("the screenshot does not decode"));
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, image.width, image.height).data;
      let differing = 0;
      for (let i = 0; i < data.length; i += 4) {
        const d =
          Math.abs(data[i] - background[0]) +
          Math.abs(data[i + 1] - background[1]) +
          Math.abs(data[i + 2] - background[2]);
        if (d > 24) differing += 1;
      }
      const pixels = {};
      for (const [name, [x, y]] of Object.entries(points)) {
        pixels[name] =
          x >= 0 && y >= 0 && x < image.width && y < image.height
            ? [...context.getImageData(x, y, 1, 1).data]
            : null;
      }
      resolve({
        width: image.width,
        height: image.height,
        differing,
        fraction: differing / (image.width * image.height),
        pixels,
      });
    };
    image.src = png;
  });
}

// Playwright gives the browser a fresh profile of its own; this directory only takes crash
// dumps, and goes with it.
const profile = await mkdtemp(join(tmpdir(), "geosite-leaflet-"));
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
    `--crash-dumps-dir=${profile}`,
  ],
});
const result = { origin, responses: [], failed: [], offLoopback: [], console: [] };
try {
  const context = await browser.newContext({
    viewport: { width: 800, height: 600 },
    deviceScaleFactor: 1,
  });
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
  page.on("response", async (response) => {
    if (new URL(response.url()).origin === origin) return;
    result.responses.push({
      url: response.url(),
      status: response.status(),
      contentType: response.headers()["content-type"] ?? null,
      resourceType: response.request().resourceType(),
      method: response.request().method(),
    });
  });
  page.on("requestfailed", (request) => {
    result.failed.push({ url: request.url(), error: request.failure()?.errorText });
  });
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
  try {
    await page.waitForFunction(() => window.geositeResult !== undefined, null, {
      timeout: timeoutMs,
      polling: 200,
    });
    result.page = await page.evaluate(() => window.geositeResult);
  } catch (error) {
    result.page = { fatal: `no result from the page: ${error.message}` };
  }
  const shot = await page.locator("#map").screenshot({ type: "png" });
  if (process.env.GEOSITE_LEAFLET_SHOT) {
    await writeFile(process.env.GEOSITE_LEAFLET_SHOT, shot);
  }
  const blank = await context.newPage();
  result.shot = await blank.evaluate(measure, [
    `data:image/png;base64,${shot.toString("base64")}`,
    result.page?.pixels ?? {},
    background,
  ]);
} finally {
  await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
