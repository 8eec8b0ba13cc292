"""``site.uploads``, ``site.machines``, ``site.clusters``, ``site.data``, ``site.usage_reports``."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path
from typing import IO, Any

from geosite.client._session import Progress, Session


class _ProgressFile:
    """A file that reports how much of it has been read (httpx reads uploads in chunks)."""

    def __init__(self, handle: IO[bytes], progress: Progress | None) -> None:
        self._handle = handle
        self._progress = progress
        self.total = os.fstat(handle.fileno()).st_size
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._sent += len(chunk)
        if self._progress is not None:
            self._progress(min(self._sent, self.total), self.total)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._handle.seek(offset, whence)
        self._sent = position
        return position

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


class Uploads:
    """Uploaded files (``/admin/uploads``): what publishing reads."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[dict[str, Any]]:
        """The uploaded items (a publisher sees its own)."""
        return list(self._session.get_json("admin/uploads").get("items", []))

    def get(self, item_id: str) -> dict[str, Any]:
        """One item."""
        return dict(self._session.get_json(f"admin/uploads/{item_id}"))

    def upload(
        self, file: Path, description: str = "", *, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Upload a file and return its item (``itemID``, ``itemName`` ...)."""
        with open(file, "rb") as handle:
            tracked: Any = _ProgressFile(handle, progress)
            body = self._session.post_json(
                "admin/uploads/upload",
                {"description": description},
                files={"itemFile": (Path(file).name, tracked)},
            )
        return dict(body["item"])

    def delete(self, item_id: str) -> None:
        """Delete an item."""
        self._session.post_json(f"admin/uploads/{item_id}/delete")


class Machines:
    """The machines of the site (``/admin/machines``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[dict[str, Any]]:
        """``machineName`` and ``adminURL`` of each machine."""
        return list(self._session.get_json("admin/machines").get("machines", []))

    def get(self, name: str) -> dict[str, Any]:
        """A machine's properties."""
        return dict(self._session.get_json(f"admin/machines/{name}"))

    def status(self, name: str) -> dict[str, Any]:
        """``configuredState`` and ``realTimeState`` of a machine."""
        return dict(self._session.get_json(f"admin/machines/{name}/status"))


class Clusters:
    """Clusters (``/admin/clusters``): deprecated by ArcGIS, and empty on geosite."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[dict[str, Any]]:
        """The clusters."""
        return list(self._session.get_json("admin/clusters").get("clusters", []))


class Data:
    """Registered data items (``/admin/data``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(
        self, parent_path: str = "/", *, ancestor_path: str = "", types: str = ""
    ) -> list[dict[str, Any]]:
        """The items below ``parent_path`` (``/fileShares``, ``/enterpriseDatabases``...)."""
        params = {"parentPath": parent_path, "ancestorPath": ancestor_path, "types": types}
        found = self._session.get_json("admin/data/findItems", params)
        return list(found.get("items", []))

    def register(self, item: dict[str, Any]) -> dict[str, Any]:
        """Register a data item (``registerItem``); returns the answer."""
        return dict(self._session.post_json("admin/data/registerItem", {"item": json.dumps(item)}))

    def unregister(self, item_path: str) -> None:
        """Unregister a data item."""
        self._session.post_json("admin/data/unregisterItem", {"itempath": item_path})

    def validate(self, item: dict[str, Any]) -> dict[str, Any]:
        """Check a data item before registering it."""
        return dict(
            self._session.post_json("admin/data/validateDataItem", {"item": json.dumps(item)})
        )


class UsageReports:
    """Usage reports (``/admin/usagereports``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[dict[str, Any]]:
        """The reports' definitions."""
        return list(self._session.get_json("admin/usagereports").get("metrics", []))

    def get(self, name: str) -> dict[str, Any]:
        """One report's definition."""
        return dict(self._session.get_json(f"admin/usagereports/{name}"))

    def add(self, report: dict[str, Any]) -> None:
        """Add a report (``reportname``, ``since``, ``queries``, ``metadata`` ...)."""
        self._session.post_json("admin/usagereports/add", {"usagereport": json.dumps(report)})

    def edit(self, name: str, report: dict[str, Any]) -> None:
        """Replace a report's definition."""
        self._session.post_json(
            f"admin/usagereports/{name}/edit", {"usagereport": json.dumps(report)}
        )

    def delete(self, name: str) -> None:
        """Delete a report."""
        self._session.post_json(f"admin/usagereports/{name}/delete")

    def data(self, name: str, machines: builtins.list[str] | None = None) -> dict[str, Any]:
        """The report's figures per time slice (``report.time-slices``, ``report.report-data``)."""
        params = {"filter": json.dumps({"machines": machines or ["*"]})}
        return dict(self._session.post_json(f"admin/usagereports/{name}/data", params))

    def csv(self, name: str) -> str:
        """The report's figures as CSV."""
        return self._session.request("POST", f"admin/usagereports/{name}/data", fmt="csv").text

    def settings(self) -> dict[str, Any]:
        """``samplingInterval``, ``maxHistory``, ``enabled``."""
        return dict(self._session.get_json("admin/usagereports/settings"))

    def edit_settings(self, **settings: Any) -> None:
        """Change settings (``maxHistory=30`` ...)."""
        self._session.post_json("admin/usagereports/settings/edit", settings)
