"""The site store and the log store: the interfaces every backend implements.

The core talks to these interfaces only. SQLite (``geosite.storage.sqlite``) is the default
backend; every backend must pass the shared contract suite in ``geosite.storage.testing``
(and ``geosite.storage.testing_catalog``).

Errors: methods raise ``geosite.errors.Conflict`` when a unique name is taken, and return
None (never raise) for a missing row. Any other failure is a bug in the backend.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

from geosite.core.models import (
    DataItem,
    Folder,
    LogFilter,
    LogRecord,
    Machine,
    Permission,
    Privilege,
    Role,
    ServerDirectory,
    Service,
    ServiceUsage,
    SiteConfiguration,
    UploadItem,
    User,
)
from geosite.errors import GeositeError


class StoreTooNew(GeositeError):
    """A store's layout is newer than this geosite knows: it was upgraded by a newer one."""


class VersionedStore(abc.ABC):
    """A store whose layout carries a version number, raised by migrations on start.

    See ``geosite.storage.migrations`` and docs/upgrading.md.
    """

    @abc.abstractmethod
    def initialize_schema(self) -> None:
        """Create the layout when the store is empty, else apply the migrations it lacks.

        Idempotent (a store at the latest version is not written); raises ``StoreTooNew``
        when the store's version is newer than ``latest_schema_version``."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The version of the layout the store holds (0: empty)."""

    @abc.abstractmethod
    def latest_schema_version(self) -> int:
        """The version of the layout this geosite writes."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """Remove everything the store holds (``deleteSite``): its file, or its schema of the
        database; the store is closed and, used again, starts empty."""


class SiteStore(VersionedStore):
    """Configuration state of one site, shared by all of its machines and workers."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections held by this process."""

    def watch(self, on_change: Callable[[], None]) -> bool:
        """Call ``on_change`` soon after any process changes the store (within a second), when
        the backend announces changes (PostgreSQL: LISTEN/NOTIFY); False when it does not
        (SQLite), and the caller reads again on its own schedule."""
        del on_change
        return False

    # -- site -------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_setting(self, key: str) -> Any | None:
        """Return the JSON value stored under ``key``, or None."""

    @abc.abstractmethod
    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (durably)."""

    @abc.abstractmethod
    def add_setting(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` unless the key holds one already, in one step (workers
        that add at once agree on one value); the value stored, the earlier one if any."""

    @abc.abstractmethod
    def setting_keys(self, prefix: str) -> list[str]:
        """The keys that start with ``prefix`` (exactly, case included), sorted."""

    @abc.abstractmethod
    def delete_setting(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is missing)."""

    # -- users ------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_user(self, user: User) -> None:
        """Add a user; raises Conflict when the name (case-insensitive) exists.

        The store keeps ``user.user_id`` as it is given (core makes a random one for each new
        user): tokens name it, so it must come back unchanged from every read.
        """

    @abc.abstractmethod
    def get_user(self, username: str) -> User | None:
        """Return the user with this name (case-insensitive), or None."""

    @abc.abstractmethod
    def search_users(self, text: str, max_count: int) -> tuple[list[User], bool]:
        """Users whose name, full name or email contains ``text``; (users, has_more)."""

    @abc.abstractmethod
    def set_password(self, username: str, password_hash: str) -> bool:
        """Replace the user's password hash and end its tokens; False when no such user."""

    @abc.abstractmethod
    def bump_token_version(self, username: str) -> None:
        """Invalidate every token of the user by moving its credential version."""

    @abc.abstractmethod
    def user_privilege(self, username: str) -> Privilege | None:
        """The highest privilege among the user's roles, or None when it has none."""

    @abc.abstractmethod
    def add_role(self, rolename: str, description: str, privilege: Privilege) -> None:
        """Create a role; raises Conflict when the name (ignoring case) exists."""

    @abc.abstractmethod
    def add_role_members(self, rolename: str, usernames: Sequence[str]) -> None:
        """Make users members of a role (existing memberships are kept).

        Each user that becomes a member has its credential version moved (its earlier tokens
        end). Raises NotFound when the role or a user does not exist (nothing changes).
        """

    @abc.abstractmethod
    def user_roles(self, username: str) -> list[str]:
        """The names of the user's roles, sorted."""

    @abc.abstractmethod
    def update_user(self, username: str, fullname: str, description: str, email: str) -> bool:
        """Change a user's profile; False when there is no such user."""

    @abc.abstractmethod
    def set_user_disabled(self, username: str, disabled: bool) -> bool:
        """Disable or enable a user (disabling ends its tokens); False when there is none."""

    @abc.abstractmethod
    def rename_user(self, username: str, new_name: str) -> bool:
        """Give a user a new name, with its role memberships, its identifier and the services
        and uploads it owns, and end its tokens; False when there is none.

        Raises Conflict when the new name (ignoring case) belongs to another user.
        """

    @abc.abstractmethod
    def delete_user(self, username: str) -> bool:
        """Remove a user (and its role memberships); False when there was none.

        The services and uploads it owned keep no owner (only administrators manage them), so
        a later user of the same name does not inherit them."""

    @abc.abstractmethod
    def get_role(self, rolename: str) -> Role | None:
        """A role by name (ignoring case), or None."""

    @abc.abstractmethod
    def search_roles(self, text: str, max_count: int) -> tuple[list[Role], bool]:
        """Roles whose name contains ``text`` (all with ""), by name; and whether more exist."""

    @abc.abstractmethod
    def update_role(
        self, rolename: str, *, description: str | None = None, privilege: Privilege | None = None
    ) -> bool:
        """Change a role's description and/or privilege; False when there is no such role.

        Members whose privilege (the highest among their roles) the change moves get their
        credential version moved: their earlier tokens end.
        """

    @abc.abstractmethod
    def delete_role(self, rolename: str) -> bool:
        """Remove a role, its memberships and its permissions; False when there was none.

        Its members' credential versions move: their earlier tokens end.
        """

    @abc.abstractmethod
    def role_members(self, rolename: str) -> list[str]:
        """The usernames in a role, sorted."""

    @abc.abstractmethod
    def remove_role_members(self, rolename: str, usernames: Sequence[str]) -> None:
        """Take users out of a role (those not in it are ignored); the credential version of
        each user taken out moves (its earlier tokens end)."""

    # -- token signing keys -------------------------------------------------------------------
    @abc.abstractmethod
    def add_token_key(self, secret: str) -> int:
        """Store a new signing secret and return its version (it becomes the current one)."""

    @abc.abstractmethod
    def current_token_key(self) -> tuple[int, str] | None:
        """Return (version, secret) of the newest signing key, or None."""

    @abc.abstractmethod
    def token_key(self, version: int) -> str | None:
        """Return the secret of key ``version``, or None when it does not exist."""

    # -- machines and directories ---------------------------------------------------------------
    @abc.abstractmethod
    def add_machine(self, machine: Machine) -> None:
        """Register a machine; raises Conflict when the name exists."""

    @abc.abstractmethod
    def get_machine(self, name: str) -> Machine | None:
        """Return the machine (case-insensitive name), or None."""

    @abc.abstractmethod
    def list_machines(self) -> list[Machine]:
        """Every registered machine, by name."""

    @abc.abstractmethod
    def set_machine_state(self, name: str, state: str) -> bool:
        """Set a machine's configured state (``STARTED``/``STOPPED``); False when there is no
        such machine."""

    @abc.abstractmethod
    def update_machine(self, machine: Machine) -> bool:
        """Store a machine's ``admin_url``, ``platform`` and ``properties`` (its name, state,
        times unchanged); False when there is no such machine."""

    @abc.abstractmethod
    def rename_machine(self, name: str, new_name: str) -> bool:
        """Rename a machine; False when there is none, Conflict when the new name is taken."""

    @abc.abstractmethod
    def remove_machine(self, name: str) -> bool:
        """Unregister a machine; False when there is none."""

    @abc.abstractmethod
    def touch_machine(self, name: str, now_ms: int) -> None:
        """Record that the machine is alive at ``now_ms``."""

    @abc.abstractmethod
    def add_directory(self, directory: ServerDirectory) -> None:
        """Register a server directory; raises Conflict when the name exists."""

    @abc.abstractmethod
    def list_directories(self) -> list[ServerDirectory]:
        """Every registered server directory, by name."""

    @abc.abstractmethod
    def update_directory(self, directory: ServerDirectory) -> bool:
        """Replace the directory of that name (any case; the name is kept as registered);
        False when there is none."""

    @abc.abstractmethod
    def remove_directory(self, name: str) -> bool:
        """Forget the directory of that name (any case; its files stay); False when none."""

    # -- failed logins ----------------------------------------------------------------------------
    @abc.abstractmethod
    def record_login_failure(
        self, keys: Sequence[str], now_ms: int, prune_before_ms: int | None = None
    ) -> None:
        """Record one failed login against each key (an account or a client address).

        Failures of those keys older than ``prune_before_ms`` are forgotten in the same
        transaction, so the table stays small.
        """

    @abc.abstractmethod
    def login_failures(self, key: str, since_ms: int) -> list[int]:
        """Times (ms) of the key's failed logins at or after ``since_ms``, oldest first."""

    @abc.abstractmethod
    def clear_login_failures(self, key: str, before_ms: int | None = None) -> None:
        """Forget the key's failures (all, or those before ``before_ms``)."""

    # -- folders, services and uploads ---------------------------------------------------------
    @abc.abstractmethod
    def add_folder(self, folder: Folder, *, inherit: bool = False) -> None:
        """Create a services folder; raises Conflict when the name (ignoring case) exists.

        With ``inherit`` the folder takes a copy of the root's permissions (resource "") in
        the same transaction, as ArcGIS's folders do when they are made.
        """

    @abc.abstractmethod
    def get_folder(self, name: str) -> Folder | None:
        """The folder with this name (ignoring case), or None."""

    @abc.abstractmethod
    def list_folders(self) -> list[Folder]:
        """Every folder, by name."""

    @abc.abstractmethod
    def add_service(self, service: Service) -> None:
        """Store a new service; raises Conflict when folder, name and type (ignoring case) exist."""

    @abc.abstractmethod
    def publish_service(self, service: Service) -> Service:
        """Store a new service as publishing does, all in one transaction.

        A service in a folder that does not exist creates the folder first (empty
        description, the service's ``created_ms``) with a copy of the root's permissions; the
        service then takes a copy of its folder's permissions (of the root's, in the root).
        Returns the service as stored: its ``folder`` is spelt as the folder is stored.
        Raises Conflict when folder, name and type (ignoring case) exist.
        """

    @abc.abstractmethod
    def get_service(self, folder: str, name: str, type_: str) -> Service | None:
        """The service (names and type ignore case), or None."""

    @abc.abstractmethod
    def list_services(self, folder: str | None = None) -> list[Service]:
        """Services of one folder ("" is the root), or of every folder with None."""

    @abc.abstractmethod
    def update_folder(self, name: str, description: str) -> bool:
        """Change a folder's description; False when there is no such folder."""

    @abc.abstractmethod
    def delete_folder(self, name: str) -> list[Service] | None:
        """Delete a folder with every service in it, as ArcGIS's ``deleteFolder`` does, and the
        permissions of the folder and of anything below it, in one transaction.

        Returns the services deleted (by name), or None when there is no such folder.
        """

    @abc.abstractmethod
    def update_service(
        self,
        folder: str,
        name: str,
        type_: str,
        *,
        definition: dict[str, Any] | None = None,
        configured_state: str | None = None,
        expected: dict[str, Any] | None = None,
    ) -> Service | None:
        """Replace the definition and/or the configured state in one transaction.

        With ``expected``, only when the stored definition is still that one (a read, change
        and write that another writer did not overtake). Returns the service as stored
        afterwards, or None when there is no such service or it changed meanwhile.
        """

    @abc.abstractmethod
    def rename_service(
        self,
        folder: str,
        name: str,
        type_: str,
        new_name: str,
        definition: dict[str, Any],
        expected: dict[str, Any] | None = None,
    ) -> Service | None:
        """Give a service a new name (and the definition that carries it), with its permissions.

        None when there is no such service (or, with ``expected``, when its definition
        changed meanwhile); Conflict when the new name is taken.
        """

    @abc.abstractmethod
    def delete_service(self, folder: str, name: str, type_: str) -> Service | None:
        """Forget a service and its permissions; returns what was stored, or None."""

    # -- permissions ------------------------------------------------------------------------------
    @abc.abstractmethod
    def set_permission(self, resource: str, principal: str, is_allowed: bool) -> None:
        """Allow or deny ``principal`` on ``resource`` ("" for the root, a folder name, or
        ``folder/name.type``), replacing what was set for that pair."""

    @abc.abstractmethod
    def grant_permission(self, resource: str, principal: str, is_allowed: bool) -> bool:
        """``set_permission`` when the resource (the root, a folder, or a service named
        ``folder/name.type``) exists, checked in the same transaction; False (and nothing
        stored) when it does not: a permission never outlives what it is about."""

    @abc.abstractmethod
    def prune_permissions(self) -> int:
        """Forget the permissions of folders and services that no longer exist (left by
        earlier geosite versions when a resource went while it was being changed); how many."""

    @abc.abstractmethod
    def remove_permission(self, resource: str, principal: str) -> bool:
        """Forget the principal's permission on the resource; False when there was none."""

    @abc.abstractmethod
    def list_permissions(self, resource: str | None = None) -> list[Permission]:
        """Permissions of one resource (ignoring case), or all with None; by resource, principal."""

    # -- data store items -------------------------------------------------------------------------
    @abc.abstractmethod
    def add_data_item(self, item: DataItem) -> None:
        """Register a data item; raises Conflict when its path (ignoring case) is taken."""

    @abc.abstractmethod
    def get_data_item(self, path: str) -> DataItem | None:
        """The item at ``path`` (ignoring case), or None."""

    @abc.abstractmethod
    def list_data_items(self) -> list[DataItem]:
        """Every registered item, by path."""

    @abc.abstractmethod
    def delete_data_item(self, path: str) -> bool:
        """Unregister an item; False when there was none."""

    @abc.abstractmethod
    def add_upload(self, item: UploadItem) -> None:
        """Record an uploaded item."""

    @abc.abstractmethod
    def get_upload(self, item_id: str) -> UploadItem | None:
        """An uploaded item, or None."""

    @abc.abstractmethod
    def list_uploads(self) -> list[UploadItem]:
        """Every uploaded item, oldest first."""

    @abc.abstractmethod
    def delete_upload(self, item_id: str) -> bool:
        """Forget an uploaded item; False when there was none."""

    @abc.abstractmethod
    def replace_configuration(self, config: SiteConfiguration) -> None:
        """Replace, all at once or not at all: every user but the primary site administrators
        (kept as they are), the roles and their members, folders, services, permissions and
        data items; and store ``config.settings`` (other settings stay). Members naming a user
        or role that is not there are dropped. Users are stored as given, their identifier and
        credential version included."""


