// Security: users, roles, the token and password policies, and the site's transport and
// admin-address settings, all through /admin/security (administrators only, as in ArcGIS).
import { href } from "../router.js";
import { Page } from "../ui.jsx";
import { Users } from "./security-users.jsx";
import { Roles } from "./security-roles.jsx";
import { Policies } from "./security-policies.jsx";
import { Settings } from "./security-settings.jsx";

const TABS = [
  ["users", "Users", Users],
  ["roles", "Roles", Roles],
  ["policies", "Policies", Policies],
  ["settings", "Settings", Settings],
];

export function Security({ route }) {
  const chosen = TABS.find(([name]) => name === route.query.tab) || TABS[0];
  const Tab = chosen[2];
  return (
    <Page title="Security">
      <nav class="tabs" aria-label="Security">
        {TABS.map(([name, label]) => (
          <a href={href(["security"], { tab: name })} aria-current={name === chosen[0] ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <div class="security">
        <Tab route={route} />
      </div>
    </Page>
  );
}
