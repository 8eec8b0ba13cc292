"""``site.services``: folders, services, their state, definitions, permissions and publishing."""

from __future__ import annotations

import builtins
import contextlib
import fnmatch
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosite.client._errors import ClientError, NotFound
from geosite.client._jobs import Jobs
from geosite.client._session import Progress, Session

if TYPE_CHECKING:
    from geosite.client._resources import Uploads

#: The folder ArcGIS keeps its own utility services in (listed, never selected by patterns).
SYSTEM_FOLDERS = frozenset({"system", "utilities"})


@dataclass(frozen=True, order=True)
class ServiceRef:
    """A service by folder, name and type: ``Maps/Cities.FeatureServer``."""

    folder: str
    name: str
    type: str

    @property
    def path(self) -> str:
        """``folder/name.type`` (``name.type`` in the root folder)."""
        prefix = f"{self.folder}/" if self.folder else ""
        return f"{prefix}{self.name}.{self.type}"

    @property
    def admin_path(self) -> str:
        """Its resource below the site root: ``admin/services/Maps/Cities.FeatureServer``."""
        return f"admin/services/{self.path}"

    @property
    def rest_path(self) -> str:
        """Its REST endpoint below the site root: ``rest/services/Maps/Cities/FeatureServer``."""
        prefix = f"{self.folder}/" if self.folder else ""
        return f"rest/services/{prefix}{self.name}/{self.type}"

    def __str__(self) -> str:
        return self.path

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        """``Maps/Cities.FeatureServer`` (the type is required; see ``Services.find``)."""
        folder, _, leaf = text.strip().strip("/").rpartition("/")
        name, dot, kind = leaf.rpartition(".")
        if not dot or not name or not kind or "/" in folder:
            raise ClientError(f"Not a service path: {text!r} (expected [folder/]name.type).")
        return cls("" if folder.lower() in ("", "root") else folder, name, kind)


def _ref(entry: dict[str, Any], folder: str) -> ServiceRef:
    where = str(entry.get("folderName") or folder or "")
    return ServiceRef("" if where == "/" else where, str(entry["serviceName"]), str(entry["type"]))


