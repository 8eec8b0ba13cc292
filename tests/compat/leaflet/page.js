// The page run.mjs opens: Leaflet 1.9.4 and esri-leaflet 3.1.0 (plain <script>s, globals L and
// L.esri) drawing geosite's services, with no basemap.
//
// window.geositeConfig (set by run.mjs before the page loads):
//   center [lat, lng], zoom          the view (the map is 800 x 600 CSS pixels)
//   dynamic   a MapServer URL        shown with L.esri.dynamicMapLayer (export, f=json -> href)
//   features  a FeatureServer layer  shown with L.esri.featureLayer, one circle marker a feature
//   tiled     a MapServer URL        shown with L.esri.tiledMapLayer (tile/{z}/{y}/{x})
//   points    {name: [lat, lng]}     places whose container pixel the result reports
//   timeoutMs                        how long to wait for every layer's "load"
//
// Sets window.geositeResult when every layer has loaded (or failed, or the time is up):
//   {layers: {dynamic|features|tiled: {loaded, events, errors, ...}}, images, tiles,
//    pixels: {name: [x, y]}, fatal?}
const config = window.geositeConfig ?? {};
const result = { layers: {}, pixels: {} };
const pending = new Set();

function finish() {
  if (window.geositeResult !== undefined) return;
  for (const [name, layer] of Object.entries(layers)) {
    const entry = result.layers[name];
    if (name === "features") {
      let count = 0;
      layer.eachFeature(() => {
        count += 1;
      });
      entry.featureCount = count;
    }
  }
  // Every image Leaflet holds: export images (the dynamic layer's overlays) and tiles.
  const describe = (img) => ({
    src: img.src,
    complete: img.complete,
    naturalWidth: img.naturalWidth,
    naturalHeight: img.naturalHeight,
    opacity: img.style.opacity,
  });
  result.images = [...document.querySelectorAll("img.leaflet-image-layer")].map(describe);
  result.tiles = [...document.querySelectorAll("img.leaflet-tile")].map((img) => ({
    ...describe(img),
    loaded: img.classList.contains("leaflet-tile-loaded"),
  }));
  for (const [name, latlng] of Object.entries(config.points ?? {})) {
    const p = map.latLngToContainerPoint(latlng);
    result.pixels[name] = [Math.round(p.x), Math.round(p.y)];
  }
  result.size = [map.getSize().x, map.getSize().y];
  result.pending = [...pending];
  result.timedOut = pending.size > 0;
  window.geositeResult = result;
}

function track(name, layer) {
  const entry = { loaded: false, events: [], errors: [] };
  result.layers[name] = entry;
  pending.add(name);
  // A layer is settled by its "load" or by its first error (a failed export never loads).
  const settle = () => {
    pending.delete(name);
    if (pending.size === 0) {
      // Let the last image's opacity and the canvas settle before the screenshot.
      requestAnimationFrame(() => requestAnimationFrame(finish));
    }
  };
  layer.on("load", () => {
    entry.loaded = true;
    entry.events.push("load");
    settle();
  });
  layer.on("requesterror", (e) => {
    entry.errors.push({ url: e.url, code: e.code, message: e.message });
    settle();
  });
  layer.on("error", () => {
    entry.errors.push({ message: "image error" });
    settle();
  });
  layer.on("tileerror", (e) => {
    entry.errors.push({ message: "tileerror", src: e.tile?.src });
    settle();
  });
  return layer;
}

const map = L.map("map", {
  center: config.center ?? [20, 0],
  zoom: config.zoom ?? 2,
  zoomControl: false,
  attributionControl: false,
  fadeAnimation: false,
  zoomAnimation: false,
  preferCanvas: true,
});
// Map images under the vector features, whatever order the layers add their elements in.
map.createPane("maps").style.zIndex = 250;
const layers = {};
try {
  if (config.tiled) {
    layers.tiled = track("tiled", L.esri.tiledMapLayer({ url: config.tiled, pane: "maps" }));
  }
  if (config.dynamic) {
    layers.dynamic = track(
      "dynamic",
      L.esri.dynamicMapLayer({ url: config.dynamic, pane: "maps", opacity: 1 }),
    );
  }
  if (config.features) {
    layers.features = track(
      "features",
      L.esri.featureLayer({
        url: config.features,
        pointToLayer: (geojson, latlng) =>
          L.circleMarker(latlng, {
            radius: 4,
            stroke: false,
            fillColor: "#0000ff",
            fillOpacity: 1,
          }),
      }),
    );
  }
  for (const layer of Object.values(layers)) layer.addTo(map);
  if (pending.size === 0) finish();
} catch (error) {
  result.fatal = `${error?.name}: ${error?.message}`;
  finish();
}
setTimeout(finish, config.timeoutMs ?? 60_000);
