import { Page } from "../ui.jsx";

export function Services() {
  return <Page title="Services" />;
}