class Services:
    """The services of a site, through ``/admin/services``."""

    def __init__(self, session: Session, uploads: Uploads, jobs: Jobs | None = None) -> None:
        self._session = session
        self._uploads = uploads
        self._jobs = jobs or Jobs(session)

    # -- listing ----------------------------------------------------------------------------

    def folders(self) -> list[str]:
        """The folder names, without the root folder (``System`` included when the site has it)."""
        return [str(f) for f in self._session.get_json("admin/services").get("folders", [])]

    def folder_details(self) -> builtins.list[dict[str, Any]]:
        """Each folder's ``folderName`` and ``description`` (``foldersDetail``)."""
        root = self._session.get_json("admin/services")
        details = root.get("foldersDetail")
        if isinstance(details, builtins.list):
            return [dict(d) for d in details if isinstance(d, dict)]
        return [{"folderName": str(f), "description": ""} for f in root.get("folders", [])]

    def list(self, folder: str | None = None) -> list[ServiceRef]:
        """The services of one folder (``""`` or ``"/"`` for the root), or of all when ``None``."""
        if folder is not None:
            where = folder.strip("/")
            path = f"admin/services/{where}" if where else "admin/services"
            listing = self._session.get_json(path)
            return sorted(_ref(s, where) for s in listing.get("services", []))
        root = self._session.get_json("admin/services")
        found = [_ref(s, "") for s in root.get("services", [])]
        for name in root.get("folders", []):
            if str(name).lower() in SYSTEM_FOLDERS:
                continue
            listing = self._session.get_json(f"admin/services/{name}")
            found.extend(_ref(s, str(name)) for s in listing.get("services", []))
        return sorted(found)

    def find(self, path: str) -> ServiceRef:
        """The service ``[folder/]name[.type]`` names (its type found when left out)."""
        text = path.strip().strip("/")
        folder, _, leaf = text.rpartition("/")
        if "." in leaf:
            wanted = ServiceRef.parse(text)
            candidates = [
                s for s in self.list(wanted.folder) if s.path.lower() == wanted.path.lower()
            ]
        else:
            candidates = [s for s in self.list(folder) if s.name.lower() == leaf.lower()]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise NotFound(404, [f"Service '{text}' not found."])
        kinds = ", ".join(s.type for s in candidates)
        raise ClientError(f"'{text}' names several services ({kinds}): add the type.")

    def match(self, patterns: Iterable[str]) -> builtins.list[ServiceRef]:
        """The services any glob names: ``Maps/*``, ``*/Roads*``, ``Parks`` or ``*.MapServer``.

        A pattern is compared, ignoring case, with ``folder/name.type`` and ``folder/name``;
        one without a ``/`` also with the root folder's services alone.
        """
        wanted = [p.strip().strip("/").lower() for p in patterns if p.strip()]
        if not wanted:
            return []
        found = []
        for service in self.list():
            names = {service.path.lower(), service.path.lower().rsplit(".", 1)[0]}
            if any(fnmatch.fnmatchcase(n, p) for n in names for p in wanted):
                found.append(service)
        return found

    # -- one service ------------------------------------------------------------------------

    def _resolve(self, service: ServiceRef | str) -> ServiceRef:
        return service if isinstance(service, ServiceRef) else self.find(service)

    def get(self, service: ServiceRef | str) -> dict[str, Any]:
        """The service's definition (the JSON ``edit`` takes)."""
        return dict(self._session.get_json(self._resolve(service).admin_path))

    def status(self, service: ServiceRef | str) -> dict[str, Any]:
        """``configuredState`` and ``realTimeState``."""
        return dict(self._session.get_json(self._resolve(service).admin_path + "/status"))

    def start(self, service: ServiceRef | str) -> None:
        """Start the service."""
        self._session.post_json(self._resolve(service).admin_path + "/start")

    def stop(self, service: ServiceRef | str) -> None:
        """Stop the service: its REST requests are refused until it is started."""
        self._session.post_json(self._resolve(service).admin_path + "/stop")

    def restart(self, service: ServiceRef | str) -> None:
        """Stop and start the service."""
        ref = self._resolve(service)
        self.stop(ref)
        self.start(ref)

    def delete(self, service: ServiceRef | str) -> None:
        """Delete the service and the data the site holds for it."""
        self._session.post_json(self._resolve(service).admin_path + "/delete")

    def edit(self, service: ServiceRef | str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``changes`` to the definition (``properties`` merged key by key); returns it."""
        ref = self._resolve(service)
        definition = self.get(ref)
        for key, value in changes.items():
            if key == "properties" and isinstance(value, dict):
                definition["properties"] = {**(definition.get("properties") or {}), **value}
            else:
                definition[key] = value
        self.replace(ref, definition)
        return definition

    def replace(self, service: ServiceRef | str, definition: dict[str, Any]) -> None:
        """Replace the whole definition (``edit``)."""
        ref = self._resolve(service)
        self._session.post_json(ref.admin_path + "/edit", {"service": json.dumps(definition)})

    def statistics(self, service: ServiceRef | str) -> dict[str, Any]:
        """The service's statistics (``summary`` and per machine)."""
        return dict(self._session.get_json(self._resolve(service).admin_path + "/statistics"))

    def item_info(self, service: ServiceRef | str) -> dict[str, Any]:
        """The service's item information (title, summary, tags ...)."""
        return dict(self._session.get_json(self._resolve(service).admin_path + "/iteminfo"))

    # -- permissions ------------------------------------------------------------------------

    @staticmethod
    def _permission_path(target: ServiceRef | str) -> str:
        if isinstance(target, ServiceRef):
            return target.admin_path
        folder = target.strip("/")
        return f"admin/services/{folder}" if folder else "admin/services"

    def permissions(self, target: ServiceRef | str) -> builtins.list[dict[str, Any]]:
        """The permissions set on a service, or on a folder given by name (``""``: the root)."""
        path = self._permission_path(target) + "/permissions"
        return list(self._session.get_json(path).get("permissions", []))

    def grant(self, target: ServiceRef | str, principal: str, allowed: bool = True) -> None:
        """Allow (or deny) a role access: ``esriEveryone`` makes the target public."""
        self._session.post_json(
            self._permission_path(target) + "/permissions/add",
            {"principal": principal, "isAllowed": allowed},
        )

    def revoke(self, target: ServiceRef | str, principal: str) -> None:
        """Remove a role's permission."""
        self._session.post_json(
            self._permission_path(target) + "/permissions/remove", {"principal": principal}
        )

    # -- folders ----------------------------------------------------------------------------

    def create_folder(self, name: str, description: str = "") -> None:
        """Create a folder."""
        self._session.post_json(
            "admin/services/createFolder", {"folderName": name, "description": description}
        )

    def delete_folder(self, name: str) -> None:
        """Delete a folder and the services in it."""
        self._session.post_json(f"admin/services/{name.strip('/')}/deleteFolder")

    # -- publishing -------------------------------------------------------------------------

    def create(self, definition: dict[str, Any], folder: str = "") -> ServiceRef:
        """Publish from a service definition (``createService``)."""
        where = folder.strip("/")
        path = f"admin/services/{where}/createService" if where else "admin/services/createService"
        self._session.post_json(path, {"service": json.dumps(definition)})
        return ServiceRef(
            where or str(definition.get("folderName") or "").strip("/"),
            str(definition.get("serviceName", "")),
            str(definition.get("type", "")),
        )

    def publish(
        self,
        file: Path | str,
        name: str,
        *,
        folder: str = "",
        service_type: str = "FeatureServer",
        description: str = "",
        capabilities: str = "Query",
        properties: dict[str, Any] | None = None,
        overwrite: bool = False,
        progress: Progress | None = None,
        on_message: Callable[[str], None] | None = None,
        extensions: Sequence[dict[str, Any]] | None = None,
    ) -> ServiceRef:
        """Upload ``file`` (progress: ``progress(sent, total)``) and publish it as a service.

        The import runs as a job on the site (``runAsync``), polled until it is done (each
        progress message goes to ``on_message``): the HTTP timeout does not bound it. A site
        that answers at once (ArcGIS Server) is fine too. ``overwrite`` replaces a service of
        that name once the new data is imported (geosite). The upload is deleted again when
        publishing fails. ``extensions`` enables a map service's extensions: its feature access
        is ``{"typeName": "FeatureServer", "enabled": "true", "capabilities": "Query"}``.
        """
        item = self._uploads.upload(Path(file), description, progress=progress)
        definition: dict[str, Any] = {
            "serviceName": name,
            "type": service_type,
            "folderName": folder.strip("/"),
            "description": description,
            "capabilities": capabilities,
            "properties": {**(properties or {}), "itemID": item["itemID"]},
        }
        if extensions:
            definition["extensions"] = list(extensions)
        params: dict[str, Any] = {"service": json.dumps(definition), "runAsync": True}
        if overwrite:
            params["overwrite"] = True
        try:
            answer = self._session.post_json("admin/services/createService", params)
            job_id = answer.get("jobId") or answer.get("jobid") if isinstance(answer, dict) else ""
            if job_id:
                self._jobs.wait(str(job_id), on_message)
        except ClientError:
            with contextlib.suppress(ClientError):  # the publishing error is the one to report
                self._uploads.delete(str(item["itemID"]))
            raise
        return ServiceRef(folder.strip("/"), name, service_type)

    def manage_cache(
        self,
        service: ServiceRef | str,
        levels: str = "0-5",
        *,
        update_mode: str = "RECREATE_EMPTY_TILES",
        extent: str | None = None,
        extent_sr: str = "4326",
        on_message: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Seed (``RECREATE_EMPTY_TILES``, ``RECREATE_ALL_TILES``) or delete
        (``DELETE_TILES``) a cached map service's tiles at ``levels`` (``first-last``) within
        ``extent`` (``xmin,ymin,xmax,ymax`` in ``extent_sr``; the world when None), as a job
        followed until it is done (each progress message goes to ``on_message``)."""
        params: dict[str, Any] = {
            "levels": levels,
            "updateMode": update_mode,
            "extentSR": extent_sr,
            "runAsync": True,
        }
        if extent:
            params["updateExtent"] = extent
        path = self._resolve(service).admin_path + "/manageMapCacheTiles"
        answer = self._session.post_json(path, params)
        job_id = answer.get("jobId") if isinstance(answer, dict) else None
        if not job_id:
            return dict(answer) if isinstance(answer, dict) else {}
        job = self._jobs.wait(str(job_id), on_message)
        result = job.get("result")
        return dict(result) if isinstance(result, dict) else {}
