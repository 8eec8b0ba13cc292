// Build the Manager into geosite/http/static/manager/ (or the directory given): one bundle
// (Preact, uPlot, the pages) with Leaflet and esri-leaflet split into a chunk loaded by the
// map preview only, the CSS, index.html (no inline script: the CSP forbids it) and
// manifest.json, which records the SHA-256 of the sources the files were built from
// (tests/manager/test_shipped.py fails when they are stale). esbuild's output depends only on
// its input, so a rebuild gives the same bytes.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(here, "..", "geosite", "http", "static", "manager");

/** Every file the build reads from this directory, sorted (the Python test lists the same). */
export function sources() {
  const found = ["build.mjs", "package.json", "package-lock.json"];
  const walk = (dir) => {
    for (const name of readdirSync(join(here, dir)).sort()) {
      const path = join(dir, name);
      if (statSync(join(here, path)).isDirectory()) walk(path);
      else found.push(path.split("\\").join("/"));
    }
  };
  walk("src");
  return found.sort();
}

function digest() {
  const hash = createHash("sha256");
  for (const path of sources()) {
    hash.update(path + "\0");
    hash.update(readFileSync(join(here, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/main.jsx"],
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: ["chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  metafile: true,
  logLevel: "warning",
});

const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === "src/main.jsx");
const script = relative(out, join(here, entry[0])).split("\\").join("/");
const style = relative(out, join(here, entry[1].cssBundle)).split("\\").join("/");
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>geosite Manager</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${style}">
<script type="module" src="${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The Manager needs JavaScript. The Administrator Directory (../admin/) works without it.</noscript>
</body>
</html>
`,
);
const files = readdirSync(join(out, "assets")).sort();
writeFileSync(
  join(out, "manifest.json"),
  JSON.stringify({ sources: digest(), entry: { script, style }, files: files.map((f) => `assets/${f}`) }, null, 2) + "\n",
);
console.log(`built ${files.length} assets into ${out}`);
