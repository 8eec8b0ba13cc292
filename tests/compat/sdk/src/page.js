// The checks tests/compat/test_arcgis_js_sdk.py runs in headless Chromium with the ArcGIS Maps
// SDK for JavaScript, bundled from npm (build.mjs) and served from loopback (run.mjs). Every
// check records what the SDK gave back (or the error it raised) in one JSON document, which
// run.mjs prints for the Python test to compare with the truth.
import esriConfig from "@arcgis/core/config.js";
import * as kernel from "@arcgis/core/kernel.js";
import esriRequest from "@arcgis/core/request.js";
import Map from "@arcgis/core/Map.js";
import MapView from "@arcgis/core/views/MapView.js";
import FeatureLayer from "@arcgis/core/layers/FeatureLayer.js";
import Graphic from "@arcgis/core/Graphic.js";
import IdentityManager from "@arcgis/core/identity/IdentityManager.js";
import * as reactiveUtils from "@arcgis/core/core/reactiveUtils.js";

const config = window.geositeConfig;
esriConfig.assetsPath = new URL("/assets", location.href).href;
esriConfig.request.useIdentity = false; // no sign-in dialog: a refusal must surface as an error
const out = { version: kernel.fullVersion ?? kernel.version, checks: {} };

function describe(error) {
  return {
    name: error?.name ?? null,
    message: String(error?.message ?? error),
    httpStatus: error?.details?.httpStatus ?? null,
    code: error?.details?.raw?.code ?? error?.details?.raw?.error?.code ?? null,
    messageCode: error?.details?.messageCode ?? null,
  };
}

async function check(name, body) {
  const started = performance.now();
  try {
    out.checks[name] = { ok: true, value: await body() };
  } catch (error) {
    out.checks[name] = { ok: false, error: describe(error) };
  }
  out.checks[name].ms = Math.round(performance.now() - started);
}

function features(featureSet) {
  return featureSet.features.map((g) => ({
    attributes: g.attributes,
    geometry: g.geometry ? g.geometry.toJSON() : null,
  }));
}

async function settled(view, layerView) {
  await reactiveUtils.whenOnce(() => !layerView.updating);
  await reactiveUtils.whenOnce(() => !view.updating);
}

// What the screenshot shows at a map point: its RGBA pixel (view pixels, top-left origin).
function pixelAt(view, shot, x, y) {
  const point = view.toScreen({ type: "point", x, y, spatialReference: view.spatialReference });
  const { data, width } = shot.data;
  const i = (Math.round(point.y) * width + Math.round(point.x)) * 4;
  return [data[i], data[i + 1], data[i + 2], data[i + 3]];
}

