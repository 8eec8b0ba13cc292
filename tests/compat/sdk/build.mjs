// Bundle src/page.js once per SDK line into dist/<major>/ (esbuild, ES modules with code
// splitting, as an app built with a bundler ships it). `@arcgis/core` resolves to the npm alias
// of that line (arcgis-core-4 or arcgis-core-5); the SDK's assets (workers, t9n, wasm, themes)
// are not bundled: the driver serves node_modules/arcgis-core-<major>/assets as /assets.
import * as esbuild from "esbuild";
import { rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
for (const major of ["4", "5"]) {
  const outdir = `${here}dist/${major}`;
  rmSync(outdir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [`${here}src/page.js`],
    bundle: true,
    format: "esm",
    splitting: true,
    minify: true,
    target: "es2022",
    outdir,
    alias: { "@arcgis/core": `arcgis-core-${major}` },
    absWorkingDir: here, // where esbuild resolves the alias from
    logLevel: "warning",
  });
}
