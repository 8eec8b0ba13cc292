"""The demo site's sample data (see ``data/README.md`` for sources and licences)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
