// ArcGIS REST JS (@esri/arcgis-rest-feature-service 4.10.2) reading a public FeatureServer layer.
//
// Run by tests/compat/test_feature_clients.py:
//   GEOSITE_LAYER=http://127.0.0.1:PORT/arcgis/rest/services/NAME/FeatureServer/0 \
//   GEOSITE_FEATURE_ID=123 node features.mjs
//
// Prints one JSON document on stdout. Every step records its own outcome ({ok, ...} or
// {ok: false, error}) and the requests it made, so that one failing step does not hide the
// others. The layer is public: no authentication is passed.
import { getFeature, queryAllFeatures } from "@esri/arcgis-rest-feature-service";

const LAYER = process.env.GEOSITE_LAYER;
const FEATURE_ID = Number(process.env.GEOSITE_FEATURE_ID);
if (!LAYER || !Number.isInteger(FEATURE_ID)) {
  console.error("set GEOSITE_LAYER and GEOSITE_FEATURE_ID");
  process.exit(2);
}

// REST JS calls globalThis.fetch when there is one (Node >= 18): record what it asks for.
let requests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, options) => {
  requests.push({ method: options?.method ?? "GET", url: String(url) });
  return realFetch(url, options);
};

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
  requests = [];
  try {
    return { ok: true, ...(await run()), requests };
  } catch (error) {
    return { ...failure(error), requests };
  }
}

// Reduce a queryAllFeatures answer to what the test checks (34,006 features in full would
// be a needlessly large document).
function summary(response, attributesOf, geometryOf) {
  const features = response.features;
  return {
    count: features.length,
    objectIds: features.map((f) => attributesOf(f).OBJECTID),
    geonameids: features.map((f) => attributesOf(f).geonameid),
    first: { attributes: attributesOf(features[0]), geometry: geometryOf(features[0]) },
    last: {
      attributes: attributesOf(features[features.length - 1]),
      geometry: geometryOf(features[features.length - 1]),
    },
  };
}

const result = {};

// 1. queryAllFeatures, Esri JSON: GET <layer>?f=json for maxRecordCount, then pages of
//    resultOffset/resultRecordCount while exceededTransferLimit is true and pages are full.
result.queryAllJSON = await step(async () => {
  const response = await queryAllFeatures({ url: LAYER });
  return summary(response, (f) => f.attributes, (f) => f.geometry);
});

// 2. The same with f=geojson (exceededTransferLimit is read from "properties").
result.queryAllGeoJSON = await step(async () => {
  const response = await queryAllFeatures({ url: LAYER, params: { f: "geojson" } });
  return summary(response, (f) => f.properties, (f) => f.geometry);
});

// 3. getFeature: GET <layer>/<id>?f=json, answered with {"feature": {...}}.
result.getFeature = await step(async () => ({
  feature: await getFeature({ url: LAYER, id: FEATURE_ID }),
}));

console.log(JSON.stringify(result));
