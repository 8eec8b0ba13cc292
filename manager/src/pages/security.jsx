import { Page } from "../ui.jsx";

export function Security() {
  return <Page title="Security" />;
}
