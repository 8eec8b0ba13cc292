"""The contract every ``SiteStore`` and ``LogStore`` backend must pass.

Subclass ``SiteStoreContract`` / ``LogStoreContract`` in a test module and provide a
``make_store`` fixture-like method; pytest collects the inherited tests (Kinto's pattern).
"""

from __future__ import annotations

import abc
from typing import Any

from geosite.core.models import (
    LogFilter,
    LogRecord,
    Machine,
    Privilege,
    Role,
    ServerDirectory,
    Service,
    ServiceUsage,
    UploadItem,
    User,
)
from geosite.errors import Conflict, NotFound
from geosite.storage.base import LogStore, SiteStore


def expect_conflict(action: object) -> None:
    """Run ``action`` and fail unless it raises Conflict."""
    try:
        action()  # type: ignore[operator]
    except Conflict:
        return
    raise AssertionError("expected Conflict")


class SiteStoreContract(abc.ABC):
    """Behaviour shared by every site store backend."""

    @abc.abstractmethod
    def make_store(self) -> SiteStore:
        """Return a new, empty, initialised store."""

    def test_destroy_leaves_an_empty_store(self) -> None:
        """``destroy`` (deleteSite) removes everything; used again, the store starts empty."""
        store = self.make_store()
        store.put_setting("site", {"createdMs": 1})
        store.destroy()
        store.initialize_schema()
        assert store.get_setting("site") is None
        assert store.list_machines() == []
        store.close()

    def test_settings_round_trip(self) -> None:
        """Settings hold JSON values and can be replaced."""
        store = self.make_store()
        assert store.get_setting("missing") is None
        store.put_setting("k", {"a": [1, 2], "b": "x"})
        assert store.get_setting("k") == {"a": [1, 2], "b": "x"}
        store.put_setting("k", 3)
        assert store.get_setting("k") == 3

    def test_add_setting_keeps_the_first_value(self) -> None:
        """``add_setting`` stores a value only where none is, and answers the stored one."""
        store = self.make_store()
        assert store.add_setting("key", {"first": 1}) == {"first": 1}
        assert store.add_setting("key", {"second": 2}) == {"first": 1}
        assert store.get_setting("key") == {"first": 1}
        store.put_setting("key", 3)
        assert store.add_setting("key", 4) == 3

    def test_setting_keys_and_deletion(self) -> None:
        """Keys are listed by prefix (exactly: case and wildcards are plain characters)."""
        store = self.make_store()
        for key in ("job:b", "job:a", "Job:c", "jobs", "job%x", "other"):
            store.put_setting(key, 1)
        assert store.setting_keys("job:") == ["job:a", "job:b"]
        assert store.setting_keys("job%") == ["job%x"]
        assert store.setting_keys("none:") == []
        store.delete_setting("job:a")
        store.delete_setting("job:missing")
        assert store.setting_keys("job:") == ["job:b"]
        assert store.get_setting("job:a") is None and store.get_setting("other") == 1

    def test_users(self) -> None:
        """Users are unique ignoring case, searchable, and carry a credential version."""
        store = self.make_store()
        store.add_user(User("Alice", "h1", fullname="Alice Liddell", email="a@example.org"))
        store.add_user(User("bob", "h2"))
        expect_conflict(lambda: store.add_user(User("ALICE", "h3")))
        alice = store.get_user("alice")
        assert alice is not None and alice.username == "Alice" and alice.password_hash == "h1"
        assert store.get_user("nobody") is None
        found, more = store.search_users("lidd", 10)
        assert [u.username for u in found] == ["Alice"] and not more
        found, more = store.search_users("", 1)
        assert len(found) == 1 and more
        assert store.search_users("%", 10)[0] == []
        store.bump_token_version("alice")
        assert store.get_user("Alice").token_version == 2  # type: ignore[union-attr]
        assert store.set_password("alice", "h9")
        changed = store.get_user("alice")
        assert changed is not None and changed.password_hash == "h9"
        assert changed.token_version == 3
        assert not store.set_password("nobody", "h")
        assert store.user_privilege("alice") is None

    def test_user_identifiers_never_repeat(self) -> None:
        """A user keeps the identifier it was given; another user, or one made again under a
        removed user's name (in another case), has another."""
        store = self.make_store()
        first = User("alice", "h")
        store.add_user(first)
        store.add_user(User("bob", "h"))
        alice, bob = store.get_user("ALICE"), store.get_user("bob")
        assert alice is not None and bob is not None
        assert alice.user_id == first.user_id and len(alice.user_id) == 32
        assert bob.user_id != alice.user_id
        assert store.set_password("alice", "h2") and store.set_user_disabled("alice", True)
        assert store.rename_user("alice", "Alicia") and store.rename_user("Alicia", "alice")
        assert store.get_user("alice").user_id == first.user_id  # type: ignore[union-attr]
        assert store.delete_user("alice")
        store.add_user(User("ALICE", "h"))
        again = store.get_user("alice")
        assert again is not None and again.user_id not in (first.user_id, bob.user_id)
        assert [u.user_id for u in store.search_users("alice", 10)[0]] == [again.user_id]

    def test_role_changes_end_the_members_tokens(self) -> None:
        """Joining or leaving a role, its removal, and a privilege change that moves a member's
        own privilege move the member's credential version; nothing else does."""
        store = self.make_store()
        for name in ("ann", "bob", "cy"):
            store.add_user(User(name, "h"))
        store.add_role("Editors", "", Privilege.ACCESS)
        store.add_role("Admins", "", Privilege.ADMINISTER)

        def versions() -> list[int]:
            found = [store.get_user(name) for name in ("ann", "bob", "cy")]
            return [u.token_version for u in found if u is not None]

        store.add_role_members("editors", ["ANN", "bob"])
        assert versions() == [2, 2, 1]
        store.add_role_members("Editors", ["ann"])  # already a member: no change
        store.add_role_members("Admins", ["bob"])
        assert versions() == [2, 3, 1]
        store.update_role("Editors", description="d")
        store.update_role("Editors", privilege=Privilege.PUBLISH)  # bob stays ADMINISTER
        assert versions() == [3, 3, 1]
        store.update_role("Editors", privilege=Privilege.PUBLISH)  # the same: no change
        store.remove_role_members("Editors", ["ann", "cy"])  # cy was not in it
        assert versions() == [4, 3, 1]
        store.delete_role("admins")
        assert versions() == [4, 4, 1]
        try:
            store.add_role_members("Editors", ["cy", "nobody"])
        except NotFound:
            pass
        else:
            raise AssertionError("a missing user was made a member")
        assert versions() == [4, 4, 1]  # refused as a whole: nothing moved

    def test_roles(self) -> None:
        """Role members get the role's privilege; names ignore case."""
        store = self.make_store()
        store.add_user(User("Alice", "h"))
        store.add_user(User("Bob", "h"))
        store.add_role("Editors", "", Privilege.ACCESS)
        store.add_role("Publishers", "", Privilege.PUBLISH)
        expect_conflict(lambda: store.add_role("EDITORS", "", Privilege.ACCESS))
        store.add_role_members("editors", ["alice", "bob"])
        store.add_role_members("Publishers", ["ALICE"])
        store.add_role_members("Editors", ["alice"])  # again: no error, no duplicate
        assert store.user_roles("alice") == ["Editors", "Publishers"]
        assert store.user_roles("bob") == ["Editors"] and store.user_roles("carol") == []
        assert store.user_privilege("Alice") == Privilege.PUBLISH
        try:
            store.add_role_members("Editors", ["carol"])
        except NotFound:
            pass
        else:
            raise AssertionError("a missing user was made a member")
        assert store.user_roles("carol") == []
        assert store.role_members("EDITORS") == ["Alice", "Bob"]
        store.remove_role_members("editors", ["bob", "nobody"])
        assert store.role_members("Editors") == ["Alice"]
        assert store.get_role("publishers") == Role("Publishers", "", Privilege.PUBLISH)
        assert store.get_role("none") is None
        assert store.update_role("editors", description="edit", privilege=Privilege.ADMINISTER)
        assert not store.update_role("none", description="x")
        assert store.get_role("Editors") == Role("Editors", "edit", Privilege.ADMINISTER)
        found, more = store.search_roles("", 1)
        assert [r.rolename for r in found] == ["Editors"] and more
        assert store.search_roles("_", 10) == ([], False)  # LIKE wildcards are literal
        store.set_permission("", "Editors", True)
        assert store.delete_role("EDITORS") and not store.delete_role("editors")
        assert store.user_roles("alice") == ["Publishers"] and store.list_permissions("") == []

    def test_user_profile_and_removal(self) -> None:
        """Profiles change in place; a removed user leaves its roles."""
        store = self.make_store()
        store.add_user(User("Alice", "h"))
        store.add_role("Editors", "", Privilege.ACCESS)
        store.add_role_members("Editors", ["alice"])
        assert store.update_user("alice", "Alice A", "desc", "a@example.com")
        assert not store.update_user("nobody", "", "", "")
        changed = store.get_user("Alice")
        assert changed is not None and (changed.fullname, changed.email) == (
            "Alice A",
            "a@example.com",
        )
        assert store.set_user_disabled("alice", True) and not store.set_user_disabled("x", True)
        disabled = store.get_user("alice")
        assert disabled is not None and disabled.disabled
        assert disabled.token_version == 3  # it joined Editors, then was disabled
        store.add_user(User("Bob", "h"))
        expect_conflict(lambda: store.rename_user("alice", "BOB"))
        assert store.rename_user("alice", "Alicia") and not store.rename_user("alice", "x")
        assert store.role_members("Editors") == ["Alicia"] and store.get_user("alice") is None
        renamed = store.get_user("alicia")
        assert renamed is not None and renamed.token_version == 4
        assert store.rename_user("Alicia", "Alice")
        assert store.delete_user("ALICE") and not store.delete_user("alice")
        assert store.get_user("alice") is None and store.role_members("Editors") == []

    def test_owned_content_follows_its_user(self) -> None:
        """A renamed user keeps its services and uploads; a removed user's are nobody's, so a
        new user of the old name (in any case) does not inherit them."""
        store = self.make_store()
        store.add_user(User("alice", "h"))
        store.add_service(Service("", "Parks", "FeatureServer", {}, "STARTED", 1, "Alice"))
        store.add_upload(UploadItem("u1", "a.zip", "/x/a.zip", 1, 1, "", "alice"))
        store.add_service(Service("", "Roads", "FeatureServer", {}, "STARTED", 1, "bob"))
        assert store.rename_user("ALICE", "Alicia")
        assert store.get_service("", "Parks", "FeatureServer").owner == "Alicia"  # type: ignore[union-attr]
        assert store.get_upload("u1").owner == "Alicia"  # type: ignore[union-attr]
        store.add_user(User("ALICE", "h"))
        assert store.delete_user("alicia")
        assert store.get_service("", "Parks", "FeatureServer").owner == ""  # type: ignore[union-attr]
        assert store.get_upload("u1").owner == ""  # type: ignore[union-attr]
        assert store.get_service("", "Roads", "FeatureServer").owner == "bob"  # type: ignore[union-attr]

    def test_token_keys(self) -> None:
        """The newest key is current; old versions stay readable until removed."""
        store = self.make_store()
        assert store.current_token_key() is None
        first = store.add_token_key("one")
        second = store.add_token_key("two")
        assert second > first
        assert store.current_token_key() == (second, "two")
        assert store.token_key(first) == "one"
        assert store.token_key(9999) is None

    def test_machines_and_directories(self) -> None:
        """Machines and directories are registered once and listed by name."""
        store = self.make_store()
        machine = Machine("M1", "http://m1:6080/arcgis/admin", 1, 1, properties={"p": 1})
        store.add_machine(machine)
        expect_conflict(lambda: store.add_machine(machine))
        store.touch_machine("m1", 42)
        got = store.get_machine("m1")
        assert got is not None and got.last_seen_ms == 42 and got.properties == {"p": 1}
        assert [m.name for m in store.list_machines()] == ["M1"]
        assert store.set_machine_state("m1", "STOPPED")
        stopped = store.get_machine("M1")
        assert stopped is not None and stopped.configured_state == "STOPPED"
        assert stopped.last_seen_ms == 42 and stopped.properties == {"p": 1}
        assert not store.set_machine_state("nobody", "STOPPED")
        edited = Machine("m1", "https://m1:6443/arcgis/admin", 0, 0, "Linux", properties={"q": 2})
        assert store.update_machine(edited)
        got = store.get_machine("M1")
        assert got is not None and (got.name, got.admin_url, got.platform) == (
            "M1",
            "https://m1:6443/arcgis/admin",
            "Linux",
        )
        assert got.properties == {"q": 2} and got.last_seen_ms == 42  # times kept
        assert got.configured_state == "STOPPED"
        assert not store.update_machine(Machine("nobody", "x", 0, 0))
        store.add_machine(Machine("M2", "http://m2:6080/arcgis/admin", 1, 1))
        expect_conflict(lambda: store.rename_machine("m1", "m2"))
        assert store.rename_machine("m1", "M3")
        assert [m.name for m in store.list_machines()] == ["M2", "M3"]
        assert not store.rename_machine("nobody", "M4")
        assert store.remove_machine("m3") and not store.remove_machine("m3")
        assert [m.name for m in store.list_machines()] == ["M2"]
        directory = ServerDirectory("arcgiscache", "/tmp/cache", "CACHE")
        store.add_directory(directory)
        expect_conflict(lambda: store.add_directory(directory))
        assert store.list_directories() == [directory]
        moved = ServerDirectory("ArcGISCache", "/tmp/elsewhere", "CACHE", "NONE", 5, "moved")
        assert store.update_directory(moved)
        assert store.list_directories() == [
            ServerDirectory("arcgiscache", "/tmp/elsewhere", "CACHE", "NONE", 5, "moved")
        ]
        assert not store.update_directory(ServerDirectory("nope", "/tmp/n", "CACHE"))
        assert store.remove_directory("ARCGISCACHE") and not store.remove_directory("arcgiscache")
        assert store.list_directories() == []

    def test_login_failures(self) -> None:
        """Failures are counted per key inside a time window and can be cleared."""
        store = self.make_store()
        store.record_login_failure(["user:a", "addr:1"], 100)
        store.record_login_failure(["user:a"], 200)
        assert store.login_failures("user:a", 0) == [100, 200]
        assert store.login_failures("user:a", 150) == [200]
        assert store.login_failures("addr:1", 0) == [100]
        store.clear_login_failures("user:a", before_ms=150)
        assert store.login_failures("user:a", 0) == [200]
        store.clear_login_failures("user:a")
        assert store.login_failures("user:a", 0) == []
        store.record_login_failure(["user:b"], 100)
        store.record_login_failure(["user:b"], 500, prune_before_ms=300)
        assert store.login_failures("user:b", 0) == [500]

    def test_schema_version(self) -> None:
        """A new store is at the latest version; initialising it again changes nothing."""
        store = self.make_store()
        assert store.schema_version() == store.latest_schema_version() >= 1
        store.put_setting("k", "v")
        store.initialize_schema()
        assert store.schema_version() == store.latest_schema_version()
        assert store.get_setting("k") == "v"

    def test_privilege_enum_is_ordered(self) -> None:
        """ADMINISTER includes PUBLISH includes ACCESS."""
        assert Privilege.ADMINISTER > Privilege.PUBLISH > Privilege.ACCESS


