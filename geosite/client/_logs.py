"""``site.logs``: the site's log records as an iterator over ArcGIS's pages, and settings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from geosite.client._session import Session

#: The most records ``logs/query`` returns at once.
MAX_PAGE_SIZE = 10_000

Moment = int | float | datetime


def epoch_ms(moment: Moment) -> int:
    """Epoch milliseconds of a ``datetime`` (naive means UTC) or of a number of milliseconds."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return int(moment)


class Logs:
    """The site's logs (``/admin/logs``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def query(
        self,
        *,
        level: str = "WARNING",
        newest: Moment | None = None,
        oldest: Moment | None = None,
        services: Sequence[str] | None = None,
        machines: Sequence[str] | None = None,
        codes: Sequence[int] | None = None,
        users: Sequence[str] | None = None,
        request_ids: Sequence[str] | None = None,
        process_ids: Sequence[int] | None = None,
        server: str | Sequence[str] | None = None,
        page_size: int = 1000,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record from ``newest`` back to ``oldest`` at ``level`` or worse, newest first.

        Pages are fetched as they are consumed (``hasMore``: the next page starts at the
        answer's ``endTime``). ``services`` are ``Maps/Cities.MapServer``-style sources: only
        their records are returned unless ``server`` names other sources too (``Admin``,
        ``Rest``, ``*``). ``limit`` stops after that many records.
        """
        found: dict[str, Any] = {}
        for key, value in (
            ("services", services),
            ("machines", machines),
            ("codes", [int(c) for c in codes] if codes else None),
            ("users", users),
            ("requestIDs", request_ids),
            ("processIds", [int(p) for p in process_ids] if process_ids else None),
        ):
            if value:
                found[key] = list(value)
        if server is not None:
            found["server"] = server
        elif services:
            found["server"] = []  # ArcGIS would add every record not about a service
        params: dict[str, Any] = {
            "level": level.upper(),
            "filterType": "json",
            "filter": json.dumps(found),
            "pageSize": max(1, min(page_size, MAX_PAGE_SIZE)),
        }
        if newest is not None:  # else the site's own "now"
            params["startTime"] = epoch_ms(newest)
        if oldest is not None:
            params["endTime"] = epoch_ms(oldest)
        given = 0
        while True:
            page = self._session.get_json("admin/logs/query", params)
            for record in page.get("logMessages", []):
                if limit is not None and given >= limit:
                    return
                given += 1
                yield dict(record)
            if not page.get("hasMore") or page.get("endTime") in (None, params.get("startTime")):
                return
            params["startTime"] = page["endTime"]

    def settings(self) -> dict[str, Any]:
        """``logLevel``, ``maxLogFileAge`` (days), ``maxErrorReportsCount`` ..."""
        return dict(self._session.get_json("admin/logs/settings").get("settings", {}))

    def edit_settings(
        self,
        *,
        log_level: str | None = None,
        max_log_file_age: int | None = None,
        max_error_reports_count: int | None = None,
    ) -> dict[str, Any]:
        """Change settings; returns them as the site now holds them."""
        params = {
            key: value
            for key, value in (
                ("logLevel", log_level),
                ("maxLogFileAge", max_log_file_age),
                ("maxErrorReportsCount", max_error_reports_count),
            )
            if value is not None
        }
        answer = self._session.post_json("admin/logs/settings/edit", params)
        return dict(answer.get("settings", {}))

    def clean(self) -> None:
        """Delete every record of every machine."""
        self._session.post_json("admin/logs/clean")

    def count_error_reports(self, machine: str = "*") -> dict[str, int]:
        """SEVERE records per machine."""
        answer = self._session.get_json("admin/logs/countErrorReports", {"machine": machine})
        return {str(k): int(v) for k, v in answer.items()}
