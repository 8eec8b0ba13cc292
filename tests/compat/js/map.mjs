// ArcGIS REST JS (@esri/arcgis-rest-request 4.10.2) calling identify and find on MapServers.
//
// Run by tests/compat/test_rest_js_map.py:
//   GEOSITE_CITIES_MAP=http://127.0.0.1:PORT/arcgis/rest/services/Cities/MapServer \
//   GEOSITE_COUNTRIES_MAP=http://127.0.0.1:PORT/arcgis/rest/services/Countries/MapServer \
//   GEOSITE_POINT='[-21.94, 64.14]' GEOSITE_COUNTRY=Iceland node map.mjs
//
// Prints one JSON document on stdout: each step's answer ({ok, answer, requests}) or its error
// ({ok: false, error, requests}). REST JS sends the params as a form POST with f=json,
// serialising the objects to JSON itself, as apps do.
import { request } from "@esri/arcgis-rest-request";

const CITIES = process.env.GEOSITE_CITIES_MAP;
const COUNTRIES = process.env.GEOSITE_COUNTRIES_MAP;
const POINT = JSON.parse(process.env.GEOSITE_POINT ?? "null");
const COUNTRY = process.env.GEOSITE_COUNTRY;
if (!CITIES || !COUNTRIES || !Array.isArray(POINT) || !COUNTRY) {
  console.error("set GEOSITE_CITIES_MAP, GEOSITE_COUNTRIES_MAP, GEOSITE_POINT and GEOSITE_COUNTRY");
  process.exit(2);
}

// REST JS calls globalThis.fetch when there is one (Node >= 18): record what it sends.
let requests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, options) => {
  requests.push({ method: options?.method ?? "GET", url: String(url), body: String(options?.body ?? "") });
  return realFetch(url, options);
};

async function step(url, params) {
  requests = [];
  try {
    return { ok: true, answer: await request(url, { params }), requests };
  } catch (error) {
    return {
      ok: false,
      error: { name: error?.name, message: error?.message, code: error?.code },
      requests,
    };
  }
}

const [x, y] = POINT;
// What esri-leaflet's identifyFeatures() sends for a click at the point on a 400 x 400 map two
// degrees wide: 3 pixels are 0.015 degrees.
const identify = {
  geometry: { x, y, spatialReference: { wkid: 4326 } },
  geometryType: "esriGeometryPoint",
  sr: 4326,
  layers: "all",
  tolerance: 3,
  mapExtent: [x - 1, y - 1, x + 1, y + 1].join(","),
  imageDisplay: "400,400,96",
  returnGeometry: true,
};
const result = {};
result.identifyCity = await step(`${CITIES}/identify`, identify);
result.identifyCountry = await step(`${COUNTRIES}/identify`, identify);
result.find = await step(`${COUNTRIES}/find`, {
  searchText: COUNTRY,
  layers: "0",
  contains: true,
  sr: 4326,
  returnGeometry: true,
});
// "Niger" is in "Nigeria" too: contains=false finds the name alone.
result.findContains = await step(`${COUNTRIES}/find`, {
  searchText: "Niger",
  searchFields: "name",
  layers: "0",
  returnGeometry: false,
});
result.findExact = await step(`${COUNTRIES}/find`, {
  searchText: "Niger",
  searchFields: "name",
  layers: "0",
  contains: false,
  returnGeometry: false,
});

console.log(JSON.stringify(result));
