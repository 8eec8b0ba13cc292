import { Page } from "../ui.jsx";

export function Publish() {
  return <Page title="Publish" />;
}