class LogStore(VersionedStore):
    """The site's log records, written by every machine and worker."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections held by this process."""

    @abc.abstractmethod
    def write(self, records: Sequence[LogRecord]) -> None:
        """Append records in one transaction."""

    @abc.abstractmethod
    def add_usage(self, usage: Sequence[ServiceUsage]) -> None:
        """Add per-minute request counts (summed with what the same minute already has)."""

    @abc.abstractmethod
    def usage(self, since_ms: int, services: Sequence[str] | None = None) -> list[ServiceUsage]:
        """Totals per machine and service from ``since_ms`` on (``minute_ms`` is the first
        minute); only the ``services`` keys when given; by machine, then service."""

    @abc.abstractmethod
    def usage_slices(
        self, from_ms: int, to_ms: int, slice_ms: int, machines: Sequence[str] | None = None
    ) -> list[ServiceUsage]:
        """Sums per service, machine and time slice of ``slice_ms`` from ``from_ms`` (included)
        to ``to_ms`` (excluded); ``minute_ms`` is the slice's start; only ``machines`` (any
        case) when given."""

    @abc.abstractmethod
    def delete_usage(self, before_ms: int) -> int:
        """Remove per-minute counts older than ``before_ms``; return how many rows went."""

    @abc.abstractmethod
    def query(
        self,
        *,
        newest_ms: int | None = None,
        oldest_ms: int | None = None,
        levels: Sequence[str] | None = None,
        limit: int = 1000,
        where: LogFilter | None = None,
    ) -> list[LogRecord]:
        """Records between ``oldest_ms`` and ``newest_ms`` (both included) with one of
        ``levels`` and matching ``where``, newest first (ties: last written first)."""

    @abc.abstractmethod
    def delete_logs(self, before_ms: int | None = None) -> int:
        """Remove records older than ``before_ms`` (all with None); return how many."""

    @abc.abstractmethod
    def count_logs(
        self, levels: Sequence[str], machines: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Records with one of ``levels`` per machine (only ``machines`` when given)."""
