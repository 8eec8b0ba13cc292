import { Page } from "../ui.jsx";

export function Site() {
  return <Page title="Site" />;
}
