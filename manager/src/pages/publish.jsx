// Publish: drop (or choose) a file, watch it upload (/admin/uploads/upload), then name the
// service, choose its folder (or type a new one: /admin/services/createFolder), its type and
// capabilities (as /admin/services/types lists them), and publish it with
// /admin/services/createService, exactly as a script would. The new service's page follows.
import { useRef, useState } from "preact/hooks";
import { admin, upload } from "../api.js";
import { navigate } from "../router.js";
import { ErrorMessage, Field, Loading, Page, useAction, useLoad } from "../ui.jsx";
import { ROOT } from "./services.jsx";
import { CAPABILITIES } from "./service-properties.jsx";

const ACCEPT = ".zip,.geojson,.json,.gpkg,.csv";
/** The types a file can be published as, in the order offered. */
const PUBLISHABLE = ["FeatureServer", "MapServer"];
/** Folders a service cannot be published into (ArcGIS's own and the site's default). */
const RESERVED = new Set(["system", "utilities"]);
const NEW_FOLDER = "\u0000new";
const DEFAULT_CAPABILITIES = { FeatureServer: ["Query"], MapServer: ["Map", "Query", "Data"] };
const CAPABILITY_HINTS = {
  Editing: "Create, Update and Delete together",
  Data: "features with their geometry from identify and query",
};

/** A valid service name (letters, digits, underscores) from a file name. */
export function nameFromFile(fileName) {
  const stem = fileName.replace(/(\.gdb)?(\.(zip|geojson|json|gpkg|csv))+$/i, "");
  const name = stem.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 120);
  return name || "Service";
}

async function loadChoices() {
  const [root, types] = await Promise.all([admin("/services"), admin("/services/types")]);
  const folders = (root.folders || []).filter((f) => !RESERVED.has(f.toLowerCase()));
  const capabilities = {};
  for (const type of PUBLISHABLE) {
    const found = (types.types || []).find((t) => t.name === type);
    capabilities[type] = found?.capabilities ? found.capabilities.split(",").filter(Boolean) : CAPABILITIES[type];
  }
  return { folders, capabilities };
}

