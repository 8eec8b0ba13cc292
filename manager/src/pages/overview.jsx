import { Page } from "../ui.jsx";

export function Overview() {
  return <Page title="Overview" />;
}
