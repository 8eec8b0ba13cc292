// Hash routes (#/services/Folder/Name.FeatureServer?tab=table): a reload keeps the page, and
// the server has one page to serve.
import { useEffect, useState } from "preact/hooks";

/** A part of the path, decoded; a malformed escape (#/services/%E0) stays as it was typed. */
function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function parse() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decoded);
  return { path, parts, query: Object.fromEntries(new URLSearchParams(search)) };
}

/** The current route; re-renders the caller when it changes. */
export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const changed = () => setRoute(parse());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** A link target for route parts (each part encoded) and an optional query. */
export function href(parts, query) {
  const path = "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
  const search = query ? new URLSearchParams(query).toString() : "";
  return search ? `${path}?${search}` : path;
}

export function navigate(parts, query) {
  location.hash = href(parts, query).slice(1);
}
