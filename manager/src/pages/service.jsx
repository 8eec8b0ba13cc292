import { Page } from "../ui.jsx";

export function Service() {
  return <Page title="Service" />;
}
