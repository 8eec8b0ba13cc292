"""The catalog part of the ``SiteStore`` contract: folders, services, permissions, data items
and uploads (kept apart from ``geosite.storage.testing`` to keep each module small).

Subclass ``CatalogContract`` beside ``SiteStoreContract`` in a backend's test module.
"""

from __future__ import annotations

import abc
import threading

from geosite.core.models import (
    DataItem,
    Folder,
    Permission,
    Privilege,
    Role,
    Service,
    SiteConfiguration,
    UploadItem,
    User,
)
from geosite.storage.base import SiteStore
from geosite.storage.testing import expect_conflict


class CatalogContract(abc.ABC):
    """Folders, services and uploads, shared by every site store backend."""

    @abc.abstractmethod
    def make_store(self) -> SiteStore:
        """Return a new, empty, initialised store."""

    def test_folders(self) -> None:
        """Folder names are unique ignoring case."""
        store = self.make_store()
        store.add_folder(Folder("Maps", "map services", 1))
        expect_conflict(lambda: store.add_folder(Folder("maps")))
        assert store.get_folder("MAPS") == Folder("Maps", "map services", 1)
        assert store.get_folder("none") is None
        assert [f.name for f in store.list_folders()] == ["Maps"]

    def test_services(self) -> None:
        """Services are keyed by folder, name and type, ignoring case."""
        store = self.make_store()
        one = Service("", "Cities", "FeatureServer", {"maxRecordCount": 2000}, "STARTED", 5)
        store.add_service(one)
        store.add_service(Service("Maps", "Cities", "FeatureServer", {}, "STOPPED", 6))
        store.add_service(Service("", "Cities", "MapServer", {}, "STARTED", 7))
        expect_conflict(lambda: store.add_service(Service("", "CITIES", "featureserver")))
        assert store.get_service("", "cities", "FEATURESERVER") == one
        assert store.get_service("maps", "Cities", "FeatureServer") is not None
        assert store.get_service("Other", "Cities", "FeatureServer") is None
        assert [s.type for s in store.list_services("")] == ["FeatureServer", "MapServer"]
        assert [s.qualified_name for s in store.list_services()] == [
            "Cities",
            "Cities",
            "Maps/Cities",
        ]

    def test_folder_edit_and_delete(self) -> None:
        """A folder is deleted with its services; their permissions go with them."""
        store = self.make_store()
        store.add_folder(Folder("Maps", "", 1))
        store.add_folder(Folder("Maps_2", "", 1))
        assert store.update_folder("maps", "new") and not store.update_folder("none", "x")
        assert store.get_folder("Maps") == Folder("Maps", "new", 1)
        roads = Service("Maps", "Roads", "FeatureServer", {}, "STARTED", 2)
        store.add_service(roads)
        store.add_service(Service("Maps", "Cities", "FeatureServer", {"a": 1}, "STOPPED", 3))
        kept = Service("Maps_2", "Roads", "FeatureServer", {}, "STARTED", 4)
        store.add_service(kept)
        store.set_permission("Maps", "esriEveryone", False)
        store.set_permission(roads.resource, "editors", True)
        store.set_permission("maps/Gone.FeatureServer", "editors", True)  # left by an old bug
        store.set_permission(kept.resource, "editors", True)
        deleted = store.delete_folder("MAPS")
        assert deleted is not None
        assert [(s.name, s.definition) for s in deleted] == [("Cities", {"a": 1}), ("Roads", {})]
        assert store.delete_folder("maps") is None
        assert [f.name for f in store.list_folders()] == ["Maps_2"]
        assert store.list_services() == [kept]
        assert store.list_permissions() == [Permission(kept.resource, "editors", True)]

    def test_publish_service(self) -> None:
        """Publishing stores the service, its missing folder and their inherited permissions
        in one transaction; the service names the folder as stored."""
        store = self.make_store()
        store.set_permission("", "esriEveryone", True)
        store.set_permission("", "viewers", False)
        root = store.publish_service(Service("", "Parks", "FeatureServer", {}, "STARTED", 1))
        assert store.list_permissions(root.resource) == [
            Permission("/Parks.FeatureServer", "esriEveryone", True),
            Permission("/Parks.FeatureServer", "viewers", False),
        ]
        made = store.publish_service(Service("maps", "Roads", "FeatureServer", {}, "STARTED", 7))
        assert made.folder == "maps" and store.get_folder("MAPS") == Folder("maps", "", 7)
        assert [p.principal for p in store.list_permissions("maps")] == ["esriEveryone", "viewers"]
        store.set_permission("Maps", "esriEveryone", False)
        store.set_permission("Maps", "editors", True)
        second = store.publish_service(Service("MAPS", "Rivers", "FeatureServer", {}, "", 8))
        assert second.folder == "maps" and second.resource == "maps/Rivers.FeatureServer"
        assert store.get_service("maps", "rivers", "FeatureServer") == second
        assert store.list_permissions(second.resource) == [
            Permission(second.resource, "editors", True),
            Permission(second.resource, "esriEveryone", False),
            Permission(second.resource, "viewers", False),
        ]
        before = store.list_permissions()
        expect_conflict(
            lambda: store.publish_service(Service("Maps", "RIVERS", "featureserver", {}, "", 9))
        )
        assert store.list_permissions() == before
        store.add_folder(Folder("Open", "", 9), inherit=True)
        assert [p.principal for p in store.list_permissions("open")] == ["esriEveryone", "viewers"]

    def test_grant_and_prune_permissions(self) -> None:
        """A permission is granted only on a resource that exists; pruning forgets the
        permissions of resources that are gone."""
        store = self.make_store()
        store.add_folder(Folder("Maps", "", 1))
        roads = store.publish_service(Service("Maps", "Roads", "FeatureServer", {}, "", 2))
        parks = store.publish_service(Service("", "Parks", "FeatureServer", {}, "", 3))
        assert store.grant_permission("", "viewers", True)
        assert store.grant_permission("MAPS", "viewers", True)
        assert store.grant_permission("maps/roads.featureserver", "viewers", False)
        assert store.grant_permission("/PARKS.FeatureServer", "viewers", True)
        for missing in ("Gone", "Maps/Gone.FeatureServer", "/Roads.FeatureServer", "Maps/x"):
            assert not store.grant_permission(missing, "viewers", True), missing
        assert [(p.principal, p.is_allowed) for p in store.list_permissions(roads.resource)] == [
            ("viewers", False)
        ]
        assert store.prune_permissions() == 0
        store.set_permission("Gone", "viewers", True)
        store.set_permission("Maps/Gone.FeatureServer", "viewers", True)
        assert store.prune_permissions() == 2
        assert [p.resource.lower() for p in store.list_permissions()] == [
            "",
            parks.resource.lower(),
            "maps",
            roads.resource.lower(),
        ]

    def test_publish_and_delete_folder_race(self) -> None:
        """Services published into a folder while the folder is deleted over and over: no
        service is ever left in a folder that does not exist, and no permission of a deleted
        folder or service stays behind."""
        store = self.make_store()
        store.set_permission("", "esriEveryone", True)
        errors: list[BaseException] = []
        stop = threading.Event()

        def publish(worker: int) -> None:
            for n in range(40):
                service = Service("Race", f"S{worker}_{n}", "FeatureServer", {}, "STARTED", n)
                try:
                    store.publish_service(service)
                    store.grant_permission(service.resource, "editors", True)
                except BaseException as exc:
                    errors.append(exc)
            stop.set()

        def delete() -> None:
            while not stop.is_set():
                try:
                    store.delete_folder("race")
                    store.grant_permission("Race", "editors", True)
                except BaseException as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=publish, args=(n,)) for n in range(2)]
        threads.append(threading.Thread(target=delete))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        folders = {f.name.lower() for f in store.list_folders()}
        resources = {"", *folders, *(s.resource.lower() for s in store.list_services())}
        assert all(s.folder.lower() in folders for s in store.list_services())
        assert {p.resource.lower() for p in store.list_permissions()} <= resources
        assert store.prune_permissions() == 0

    def test_service_updates(self) -> None:
        """Definition and state change in place; renames move permissions; deletes return."""
        store = self.make_store()
        store.add_service(Service("", "Roads", "FeatureServer", {"a": 1}, "STARTED", 2, "pub"))
        store.add_service(Service("", "Rivers", "FeatureServer", {}, "STARTED", 3))
        changed = store.update_service("", "roads", "FeatureServer", configured_state="STOPPED")
        assert changed == Service("", "Roads", "FeatureServer", {"a": 1}, "STOPPED", 2, "pub")
        changed = store.update_service("", "Roads", "FeatureServer", definition={"a": 2})
        assert changed is not None and changed.definition == {"a": 2}
        assert changed.configured_state == "STOPPED"
        assert store.update_service("", "None", "FeatureServer", definition={}) is None
        stale = store.update_service("", "Roads", "FeatureServer", definition={}, expected={"a": 1})
        assert stale is None  # it holds {"a": 2} now: nothing changes
        assert store.get_service("", "Roads", "FeatureServer").definition == {"a": 2}  # type: ignore[union-attr]
        assert (
            store.rename_service("", "Roads", "FeatureServer", "Z", {}, expected={"a": 1}) is None
        )
        current = store.update_service(
            "", "Roads", "FeatureServer", definition={"a": 2, "b": 1}, expected={"a": 2}
        )
        assert current is not None and current.definition == {"a": 2, "b": 1}
        changed = store.update_service("", "Roads", "FeatureServer", definition={"a": 2})
        assert changed is not None
        store.set_permission(changed.resource, "editors", True)
        expect_conflict(lambda: store.rename_service("", "Roads", "FeatureServer", "RIVERS", {}))
        renamed = store.rename_service("", "Roads", "FeatureServer", "Streets", {"a": 3})
        assert renamed == Service("", "Streets", "FeatureServer", {"a": 3}, "STOPPED", 2, "pub")
        assert store.get_service("", "Roads", "FeatureServer") is None
        assert store.list_permissions("/Streets.FeatureServer") == [
            Permission("/Streets.FeatureServer", "editors", True)
        ]
        assert store.rename_service("", "Roads", "FeatureServer", "X", {}) is None
        assert store.delete_service("", "streets", "FeatureServer") == renamed
        assert store.delete_service("", "streets", "FeatureServer") is None
        assert store.list_permissions() == []

    def test_permissions(self) -> None:
        """One permission per resource and principal (ignoring case), replaced when set again."""
        store = self.make_store()
        store.set_permission("", "esriEveryone", True)
        store.set_permission("Maps", "analysts", True)
        store.set_permission("maps", "ANALYSTS", False)
        store.set_permission("Maps/Roads.FeatureServer", "esriEveryone", False)
        assert store.list_permissions("MAPS") == [Permission("Maps", "analysts", False)]
        assert [p.resource for p in store.list_permissions()] == [
            "",
            "Maps",
            "Maps/Roads.FeatureServer",
        ]
        assert store.remove_permission("maps", "analysts")
        assert not store.remove_permission("maps", "analysts")
        assert Permission("x", "r").public() == {
            "principal": "r",
            "permission": {"isAllowed": True, "constraint": ""},
            "childURL": "",
            "operation": "",
        }

    def test_data_items(self) -> None:
        """Data items are keyed by path, ignoring case."""
        store = self.make_store()
        item = DataItem("/fileShares/Data", "folder", {"path": "/srv/data"}, None, 3)
        store.add_data_item(item)
        store.add_data_item(DataItem("/fileShares/a", "folder", {}, "/client", 4))
        expect_conflict(lambda: store.add_data_item(DataItem("/FILESHARES/data", "folder")))
        assert store.get_data_item("/fileshares/DATA") == item
        assert [i.path for i in store.list_data_items()] == ["/fileShares/a", "/fileShares/Data"]
        assert store.delete_data_item("/fileShares/data")
        assert not store.delete_data_item("/fileShares/data")
        assert store.get_data_item("/fileShares/Data") is None

    def test_uploads(self) -> None:
        """Uploaded items are recorded, listed and forgotten."""
        store = self.make_store()
        item = UploadItem("i1", "a.zip", "/x/a.zip", 10, 1, "first", "publisher1")
        store.add_upload(item)
        store.add_upload(UploadItem("i2", "b.zip", "/x/b.zip", 20, 2))
        assert store.get_upload("i1") == item
        assert [i.item_id for i in store.list_uploads()] == ["i1", "i2"]
        assert store.delete_upload("i1") and not store.delete_upload("i1")
        assert store.get_upload("i1") is None
        assert "pathOnServer" in item.public() and "/x/" not in str(item.public())

    def test_replace_configuration(self) -> None:
        """A restore replaces everything a backup holds at once and keeps the PSA."""
        store = self.make_store()
        store.add_user(User("psa", "hp", is_psa=True))
        store.add_user(User("old", "ho"))
        store.add_role("oldrole", "", Privilege.ADMINISTER)
        store.add_role_members("oldrole", ["old", "psa"])
        store.add_folder(Folder("Old"))
        store.add_service(Service("Old", "Gone", "FeatureServer", {"a": 1}, "STARTED", 1))
        store.set_permission("Old", "oldrole", True)
        store.add_data_item(DataItem("/fileShares/old", "folder", {"path": "/old"}))
        store.put_setting("kept", 1)
        store.put_setting("logSettings", {"logLevel": "FINE"})
        store.add_upload(UploadItem("u1", "a.zip", "/x/a.zip", 1, 1))
        config = SiteConfiguration(
            settings={"logSettings": {"logLevel": "SEVERE"}},
            users=[User("Ann", "ha", fullname="Ann", token_version=7), User("psa", "evil")],
            roles=[Role("editors", "edit", Privilege.PUBLISH)],
            members=[("editors", "Ann"), ("editors", "psa"), ("editors", "nobody"), ("x", "Ann")],
            folders=[Folder("Maps", "maps", 2)],
            services=[Service("Maps", "Roads", "FeatureServer", {"b": 2}, "STOPPED", 3, "ann")],
            permissions=[Permission("Maps/Roads.FeatureServer", "editors", True)],
            data_items=[DataItem("/fileShares/new", "folder", {"path": "/new"}, None, 4)],
        )
        store.replace_configuration(config)
        psa = store.get_user("psa")
        assert psa is not None and psa.password_hash == "hp" and psa.is_psa  # kept as it was
        assert store.get_user("old") is None
        ann = store.get_user("ann")
        assert ann is not None and ann.fullname == "Ann" and ann.token_version == 7
        assert ann.user_id == config.users[0].user_id  # restored with its identifier
        assert store.get_role("oldrole") is None
        assert store.get_role("EDITORS") == Role("editors", "edit", Privilege.PUBLISH)
        assert sorted(store.role_members("editors")) == ["Ann", "psa"]
        assert [f.name for f in store.list_folders()] == ["Maps"]
        assert store.list_services() == config.services
        assert store.list_permissions() == config.permissions
        assert store.list_data_items() == config.data_items
        assert store.get_setting("logSettings") == {"logLevel": "SEVERE"}
        assert store.get_setting("kept") == 1  # settings not in the backup stay
        assert [u.item_id for u in store.list_uploads()] == ["u1"]  # uploads are not part of it
        broken = SiteConfiguration(folders=[Folder("A"), Folder("a")])  # a duplicate
        expect_conflict(lambda: store.replace_configuration(broken))
        assert [f.name for f in store.list_folders()] == ["Maps"]  # nothing changed
        assert store.list_services() == config.services
