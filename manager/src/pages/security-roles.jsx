// Security › Roles: the built-in store's roles (roles/getRoles, with their privileges from
// roles/getRolesByPrivilege), adding one (roles/add, roles/assignPrivilege), and a role's page:
// description (roles/update), privilege (roles/assignPrivilege), members
// (roles/getUsersWithinRole, addUsersToRole, removeUsersFromRole) and removal (roles/remove).
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { href, navigate } from "../router.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";
import { MorePager, PAGE_SIZE, PRIVILEGES, sameName, useForm } from "./security-parts.jsx";

export function Roles({ route }) {
  const name = route.query.role;
  return name ? <RoleDetail key={name} rolename={name} /> : <RoleList />;
}

const roleLink = (rolename) => href(["security"], { tab: "roles", role: rolename });

/** The privilege of every role that has more than ACCESS, by role name (lower case). */
async function privileges() {
  const found = {};
  for (const level of ["PUBLISH", "ADMINISTER"]) {
    const answer = await admin("/security/roles/getRolesByPrivilege", { privilege: level });
    for (const name of answer.roles || []) found[name.toLowerCase()] = level;
  }
  return found;
}

function PrivilegeSelect({ value, onChange, label = "Privilege" }) {
  return (
    <Field label={label}>
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {PRIVILEGES.map(([level, text]) => (
          <option value={level}>{text}</option>
        ))}
      </select>
    </Field>
  );
}

