import { Page } from "../ui.jsx";

export function Logs() {
  return <Page title="Logs" />;
}
