// ArcGIS REST JS (@esri/arcgis-rest-request 4.10.2) calling the site's Geometry service.
//
// Run by tests/compat/test_rest_js_geometry.py:
//   GEOSITE_GEOMETRY=http://127.0.0.1:PORT/arcgis/rest/services/Utilities/Geometry/GeometryServer \
//   node geometry.mjs
//
// Prints one JSON document on stdout: each step's answer ({ok, answer}) or its error
// ({ok: false, error}). REST JS sends the params as a form POST with f=json, serialising the
// objects to JSON itself, as apps do.
import { request } from "@esri/arcgis-rest-request";

const SERVICE = process.env.GEOSITE_GEOMETRY;
if (!SERVICE) {
  console.error("set GEOSITE_GEOMETRY");
  process.exit(2);
}

async function step(operation, params) {
  try {
    return { ok: true, answer: await request(`${SERVICE}/${operation}`, { params }) };
  } catch (error) {
    return {
      ok: false,
      error: { name: error?.name, message: error?.message, code: error?.code },
    };
  }
}

const square = {
  rings: [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]],
};
const result = {};

result.project = await step("project", {
  geometries: { geometryType: "esriGeometryPoint", geometries: [{ x: -77.5, y: 39 }] },
  inSR: 4326,
  outSR: 3857,
});
result.buffer = await step("buffer", {
  geometries: { geometryType: "esriGeometryPoint", geometries: [{ x: 0, y: 0 }] },
  inSR: 3857,
  distances: "10,20",
  unit: 9001,
  unionResults: false,
});
result.areasAndLengths = await step("areasAndLengths", {
  polygons: [square],
  sr: 4326,
  lengthUnit: 9036,
  areaUnit: { areaUnit: "esriSquareKilometers" },
  calculationType: "geodesic",
});
result.refused = await step("buffer", {
  geometries: { geometryType: "esriGeometryPoint", geometries: [{ x: 0, y: 0 }] },
  inSR: 3857,
  distances: "ten",
});

console.log(JSON.stringify(result));