class LogStoreContract(abc.ABC):
    """Behaviour shared by every log store backend."""

    @abc.abstractmethod
    def make_log_store(self) -> LogStore:
        """Return a new, empty, initialised log store."""

    def test_log_destroy_leaves_an_empty_store(self) -> None:
        """``destroy`` (deleteSite) removes every record; used again, the store starts empty."""
        store = self.make_log_store()
        store.write([LogRecord(1000, "INFO", 1, "Server", "M", "x")])
        store.destroy()
        store.initialize_schema()
        assert store.query(limit=10) == []
        store.close()

    def test_log_schema_version(self) -> None:
        """A new log store is at the latest version; initialising it again changes nothing."""
        store = self.make_log_store()
        assert store.schema_version() == store.latest_schema_version() >= 1
        store.initialize_schema()
        assert store.schema_version() == store.latest_schema_version()

    def test_write_and_query(self) -> None:
        """Records come back newest first, filtered by time window and level."""
        store = self.make_log_store()
        records = [
            LogRecord(
                time_ms=t,
                level=level,
                code=7100,
                source="Admin",
                machine="M",
                message=f"m{t}",
                user="u",
                elapsed_ms=1.5,
                request_id="r",
            )
            for t, level in ((10, "FINE"), (20, "WARNING"), (30, "SEVERE"))
        ]
        store.write(records)
        assert [r.time_ms for r in store.query()] == [30, 20, 10]
        assert [r.time_ms for r in store.query(newest_ms=25, oldest_ms=15)] == [20]
        assert [r.level for r in store.query(levels=["SEVERE", "WARNING"])] == ["SEVERE", "WARNING"]
        assert store.query(limit=1)[0] == records[2]

    def test_filters_count_and_delete(self) -> None:
        """Each filter key narrows; services match service sources, servers the others."""
        store = self.make_log_store()
        rows = [
            # time, level, code, source, machine, process, user, request id
            (1, "SEVERE", 7500, "Maps/Cities.FeatureServer", "A", 11, "ann", "r1"),
            (2, "WARNING", 7101, "Rest", "A", 11, "", "r2"),
            (3, "INFO", 7200, "Admin", "B", 22, "bob", "r3"),
            (4, "SEVERE", 7500, "Roads.MapServer", "b", 22, "", "r4"),
            (5, "FINE", 7100, "Server", "C", 33, "ann", "r5"),
        ]
        store.write(
            [
                LogRecord(t, lvl, code, src, m, f"m{t}", process=p, user=u, request_id=r)
                for t, lvl, code, src, m, p, u, r in rows
            ]
        )

        def times(**where: Any) -> list[int]:
            return [r.time_ms for r in store.query(where=LogFilter(**where))]

        assert times() == [5, 4, 3, 2, 1]
        assert times(codes=(7500,)) == [4, 1]
        assert times(process_ids=(22, 33)) == [5, 4, 3]
        assert times(request_ids=("r2",)) == [2]
        assert times(machines=("B",)) == [4, 3]  # machine names ignore case
        assert times(users=("ANN",)) == [5, 1]
        assert times(services=("maps/cities.featureserver",)) == [5, 3, 2, 1]
        assert times(servers=("Rest",)) == [4, 2, 1]
        assert times(services=("Roads.MapServer",), servers=("Admin",)) == [4, 3]
        assert times(services=(), servers=()) == []
        assert times(codes=()) == []
        assert store.count_logs(["SEVERE"]) in ({"A": 1, "b": 1}, {"A": 1, "B": 1})
        assert store.count_logs(["SEVERE"], ["a"]) == {"A": 1}
        assert store.delete_logs(before_ms=3) == 2
        assert [r.time_ms for r in store.query()] == [5, 4, 3]
        assert store.delete_logs() == 3 and store.query() == []

    def test_usage_slices(self) -> None:
        """Per-minute counts summed into slices per service and machine; old minutes go."""
        store = self.make_log_store()
        minute = 60_000
        store.add_usage(
            [
                ServiceUsage("A", "/roads.featureserver", 0, 2, 1, 30.0, 20.0),
                ServiceUsage("A", "/roads.featureserver", minute, 3, 0, 30.0, 15.0),
                ServiceUsage("B", "/roads.featureserver", minute, 1, 0, 5.0, 5.0),
                ServiceUsage("A", "/roads.featureserver", 2 * minute, 4, 0, 8.0, 2.0),
                ServiceUsage("A", "maps/cities.mapserver", 3 * minute, 1, 1, 1.0, 1.0),
            ]
        )
        slices = store.usage_slices(0, 3 * minute, 2 * minute)
        assert slices == [
            ServiceUsage("A", "/roads.featureserver", 0, 5, 1, 60.0, 20.0),
            ServiceUsage("B", "/roads.featureserver", 0, 1, 0, 5.0, 5.0),
            ServiceUsage("A", "/roads.featureserver", 2 * minute, 4, 0, 8.0, 2.0),
        ]
        only_b = store.usage_slices(0, 4 * minute, 4 * minute, machines=["b"])
        assert only_b == [ServiceUsage("B", "/roads.featureserver", 0, 1, 0, 5.0, 5.0)]
        assert store.delete_usage(2 * minute) == 3
        assert [u.minute_ms for u in store.usage_slices(0, 10 * minute, minute)] == [
            2 * minute,
            3 * minute,
        ]

    def test_usage_slices_of_whole_hours(self) -> None:
        """Hour slices from an hour read hours, and the last partial hour's minutes; the same
        sums as minute by minute."""
        store = self.make_log_store()
        minute, hour = 60_000, 3_600_000
        store.add_usage([ServiceUsage("A", "/s.featureserver", m * minute, 1) for m in range(180)])
        store.add_usage([ServiceUsage("a", "/s.featureserver", 5 * minute, 2, 1, 9.0, 9.0)])

        def counts(to_ms: int, slice_ms: int) -> list[int]:
            return [u.requests for u in store.usage_slices(0, to_ms, slice_ms)]

        assert counts(150 * minute, hour) == [62, 60, 30]
        assert counts(150 * minute, 30 * minute) == [32, 30, 30, 30, 30]
        assert counts(3 * hour, 3 * hour) == [182]
        assert store.usage_slices(0, hour, hour, machines=["a"])[0].failures == 1