function RoleList() {
  const [start, setStart] = useState(0);
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState("");
  const list = useLoad(async () => {
    const [page, levels] = await Promise.all([
      admin("/security/roles/getRoles", { startIndex: start, pageSize: PAGE_SIZE }),
      privileges(),
    ]);
    const roles = (page.roles || []).map((r) => ({ ...r, privilege: levels[r.rolename.toLowerCase()] || "ACCESS" }));
    return { roles, more: Boolean(page.hasMore) };
  }, [start]);
  return (
    <section aria-labelledby="roles-title">
      <div class="page-head">
        <h2 id="roles-title">Roles</h2>
        <button type="button" class="primary" aria-expanded={adding} onClick={() => setAdding(!adding)}>
          Add role
        </button>
      </div>
      {adding ? (
        <AddRole
          onCancel={() => setAdding(false)}
          onAdded={(rolename) => {
            setAdding(false);
            setAdded(`Role ${rolename} added.`);
            list.reload();
          }}
        />
      ) : null}
      <Notice text={added} />
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="Loading roles" /> : null}
      {list.data ? (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Roles</caption>
              <thead>
                <tr>
                  <th scope="col">Role</th>
                  <th scope="col">Description</th>
                  <th scope="col">Privilege</th>
                </tr>
              </thead>
              <tbody>
                {list.data.roles.map((role) => (
                  <tr key={role.rolename}>
                    <td>
                      <a href={roleLink(role.rolename)}>{role.rolename}</a>
                    </td>
                    <td>{role.description}</td>
                    <td>{role.privilege}</td>
                  </tr>
                ))}
                {list.data.roles.length === 0 ? (
                  <tr>
                    <td colSpan={3}>No role yet: a role gives its members a privilege and access to services.</td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
          <MorePager start={start} more={list.data.more} onStart={setStart} label="Pages of roles" />
        </>
      ) : null}
    </section>
  );
}

function AddRole({ onAdded, onCancel }) {
  const [values, bind] = useForm({ rolename: "", description: "" });
  const [privilege, setPrivilege] = useState("ACCESS");
  const action = useAction();
  const submit = async (event) => {
    event.preventDefault();
    const rolename = values.rolename.trim();
    const done = await action.run(async () => {
      await admin("/security/roles/add", { rolename, description: values.description });
      if (privilege !== "ACCESS") await admin("/security/roles/assignPrivilege", { rolename, privilege });
      return true;
    });
    if (done) onAdded(rolename);
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-role-title">
      <h3 id="add-role-title">New role</h3>
      <Field label="Role name">
        <input required autoComplete="off" {...bind("rolename")} />
      </Field>
      <Field label="Description">
        <input autoComplete="off" {...bind("description")} />
      </Field>
      <PrivilegeSelect value={privilege} onChange={setPrivilege} />
      <ErrorMessage error={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Add
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function RoleDetail({ rolename }) {
  const info = useLoad(async () => {
    const [privilege, found, members] = await Promise.all([
      admin("/security/roles/getPrivilege", { rolename }),
      admin("/security/roles/search", { filter: rolename, maxCount: 10000 }),
      admin("/security/roles/getUsersWithinRole", { rolename, maxCount: 100000 }),
    ]);
    const role = (found.roles || []).find((r) => sameName(r.rolename, rolename));
    return {
      privilege: privilege.privilege || "ACCESS",
      description: role ? role.description || "" : "",
      members: members.users || [],
    };
  }, [rolename]);
  return (
    <section aria-labelledby="role-title">
      <p>
        <a href={href(["security"], { tab: "roles" })}>All roles</a>
      </p>
      <h2 id="role-title">Role {rolename}</h2>
      <ErrorMessage error={info.error} />
      {info.loading && !info.data ? <Loading what="Loading the role" /> : null}
      {info.data ? (
        <>
          <RoleSettings key={rolename} rolename={rolename} data={info.data} reload={info.reload} />
          <Members rolename={rolename} members={info.data.members} reload={info.reload} />
          <RemoveRole rolename={rolename} count={info.data.members.length} />
        </>
      ) : null}
    </section>
  );
}

function RoleSettings({ rolename, data, reload }) {
  const [description, setDescription] = useState(data.description);
  const [privilege, setPrivilege] = useState(data.privilege);
  const action = useAction();
  const submit = async (event) => {
    event.preventDefault();
    const done = await action.run(async () => {
      if (description !== data.description) await admin("/security/roles/update", { rolename, description });
      if (privilege !== data.privilege) await admin("/security/roles/assignPrivilege", { rolename, privilege });
      return true;
    }, "Role saved. Its members' sessions end when its privilege changes.");
    if (done) reload();
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="role-settings-title">
      <h3 id="role-settings-title">Description and privilege</h3>
      <Field label="Description">
        <input autoComplete="off" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </Field>
      <PrivilegeSelect value={privilege} onChange={setPrivilege} />
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="primary" disabled={action.busy}>
        Save role
      </button>
    </form>
  );
}

function Members({ rolename, members, reload }) {
  const [typed, setTyped] = useState("");
  const action = useAction();
  const users = useLoad(async () => {
    const answer = await admin("/security/users/getUsers", { startIndex: 0, pageSize: 1000 });
    return (answer.users || []).map((u) => u.username);
  }, []);
  const add = async (event) => {
    event.preventDefault();
    const names = typed.split(",").map((n) => n.trim()).filter(Boolean);
    if (!names.length) return;
    const done = await action.run(
      () => admin("/security/roles/addUsersToRole", { rolename, users: names.join(",") }),
      `Added to ${rolename}: ${names.join(", ")}.`,
    );
    if (done) {
      setTyped("");
      reload();
    }
  };
  const remove = async (username) => {
    const done = await action.run(
      () => admin("/security/roles/removeUsersFromRole", { rolename, users: username }),
      `${username} removed from ${rolename}.`,
    );
    if (done) reload();
  };
  return (
    <section class="card" aria-labelledby="members-title">
      <h3 id="members-title">Members</h3>
      {members.length ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Members of {rolename}</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {members.map((username) => (
                <tr>
                  <td>
                    <a href={href(["security"], { tab: "users", user: username })}>{username}</a>
                  </td>
                  <td>
                    <button type="button" disabled={action.busy} onClick={() => remove(username)} aria-label={`Remove ${username} from the role`}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No member.</p>
      )}
      <form class="filters" onSubmit={add}>
        <Field label="Users to add" hint="Usernames, separated by commas">
          <input list="role-user-names" autoComplete="off" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        </Field>
        <datalist id="role-user-names">
          {(users.data || []).filter((n) => !members.some((m) => sameName(m, n))).map((n) => (
            <option value={n} />
          ))}
        </datalist>
        <button type="submit" disabled={action.busy}>
          Add to role
        </button>
      </form>
      <ErrorMessage error={action.error || users.error} />
      <Notice text={action.notice} />
    </section>
  );
}

function RemoveRole({ rolename, count }) {
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const remove = async () => {
    const members = count ? ` Its ${count} member${count > 1 ? "s" : ""} lose what it gives them at once.` : "";
    if (!(await confirm(`Delete the role ${rolename}?${members} This cannot be undone.`, "Delete role"))) return;
    if (await action.run(() => admin("/security/roles/remove", { rolename }))) navigate(["security"], { tab: "roles" });
  };
  return (
    <section class="card" aria-labelledby="remove-role-title">
      <h3 id="remove-role-title">Delete</h3>
      <button type="button" class="danger" disabled={action.busy} onClick={remove}>
        Delete role
      </button>
      <ErrorMessage error={action.error} />
      {dialog}
    </section>
  );
}
