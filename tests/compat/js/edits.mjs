// ArcGIS REST JS (@esri/arcgis-rest-feature-service 4.10.2) editing a FeatureServer layer.
//
// Run by tests/compat/test_rest_js_edits.py:
//   GEOSITE_LAYER=http://127.0.0.1:PORT/arcgis/rest/services/NAME/FeatureServer/0 \
//   GEOSITE_TOKEN=... node edits.mjs
//
// Each step is one call of the library, as an application would make it, with the token
// passed the library's way (an ApiKeyManager sends it as the `token` parameter). Prints one
// JSON document: every step's answer (or its error), for the test to check against the data.
import { addFeatures, applyEdits, deleteFeatures, updateFeatures } from "@esri/arcgis-rest-feature-service";
import { ApiKeyManager } from "@esri/arcgis-rest-request";

const url = process.env.GEOSITE_LAYER;
const authentication = ApiKeyManager.fromKey(process.env.GEOSITE_TOKEN);
if (!url || !process.env.GEOSITE_TOKEN) {
  console.error("set GEOSITE_LAYER and GEOSITE_TOKEN");
  process.exit(2);
}

async function step(run) {
  try {
    return { ok: true, answer: await run() };
  } catch (error) {
    return { ok: false, error: { name: error?.name, message: error?.message, code: error?.code } };
  }
}

const out = {};
out.add = await step(() =>
  addFeatures({
    url,
    authentication,
    features: [
      { geometry: { x: -77.0, y: 38.9 }, attributes: { name: "added by REST JS", n: 11 } },
      { geometry: { x: -0.1, y: 51.5 }, attributes: { name: "second", n: 12 } },
    ],
  }),
);
const [first, second] = out.add.ok ? out.add.answer.addResults.map((r) => r.objectId) : [0, 0];
out.update = await step(() =>
  updateFeatures({
    url,
    authentication,
    features: [{ attributes: { OBJECTID: first, n: 110 }, geometry: { x: -77.5, y: 39.0 } }],
  }),
);
out.apply = await step(() =>
  applyEdits({
    url,
    authentication,
    adds: [{ geometry: { x: 2.35, y: 48.85 }, attributes: { name: "third", n: 13 } }],
    updates: [{ attributes: { OBJECTID: second, name: "second, renamed" } }],
    deletes: [1],
  }),
);
out.delete = await step(() => deleteFeatures({ url, authentication, objectIds: [second] }));
out.rejected = await step(() =>
  addFeatures({ url, authentication, features: [{ geometry: { x: 1, y: 1 }, attributes: { nope: 1 } }] }),
);
console.log(JSON.stringify(out));