async function run() {
  const parcels = new FeatureLayer({ url: config.parcels, outFields: ["*"] });
  await check("load", async () => {
    await parcels.load();
    return {
      geometryType: parcels.geometryType,
      objectIdField: parcels.objectIdField,
      fields: parcels.fields.map((f) => [f.name, f.type]),
      capabilities: {
        query: parcels.capabilities.operations.supportsQuery,
        statistics: parcels.capabilities.query.supportsStatistics,
        extent: parcels.capabilities.query.supportsExtent,
      },
      spatialReference: parcels.spatialReference.wkid,
    };
  });
  if (!out.checks.load.ok) return;

  await check("count", () => parcels.queryFeatureCount());
  await check("countWhere", () => parcels.queryFeatureCount({ where: config.where }));
  await check("features", async () =>
    features(
      await parcels.queryFeatures({
        where: config.where,
        outFields: ["name", "kind", "value"],
        returnGeometry: true,
        orderByFields: ["value"],
      }),
    ),
  );
  await check("extent", async () => {
    const { count, extent } = await parcels.queryExtent();
    return { count, extent: extent.toJSON() };
  });
  await check("extentWhere", async () => {
    const { count, extent } = await parcels.queryExtent({ where: config.where });
    return { count, extent: extent.toJSON() };
  });
  await check("objectIds", () => parcels.queryObjectIds({ where: config.where }));
  await check("statistics", async () =>
    (
      await parcels.queryFeatures({
        where: "1=1",
        groupByFieldsForStatistics: ["kind"],
        orderByFields: ["kind"],
        outStatistics: [
          { statisticType: "count", onStatisticField: "value", outStatisticFieldName: "n" },
          { statisticType: "sum", onStatisticField: "value", outStatisticFieldName: "total" },
          { statisticType: "avg", onStatisticField: "value", outStatisticFieldName: "mean" },
          { statisticType: "max", onStatisticField: "value", outStatisticFieldName: "top" },
        ],
      })
    ).features.map((g) => g.attributes),
  );

  await check("draw", async () => {
    parcels.renderer = {
      type: "simple",
      symbol: {
        type: "simple-fill",
        color: [255, 0, 0, 1],
        outline: { color: [255, 0, 0, 1], width: 0 },
      },
    };
    const view = new MapView({
      container: "view",
      map: new Map({ layers: [parcels] }),
      spatialReference: { wkid: 4326 },
      extent: { ...config.viewExtent, spatialReference: { wkid: 4326 } },
      ui: { components: [] },
    });
    await view.when();
    const layerView = await view.whenLayerView(parcels);
    await settled(view, layerView);
    const drawn = await layerView.queryFeatureCount();
    const shot = await view.takeScreenshot({ format: "png" });
    const { data } = shot.data;
    let red = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] > 200 && data[i + 1] < 60 && data[i + 2] < 60 && data[i + 3] > 200) red += 1;
    }
    return {
      drawn,
      size: [shot.data.width, shot.data.height],
      redPixels: red,
      inside: config.inside.map(([x, y]) => pixelAt(view, shot, x, y)),
      outside: config.outside.map(([x, y]) => pixelAt(view, shot, x, y)),
      png: shot.dataUrl,
    };
  });

  // The secured service, first as a stranger: refused, not a sign-in dialog.
  await check("secretAnonymous", () =>
    esriRequest(config.secret, { query: { f: "json" }, authMode: "anonymous" }).then(
      (r) => r.data,
    ),
  );
  await check("secretQueryAnonymous", () =>
    esriRequest(config.secret + "/query", {
      query: { f: "json", where: "1=1", returnCountOnly: true },
      authMode: "anonymous",
    }).then((r) => r.data),
  );
  await check("secretLayerAnonymous", async () => {
    const layer = new FeatureLayer({ url: config.secret });
    await layer.load();
    return await layer.queryFeatureCount();
  });

  // Then with the token an application got from generateToken.
  esriConfig.request.useIdentity = true;
  IdentityManager.registerToken({ server: config.server, token: config.token });
  const secret = new FeatureLayer({ url: config.secret, outFields: ["*"] });
  await check("secretLoad", async () => {
    await secret.load();
    return {
      count: await secret.queryFeatureCount(),
      editing: secret.editingEnabled,
      capabilities: {
        add: secret.capabilities.operations.supportsAdd,
        update: secret.capabilities.operations.supportsUpdate,
        delete: secret.capabilities.operations.supportsDelete,
      },
    };
  });
  if (!out.checks.secretLoad.ok) return;
  await check("applyEdits", async () => {
    const point = (x, y) => ({ type: "point", x, y, spatialReference: { wkid: 4326 } });
    const result = await secret.applyEdits({
      addFeatures: config.adds.map(
        ({ x, y, attributes }) => new Graphic({ geometry: point(x, y), attributes }),
      ),
      updateFeatures: config.updates.map(
        ({ x, y, attributes }) => new Graphic({ geometry: point(x, y), attributes }),
      ),
      deleteFeatures: config.deletes.map((objectId) => ({ objectId })),
    });
    const summary = (results) =>
      results.map((r) => ({ objectId: r.objectId, error: r.error ? String(r.error.message) : null }));
    return {
      adds: summary(result.addFeatureResults),
      updates: summary(result.updateFeatureResults),
      deletes: summary(result.deleteFeatureResults),
    };
  });
  await check("secretAfter", async () =>
    features(await secret.queryFeatures({ where: "1=1", outFields: ["*"], returnGeometry: true })),
  );
}

run()
  .catch((error) => {
    out.fatal = describe(error);
  })
  .finally(() => {
    window.geositeResult = out;
  });
