// The Table tab: the attributes of one layer of the service, 25 rows a page, ordered by the
// object id, read through the layer's REST `query` (returnCountOnly for the number of pages).
import { useEffect, useState } from "preact/hooks";
import { rest } from "../api.js";
import { ErrorMessage, Field, Loading, Pager, useLoad, when } from "../ui.jsx";

export const PAGE_SIZE = 25;
const HIDDEN = new Set(["esriFieldTypeGeometry", "esriFieldTypeBlob", "esriFieldTypeRaster", "esriFieldTypeXML"]);

/** The layers and tables of a service's REST root JSON that have attributes. */
export function queryableLayers(root) {
  return [...(root.layers || []), ...(root.tables || [])].filter((l) => !(l.subLayerIds && l.subLayerIds.length));
}

function show(value, field) {
  if (value === null || value === undefined) return "";
  if (field.type === "esriFieldTypeDate" && typeof value === "number") return when(value);
  return String(value);
}

function Rows({ service, layerId }) {
  const [page, setPage] = useState(0);
  useEffect(() => setPage(0), [layerId]);
  const layer = useLoad(async () => {
    const path = `${service.restPath}/${layerId}`;
    const [meta, counted] = await Promise.all([rest(path), rest(`${path}/query`, { where: "1=1", returnCountOnly: true })]);
    const oid = meta.objectIdField || (meta.fields || []).find((f) => f.type === "esriFieldTypeOID")?.name;
    return { meta, oid, count: counted.count || 0 };
  }, [service.restPath, layerId]);
  const rows = useLoad(async () => {
    if (!layer.data) return null;
    const answer = await rest(`${service.restPath}/${layerId}/query`, {
      where: "1=1",
      outFields: "*",
      returnGeometry: false,
      resultOffset: page * PAGE_SIZE,
      resultRecordCount: PAGE_SIZE,
      orderByFields: layer.data.oid || undefined,
    });
    return (answer.features || []).map((f) => f.attributes || {});
  }, [layer.data, page]);
  if (layer.error) return <ErrorMessage error={layer.error} />;
  if (!layer.data) return <Loading what="Loading the layer" />;
  const { meta, count } = layer.data;
  const fields = (meta.fields || []).filter((f) => !HIDDEN.has(f.type));
  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const numeric = (f) => /Integer|Double|Single|OID/.test(f.type);
  return (
    <>
      <p>
        {count} {count === 1 ? "record" : "records"}
        {count ? `; rows ${page * PAGE_SIZE + 1} to ${Math.min(count, (page + 1) * PAGE_SIZE)}` : ""}.
      </p>
      <ErrorMessage error={rows.error} />
      {rows.data ? (
        <div class="table-wrap">
          <table class="attributes">
            <caption class="visually-hidden">
              Attributes of {meta.name}, page {page + 1} of {pages}
            </caption>
            <thead>
              <tr>
                {fields.map((f) => (
                  <th scope="col" class={numeric(f) ? "num" : undefined}>
                    {f.alias || f.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.data.map((row) => (
                <tr>
                  {fields.map((f) => (
                    <td class={numeric(f) ? "num" : undefined}>{show(row[f.name], f)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Loading what="Loading the rows" />
      )}
      <Pager page={page} pages={pages} onPage={setPage} label="Table pages" />
    </>
  );
}

export function AttributeTable({ service, info }) {
  const stopped = info.configuredState === "STOPPED";
  const root = useLoad(() => (stopped ? Promise.resolve(null) : rest(service.restPath)), [service.restPath, stopped]);
  const [chosen, setChosen] = useState(null);
  if (stopped) return <p class="card">The service is stopped: start it to see its table.</p>;
  if (root.error) return <ErrorMessage error={root.error} />;
  if (!root.data) return <Loading what="Loading the layers" />;
  const layers = queryableLayers(root.data);
  if (!layers.length) return <p class="card">This service has no layers with attributes.</p>;
  const layerId = chosen ?? layers[0].id;
  return (
    <section class="card" aria-labelledby="service-table-title">
      <h2 id="service-table-title">Attribute table</h2>
      <div class="filters">
        <Field label="Layer">
          <select name="layer" value={String(layerId)} onChange={(e) => setChosen(Number(e.currentTarget.value))}>
            {layers.map((l) => (
              <option value={String(l.id)}>
                {l.name} ({l.id})
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Rows service={service} layerId={layerId} />
    </section>
  );
}