function DropZone({ onFile, disabled }) {
  const [over, setOver] = useState(false);
  const input = useRef(null);
  const take = (files) => {
    if (files && files.length && !disabled) onFile(files[0]);
  };
  return (
    <div
      class={`dropzone${over ? " over" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        take(e.dataTransfer?.files);
      }}
    >
      <p>Drop a file here: a zipped shapefile, GeoJSON, GeoPackage, CSV of points or zipped file geodatabase.</p>
      <Field label="Or choose a file to publish" hint="A CSV needs x/lon/longitude and y/lat/latitude columns (WGS84).">
        <input
          ref={input}
          type="file"
          name="file"
          accept={ACCEPT}
          disabled={disabled}
          onChange={(e) => {
            take(e.currentTarget.files);
            e.currentTarget.value = "";
          }}
        />
      </Field>
    </div>
  );
}

function Progress({ file, fraction }) {
  const percent = Math.round(fraction * 100);
  return (
    <div class="upload-progress">
      <label id="upload-progress-label" for="upload-progress">
        Uploading {file.name}
      </label>
      <progress id="upload-progress" aria-labelledby="upload-progress-label" max={100} value={percent}>
        {percent}%
      </progress>
      <span aria-hidden="true">{percent}%</span>
    </div>
  );
}

function PublishForm({ file, item, choices, onRestart }) {
  const [name, setName] = useState(() => nameFromFile(file.name));
  const [folder, setFolder] = useState("");
  const [newFolder, setNewFolder] = useState("");
  // Folders made by this form: once made, a retry (after createService failed) publishes into it.
  const [made, setMade] = useState([]);
  const [type, setType] = useState("FeatureServer");
  const [capabilities, setCapabilities] = useState(() => new Set(DEFAULT_CAPABILITIES.FeatureServer));
  const [description, setDescription] = useState("");
  const action = useAction();

  const changeType = (next) => {
    setType(next);
    setCapabilities(new Set(DEFAULT_CAPABILITIES[next]));
  };
  const toggle = (capability) => {
    const next = new Set(capabilities);
    if (next.has(capability)) next.delete(capability);
    else next.add(capability);
    setCapabilities(next);
  };

  const submit = async (event) => {
    event.preventDefault();
    const creating = folder === NEW_FOLDER;
    const target = creating ? newFolder.trim() : folder;
    const published = await action.run(async () => {
      if (creating) {
        await admin("/services/createFolder", { folderName: target });
        setMade((list) => [...list, target]);
        setFolder(target);
      }
      const offered = choices.capabilities[type];
      const service = {
        serviceName: name.trim(),
        type,
        folderName: target,
        description,
        capabilities: offered.filter((c) => capabilities.has(c)).join(","),
        properties: { itemID: item.itemID },
      };
      return admin("/services/createService", { service });
    });
    if (published) {
      const where = published.folderName && published.folderName !== "/" ? published.folderName : target;
      navigate(["services", where || ROOT, `${published.serviceName || name.trim()}.${published.type || type}`], { tab: "preview" });
    }
  };

  return (
    <form class="card publish-form" onSubmit={submit} aria-labelledby="publish-form-title">
      <h2 id="publish-form-title">Publish {file.name}</h2>
      <p>
        Uploaded as item <code>{item.itemID}</code>.{" "}
        <button type="button" onClick={onRestart} disabled={action.busy}>
          Choose another file
        </button>
      </p>
      <Field label="Service name" hint="Letters, digits and underscores.">
        <input name="serviceName" required maxLength={120} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Folder">
        <select name="folder" value={folder} onChange={(e) => setFolder(e.currentTarget.value)}>
          <option value="">Root</option>
          {[...choices.folders, ...made.filter((f) => !choices.folders.includes(f))].map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
          <option value={NEW_FOLDER}>A new folder…</option>
        </select>
      </Field>
      {folder === NEW_FOLDER ? (
        <Field label="New folder name" hint="Letters, digits and underscores.">
          <input name="newFolder" required maxLength={120} value={newFolder} onInput={(e) => setNewFolder(e.currentTarget.value)} />
        </Field>
      ) : null}
      <Field label="Type">
        <select name="type" value={type} onChange={(e) => changeType(e.currentTarget.value)}>
          {PUBLISHABLE.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </Field>
      <fieldset>
        <legend>Capabilities</legend>
        {choices.capabilities[type].map((c) => (
          <label class="check">
            <input type="checkbox" name="capabilities" value={c} checked={capabilities.has(c)} onChange={() => toggle(c)} /> {c}
            {CAPABILITY_HINTS[c] ? <span class="hint"> ({CAPABILITY_HINTS[c]})</span> : null}
          </label>
        ))}
      </fieldset>
      <Field label="Description (optional)">
        <textarea name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </Field>
      <ErrorMessage error={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? "Publishing…" : "Publish"}
        </button>
        {action.busy ? <Loading what="Importing the data" /> : null}
      </div>
    </form>
  );
}

export function Publish() {
  const choices = useLoad(loadChoices, []);
  const [file, setFile] = useState(null);
  const [fraction, setFraction] = useState(0);
  const [item, setItem] = useState(null);
  const sending = useAction();

  const send = async (chosen) => {
    setFile(chosen);
    setItem(null);
    setFraction(0);
    const answer = await sending.run(() => upload(chosen, setFraction));
    if (answer) {
      setFraction(1);
      setItem(answer.item);
    }
  };
  const restart = () => {
    setFile(null);
    setItem(null);
    setFraction(0);
    sending.clear();
  };

  return (
    <Page title="Publish a service">
      <ErrorMessage error={choices.error} />
      {!item ? <DropZone onFile={send} disabled={sending.busy} /> : null}
      {file && (sending.busy || item) ? <Progress file={file} fraction={fraction} /> : null}
      {item ? <p role="status">Uploaded {file.name}.</p> : null}
      <ErrorMessage error={sending.error} />
      {item && choices.data ? <PublishForm file={file} item={item} choices={choices.data} onRestart={restart} /> : null}
      {item && choices.loading ? <Loading /> : null}
    </Page>
  );
}
