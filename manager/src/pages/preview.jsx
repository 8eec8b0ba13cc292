// The Preview tab's map, in its own chunk (service.jsx imports it when the tab opens): Leaflet
// and esri-leaflet drawing the service from this site only. No basemap (the CSP lets nothing
// leave the origin) and no attribution control (esri-leaflet's would add inline <style>).
// A FeatureServer's layers are esri-leaflet FeatureLayers on a canvas; a MapServer is a
// DynamicMapLayer (a TiledMapLayer when it is cached in Web Mercator). The map is fitted to the
// layers' extent asked in WGS 84 (query with returnExtentOnly and outSR=4326).
import * as L from "leaflet";
import { dynamicMapLayer, featureLayer, tiledMapLayer } from "esri-leaflet";
import { useEffect, useRef, useState } from "preact/hooks";
import { base, reauthenticate, rest, session } from "../api.js";
import { ErrorMessage } from "../ui.jsx";
import { queryableLayers } from "./service-table.jsx";

const COLORS = ["#1f5fa8", "#b3361c", "#2b7a3d", "#7a4bb3", "#a86a00", "#0f7a7a"];
const MERCATOR = new Set([102100, 102113, 3857, 900913]);

/** The union, in WGS 84, of the extents of the layers' features (null when none has any). */
async function extentOf(service, layers) {
  const found = await Promise.all(
    layers.map((layer) =>
      rest(`${service.restPath}/${layer.id}/query`, { where: "1=1", returnExtentOnly: true, outSR: 4326 }).then(
        (answer) => answer.extent,
        () => null,
      ),
    ),
  );
  let bounds = null;
  for (const e of found) {
    if (!e || ![e.xmin, e.ymin, e.xmax, e.ymax].every(Number.isFinite)) continue;
    // Web Mercator ends at 85.05° (a world extent to ±90° would not fit at any zoom).
    const box = L.latLngBounds([Math.max(-85, e.ymin), Math.max(-180, e.xmin)], [Math.min(85, e.ymax), Math.min(180, e.xmax)]);
    bounds = bounds ? bounds.extend(box) : box;
  }
  return bounds;
}

/** esri-leaflet asks for a new token the way the rest of the Manager does: every layer that
 * asks at once waits for the same sign-in, and none is left waiting. */
function reauthenticating(layer) {
  layer.on("authenticationrequired", async (event) => {
    try {
      await reauthenticate("the token is no longer valid", layer.options.token);
      event.authenticate(session.token);
    } catch {
      // signed out instead: the map goes with the page
    }
  });
  return layer;
}

function featureLayers(service, layers, renderer) {
  return layers.map((layer, index) => {
    const color = COLORS[index % COLORS.length];
    const style = { color, weight: 1, fillColor: color, fillOpacity: 0.35, renderer };
    const options = { url: `${location.origin}${base}/rest${service.restPath}/${layer.id}`, token: session.token, renderer, style: () => style };
    // Points as circles on the canvas (no marker images). Only for point layers: esri-leaflet
    // 3.1 calls pointToLayer with a polygon's coordinates when it redraws one that is given it.
    if (layer.geometryType === "esriGeometryPoint" || layer.geometryType === "esriGeometryMultipoint") {
      options.pointToLayer = (_geojson, latlng) => L.circleMarker(latlng, { ...style, radius: 5, fillOpacity: 0.7 });
    }
    return reauthenticating(featureLayer(options));
  });
}

function mapLayers(service, root) {
  const url = `${location.origin}${base}/rest${service.restPath}`;
  const wkid = root.tileInfo?.spatialReference?.latestWkid || root.tileInfo?.spatialReference?.wkid;
  if (root.tileInfo && MERCATOR.has(wkid)) return [reauthenticating(tiledMapLayer({ url, token: session.token }))];
  return [reauthenticating(dynamicMapLayer({ url, token: session.token, format: "png32", transparent: true }))];
}

/** What the map shows, for everyone (and the tests): how many features are drawn. */
function countFeatures(layers) {
  let count = 0;
  for (const layer of layers) if (layer.eachFeature) layer.eachFeature(() => (count += 1));
  return count;
}

export function Preview({ service, info }) {
  const box = useRef(null);
  const [error, setError] = useState(null);
  const [status, setStatus] = useState("Loading the map…");
  const stopped = info.configuredState === "STOPPED";

  useEffect(() => {
    if (stopped || !box.current) return undefined;
    let alive = true;
    const map = L.map(box.current, { attributionControl: false });
    map.setView([20, 0], 1);
    const renderer = L.canvas({ padding: 0.2 });
    let added = [];
    (async () => {
      const root = await rest(service.restPath);
      if (!alive) return;
      const layers = queryableLayers(root);
      const bounds = await extentOf(service, layers);
      if (!alive) return;
      if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 16, animate: false });
      const isFeatures = service.type === "FeatureServer";
      added = isFeatures ? featureLayers(service, layers, renderer) : mapLayers(service, root);
      let pending = added.length;
      if (!pending) setStatus("The service has no layers to draw.");
      for (const layer of added) {
        layer.on("requesterror", (event) => alive && setError(new Error(event.message || "A request of the map failed.")));
        layer.once("load", () => {
          pending -= 1;
          if (pending > 0 || !alive) return;
          // FeatureLayers add the features of their last answer on the next animation frame.
          requestAnimationFrame(() =>
            requestAnimationFrame(() => {
              if (!alive) return;
              const what = isFeatures ? `${countFeatures(added)} features of ${layers.length} ${layers.length === 1 ? "layer" : "layers"}` : "the map image";
              setStatus(`Map loaded: ${what} drawn.`);
              box.current?.setAttribute("data-loaded", "true");
            }),
          );
        });
        layer.addTo(map);
      }
    })().catch((failure) => alive && setError(failure));
    return () => {
      alive = false;
      map.remove();
    };
  }, [service.restPath, stopped]);

  if (stopped) return <p class="card">The service is stopped: start it to preview it on the map.</p>;
  return (
    <section class="card" aria-labelledby="service-preview-title">
      <h2 id="service-preview-title">Preview</h2>
      <ErrorMessage error={error} />
      <p role="status" class="map-status">
        {status}
      </p>
      <div ref={box} class="map" role="region" aria-label={`Map of ${service.name}`} />
    </section>
  );
}
