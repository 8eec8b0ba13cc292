// The Site page: machines (and adding machines), server directories, data stores, backups,
// usage reports and links to the two directories; one tab each, named in the URL
// (#/site?tab=data), each calling only the public Administrator API.
import { adminUrl, restUrl } from "../api.js";
import { href } from "../router.js";
import { Page } from "../ui.jsx";
import { Machines } from "./site-machines.jsx";
import { Directories } from "./site-directories.jsx";
import { DataStores } from "./site-data.jsx";
import { Backups } from "./site-backup.jsx";
import { UsageReports } from "./site-usage.jsx";

// [query value, label, component]
const TABS = [
  ["machines", "Machines", Machines],
  ["directories", "Directories", Directories],
  ["data", "Data stores", DataStores],
  ["backup", "Backup and restore", Backups],
  ["usage", "Usage reports", UsageReports],
  ["links", "Links", Links],
];

function Links() {
  const origin = location.origin;
  return (
    <section class="card site-tab" aria-labelledby="links-title">
      <h2 id="links-title">Links</h2>
      <ul class="site-links">
        <li>
          <a href={`${adminUrl}/`}>Administrator Directory</a>
          <span class="hint"> ({origin + adminUrl}/): every resource and operation of the Administrator API, as forms.</span>
        </li>
        <li>
          <a href={`${restUrl}/services`}>Services Directory</a>
          <span class="hint"> ({origin + restUrl}/services): the services as clients see them.</span>
        </li>
      </ul>
    </section>
  );
}

export function Site({ route }) {
  const tab = TABS.find(([name]) => name === route?.query?.tab) || TABS[0];
  const Component = tab[2];
  return (
    <Page title="Site">
      <nav class="tabs" aria-label="Site sections">
        {TABS.map(([name, label]) => (
          <a href={href(["site"], { tab: name })} aria-current={name === tab[0] ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <Component />
    </Page>
  );
}
