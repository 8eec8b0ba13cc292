// Security › Users: the built-in store's users (users/getUsers, users/search), adding one
// (users/add, with a first role), and a user's page: profile (users/update), roles
// (users/assignRoles, users/removeRoles), a new password (users/update with `password`),
// disabling and enabling (psa/disable and psa/enable for the primary site administrator;
// users/update with geosite's `disabled` for the others) and removal (users/remove). A user's
// tokens end when their password or roles change, or they are disabled or removed: the server
// decides, the Manager only says so.
import { useState } from "preact/hooks";
import { admin, session } from "../api.js";
import { href, navigate } from "../router.js";
import { ErrorMessage, Field, Loading, Notice, useAction, useConfirm, useLoad } from "../ui.jsx";
import { MorePager, PAGE_SIZE, sameName, useForm } from "./security-parts.jsx";

export function Users({ route }) {
  const name = route.query.user;
  return name ? <UserDetail key={name} username={name} /> : <UserList />;
}

const userLink = (username) => href(["security"], { tab: "users", user: username });

async function allRoleNames() {
  const answer = await admin("/security/roles/getRoles", { startIndex: 0, pageSize: 10000 });
  return (answer.roles || []).map((r) => r.rolename);
}

function UserList() {
  const [start, setStart] = useState(0);
  const [typed, setTyped] = useState("");
  const [filter, setFilter] = useState("");
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState("");
  const list = useLoad(async () => {
    const [page, psa] = await Promise.all([
      filter
        ? admin("/security/users/search", { filter, maxCount: 100 })
        : admin("/security/users/getUsers", { startIndex: start, pageSize: PAGE_SIZE }),
      admin("/security/psa"),
    ]);
    return { users: page.users || [], more: Boolean(page.hasMore), psa: psa.username || "" };
  }, [start, filter]);

  const search = (event) => {
    event.preventDefault();
    setStart(0);
    setFilter(typed.trim());
  };
  return (
    <section aria-labelledby="users-title">
      <div class="page-head">
        <h2 id="users-title">Users</h2>
        <button type="button" class="primary" aria-expanded={adding} onClick={() => setAdding(!adding)}>
          Add user
        </button>
      </div>
      {adding ? (
        <AddUser
          onCancel={() => setAdding(false)}
          onAdded={(username) => {
            setAdding(false);
            setAdded(`User ${username} added.`);
            list.reload();
          }}
        />
      ) : null}
      <Notice text={added} />
      <form class="filters" role="search" onSubmit={search}>
        <Field label="Find users" hint="Part of a name">
          <input type="search" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        </Field>
        <button type="submit">Search</button>
        {filter ? (
          <button type="button" onClick={() => { setTyped(""); setFilter(""); setStart(0); }}>
            Show all
          </button>
        ) : null}
      </form>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="Loading users" /> : null}
      {list.data ? (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Users{filter ? ` whose name contains “${filter}”` : ""}</caption>
              <thead>
                <tr>
                  <th scope="col">Username</th>
                  <th scope="col">Full name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Description</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {list.data.users.map((user) => (
                  <tr key={user.username}>
                    <td>
                      <a href={userLink(user.username)}>{user.username}</a>
                    </td>
                    <td>{user.fullname}</td>
                    <td>{user.email}</td>
                    <td>{user.description}</td>
                    <td>
                      {user.disabled ? <span class="badge badge-off">DISABLED</span> : "Enabled"}
                      {sameName(user.username, list.data.psa) ? " · primary site administrator" : ""}
                    </td>
                  </tr>
                ))}
                {list.data.users.length === 0 ? (
                  <tr>
                    <td colSpan={5}>No user{filter ? ` has “${filter}” in its name` : " yet"}.</td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
          {filter ? (
            list.data.more ? <p>More users match: narrow the search.</p> : null
          ) : (
            <MorePager start={start} more={list.data.more} onStart={setStart} label="Pages of users" />
          )}
        </>
      ) : null}
    </section>
  );
}

/** A user's profile fields (adding a user, editing one). */
function ProfileFields({ bind }) {
  return (
    <>
      <Field label="Full name">
        <input autoComplete="off" {...bind("fullname")} />
      </Field>
      <Field label="Email">
        <input type="email" autoComplete="off" {...bind("email")} />
      </Field>
      <Field label="Description">
        <input autoComplete="off" {...bind("description")} />
      </Field>
    </>
  );
}

/** Whether the password and its confirmation differ (then the form says so). */
function passwordsDiffer(values, setMismatch) {
  const differ = values.password !== values.again;
  setMismatch(differ ? new Error("The two passwords differ.") : null);
  return differ;
}

function AddUser({ onAdded, onCancel }) {
  const [values, bind] = useForm({
    username: "",
    password: "",
    again: "",
    fullname: "",
    email: "",
    description: "",
    role: "",
  });
  const roles = useLoad(allRoleNames, []);
  const action = useAction();
  const [mismatch, setMismatch] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    if (passwordsDiffer(values, setMismatch)) return;
    const username = values.username.trim();
    const done = await action.run(async () => {
      const { password, fullname, email, description } = values;
      await admin("/security/users/add", { username, password, fullname, email, description });
      if (values.role) await admin("/security/users/assignRoles", { username, roles: values.role });
      return true;
    });
    if (done) onAdded(username);
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-user-title">
      <h3 id="add-user-title">New user</h3>
      <div class="grid">
        <div>
          <Field label="Username">
            <input required autoComplete="off" {...bind("username")} />
          </Field>
          <Field label="Password" hint="The site's password policy applies.">
            <input type="password" required autoComplete="new-password" {...bind("password")} />
          </Field>
          <Field label="Confirm password">
            <input type="password" required autoComplete="new-password" {...bind("again")} />
          </Field>
        </div>
        <div>
          <ProfileFields bind={bind} />
          <Field label="Role" hint="More roles can be given on the user's page.">
            <select {...bind("role")}>
              <option value="">No role</option>
              {(roles.data || []).map((name) => (
                <option value={name}>{name}</option>
              ))}
            </select>
          </Field>
        </div>
      </div>
      <ErrorMessage error={mismatch || action.error || roles.error} />
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

function UserDetail({ username }) {
  const info = useLoad(async () => {
    const [found, psa, roles, privilege, all] = await Promise.all([
      admin("/security/users/search", { filter: username, maxCount: 10000 }),
      admin("/security/psa"),
      admin("/security/users/getRoles", { username }),
      admin("/security/users/getPrivilege", { username }),
      allRoleNames(),
    ]);
    const user = (found.users || []).find((u) => sameName(u.username, username));
    return {
      user: user || { username, fullname: "", email: "", description: "", disabled: false },
      isPsa: sameName(psa.username, username),
      roles: roles.roles || [],
      privilege: privilege.privilege || "ACCESS",
      all,
    };
  }, [username]);
  const self = sameName(session.user?.name, username);
  return (
    <section aria-labelledby="user-title">
      <p>
        <a href={href(["security"], { tab: "users" })}>All users</a>
      </p>
      <h2 id="user-title">User {username}</h2>
      {self ? (
        <p class="hint">
          You are signed in as this user: a new password or other roles end your session, and you sign in
          again.
        </p>
      ) : null}
      <ErrorMessage error={info.error} />
      {info.loading && !info.data ? <Loading what="Loading the user" /> : null}
      {info.data ? (
        <>
          <Profile key={username} user={info.data.user} onSaved={info.reload} />
          <UserRoles username={username} data={info.data} reload={info.reload} />
          <ResetPassword username={username} />
          <Access username={username} data={info.data} self={self} reload={info.reload} />
        </>
      ) : null}
    </section>
  );
}

function Profile({ user, onSaved }) {
  const [values, bind] = useForm({
    fullname: user.fullname || "",
    email: user.email || "",
    description: user.description || "",
  });
  const action = useAction();
  const submit = async (event) => {
    event.preventDefault();
    const saved = await action.run(
      () => admin("/security/users/update", { username: user.username, ...values }),
      "Profile saved.",
    );
    if (saved) onSaved();
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="profile-title">
      <h3 id="profile-title">Profile</h3>
      <ProfileFields bind={bind} />
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="primary" disabled={action.busy}>
        Save profile
      </button>
    </form>
  );
}

function UserRoles({ username, data, reload }) {
  const action = useAction();
  const [role, setRole] = useState("");
  const others = data.all.filter((name) => !data.roles.some((held) => sameName(held, name)));
  const chosen = others.includes(role) ? role : others[0] || "";
  const assign = async (event) => {
    event.preventDefault();
    if (!chosen) return;
    const done = await action.run(
      () => admin("/security/users/assignRoles", { username, roles: chosen }),
      `Role ${chosen} assigned.`,
    );
    if (done) reload();
  };
  const remove = async (name) => {
    const done = await action.run(
      () => admin("/security/users/removeRoles", { username, roles: name }),
      `Role ${name} removed.`,
    );
    if (done) reload();
  };
  return (
    <section class="card" aria-labelledby="user-roles-title">
      <h3 id="user-roles-title">Roles</h3>
      <p>
        Privilege: <strong>{data.privilege}</strong>
        {data.isPsa ? " (the primary site administrator)" : " (the highest of the user's roles)"}
      </p>
      {data.roles.length ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Roles of {username}</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {data.roles.map((name) => (
                <tr>
                  <td>
                    <a href={href(["security"], { tab: "roles", role: name })}>{name}</a>
                  </td>
                  <td>
                    <button type="button" disabled={action.busy} onClick={() => remove(name)} aria-label={`Remove role ${name}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No role.</p>
      )}
      {others.length ? (
        <form class="filters" onSubmit={assign}>
          <Field label="Role to assign">
            <select value={chosen} onChange={(e) => setRole(e.currentTarget.value)}>
              {others.map((name) => (
                <option value={name}>{name}</option>
              ))}
            </select>
          </Field>
          <button type="submit" disabled={action.busy}>
            Assign role
          </button>
        </form>
      ) : null}
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
    </section>
  );
}

function ResetPassword({ username }) {
  const [values, bind, reset] = useForm({ password: "", again: "" });
  const action = useAction();
  const [mismatch, setMismatch] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    if (passwordsDiffer(values, setMismatch)) return;
    const done = await action.run(
      () => admin("/security/users/update", { username, password: values.password }),
      `The password of ${username} was reset; their earlier sessions have ended.`,
    );
    if (done) reset();
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="password-title">
      <h3 id="password-title">Reset password</h3>
      <Field label="New password" hint="The site's password policy applies.">
        <input type="password" required autoComplete="new-password" {...bind("password")} />
      </Field>
      <Field label="Confirm new password">
        <input type="password" required autoComplete="new-password" {...bind("again")} />
      </Field>
      <ErrorMessage error={mismatch || action.error} />
      <Notice text={action.notice} />
      <button type="submit" class="primary" disabled={action.busy}>
        Reset password
      </button>
    </form>
  );
}

/** Disabling, enabling and removing the account. */
function Access({ username, data, self, reload }) {
  const action = useAction();
  const [dialog, confirm] = useConfirm();
  const who = data.isPsa ? `the primary site administrator ${username}` : `the user ${username}`;
  const setDisabled = (disabled) =>
    data.isPsa
      ? admin(`/security/psa/${disabled ? "disable" : "enable"}`)
      : admin("/security/users/update", { username, disabled });
  const disable = async () => {
    const yes = await confirm(
      `Disable ${who}? It can no longer sign in until enabled again, and its sessions end at once; ` +
        "keep another user with the ADMINISTER privilege.",
      "Disable",
    );
    if (!yes) return;
    if (await action.run(() => setDisabled(true), `${username} is disabled.`)) reload();
  };
  const enable = async () => {
    if (await action.run(() => setDisabled(false), `${username} is enabled.`)) reload();
  };
  const remove = async () => {
    const yes = await confirm(`Delete the user ${username}? This cannot be undone.`, "Delete user");
    if (!yes) return;
    const done = await action.run(() => admin("/security/users/remove", { username }));
    if (done) navigate(["security"], { tab: "users" });
  };
  return (
    <section class="card" aria-labelledby="access-title">
      <h3 id="access-title">Access</h3>
      <p>
        {data.isPsa ? "This is the primary site administrator: it" : "This user"} is{" "}
        <strong>{data.user.disabled ? "disabled" : "enabled"}</strong>. A disabled account cannot sign in; to take away
        only some of what a user may do, change their roles.
      </p>
      {self ? <p>You are signed in as this user: another administrator disables or deletes it.</p> : null}
      <div class="actions" hidden={self}>
        {data.user.disabled ? (
          <button type="button" disabled={action.busy} onClick={enable}>
            Enable
          </button>
        ) : (
          <button type="button" class="danger" disabled={action.busy} onClick={disable}>
            Disable
          </button>
        )}
        {data.isPsa ? null : (
          <button type="button" class="danger" disabled={action.busy} onClick={remove}>
            Delete user
          </button>
        )}
      </div>
      <ErrorMessage error={action.error} />
      <Notice text={action.notice} />
      {dialog}
    </section>
  );
}
