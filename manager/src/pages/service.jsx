// One service: #/services/<folder or _root>/<Name>.<Type>?tab=properties|preview|table|statistics.
// Its properties (edited as ArcGIS scripts do: read the service JSON, change it, post it back to
// `edit`), a map preview (Leaflet and esri-leaflet, loaded only when the tab opens), its
// attribute table, paged, and its statistics. Start, stop and delete are here too.
import { useEffect, useState } from "preact/hooks";
import { admin } from "../api.js";
import { href, navigate } from "../router.js";
import { Badge, ErrorMessage, Loading, Notice, Page, useAction, useConfirm, useLoad } from "../ui.jsx";
import { Properties } from "./service-properties.jsx";
import { AttributeTable } from "./service-table.jsx";
import { Statistics } from "./service-statistics.jsx";
import { ROOT } from "./services.jsx";

/** The folder name the routes use for the root folder. */

const TABS = [
  ["properties", "Properties"],
  ["preview", "Preview"],
  ["table", "Table"],
  ["statistics", "Statistics"],
];

/**
 * The service a route names: {folder, name, type, adminPath, restPath, resourceURI}, or null.
 * `#/services/_root/Name.Type` and `#/services/Name.Type` are in the root folder.
 */
export function serviceOf(route) {
  const rest = route.parts.slice(1);
  if (rest.length < 1 || rest.length > 2) return null;
  const folder = rest.length === 2 && rest[0] !== ROOT ? rest[0] : "";
  const last = rest[rest.length - 1];
  const dot = last.lastIndexOf(".");
  if (dot <= 0 || dot === last.length - 1) return null;
  const name = last.slice(0, dot);
  const type = last.slice(dot + 1);
  const qualified = folder ? `${folder}/${name}` : name;
  const path = (text) => text.split("/").map(encodeURIComponent).join("/");
  return {
    folder,
    name,
    type,
    parts: ["services", folder || ROOT, last],
    adminPath: `/services/${path(folder ? `${folder}/${name}.${type}` : `${name}.${type}`)}`,
    restPath: `/services/${path(qualified)}/${encodeURIComponent(type)}`,
    resourceURI: `services/${folder ? `${folder}/` : ""}${name}.${type}`,
  };
}

/** The map tab: preview.jsx (with Leaflet and esri-leaflet) is fetched when first shown. */
function PreviewTab({ service, info }) {
  const [module, setModule] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let alive = true;
    import("./preview.jsx").then(
      (loaded) => alive && setModule(loaded),
      (failure) => alive && setError(failure),
    );
    return () => {
      alive = false;
    };
  }, []);
  if (error) return <ErrorMessage error={error} />;
  if (!module) return <Loading what="Loading the map" />;
  const { Preview } = module;
  return <Preview service={service} info={info} />;
}

function StateControls({ service, info, reload }) {
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const state = info.configuredState;
  const start = () => action.run(() => admin(`${service.adminPath}/start`).then(reload), `${service.name} started.`);
  const stop = async () => {
    if (!(await confirm(`Stop ${service.name}? Requests to it will be refused until it is started again.`, "Stop"))) return;
    await action.run(() => admin(`${service.adminPath}/stop`).then(reload), `${service.name} stopped.`);
  };
  return (
    <div class="service-state">
      <span>
        State: <Badge state={state} />
      </span>
      {state === "STOPPED" ? (
        <button type="button" class="primary" disabled={action.busy} onClick={start}>
          Start
        </button>
      ) : (
        <button type="button" disabled={action.busy} onClick={stop}>
          Stop
        </button>
      )}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      {dialog}
    </div>
  );
}

export function Service({ route }) {
  const service = serviceOf(route);
  const tab = TABS.some(([key]) => key === route.query.tab) ? route.query.tab : "properties";
  const loaded = useLoad(() => (service ? admin(service.adminPath) : Promise.resolve(null)), [service?.adminPath]);
  if (!service) {
    return (
      <Page title="Service">
        <p>
          There is no such service address. <a href={href(["services"])}>All services</a>
        </p>
      </Page>
    );
  }
  const title = `${service.name} (${service.type})`;
  const info = loaded.data;
  let content = null;
  if (info) {
    if (tab === "properties") {
      content = <Properties service={service} info={info} reload={loaded.reload} onDeleted={() => navigate(["services"])} />;
    } else if (tab === "preview") content = <PreviewTab service={service} info={info} />;
    else if (tab === "table") content = <AttributeTable service={service} info={info} />;
    else content = <Statistics service={service} />;
  }
  return (
    <Page title={title} actions={info ? <StateControls service={service} info={info} reload={loaded.reload} /> : null}>
      <p>
        <a href={href(["services"])}>All services</a>
        {" · "}
        Folder: {service.folder || "root"}
      </p>
      <nav class="tabs" aria-label="Service">
        {TABS.map(([key, label]) => (
          <a href={href(service.parts, { tab: key })} aria-current={key === tab ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
      {!info && loaded.loading ? <Loading /> : content}
    </Page>
  );
}
