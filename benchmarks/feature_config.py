"""Settings of the W1/W2 benchmark (features.py): pinned peers, limits, its console."""

from __future__ import annotations

import shutil

from harness import BENCH_DIR
from rich.console import Console

PEERS_DIR = BENCH_DIR / ".peers"

SERVICE_NAME = "Points"
MAX_RECORD_COUNT = 2000
SEED = 42
BOX_SEED = 7  # where the query boxes go (the points themselves come from SEED)
EDGE_CLEARANCE = 1e-4  # degrees between a box's edges and the nearest point (float32: 1.5e-5)

# Peers, pinned. Koop and its GeoJSON file provider as in the spec's section 4/7; pygeoapi
# 0.21.0 is the newest release pip offers for Debian 12's Python 3.11 (section 4 lists 0.24.0).
KOOP_PACKAGES = {"@koopjs/koop-core": "10.4.19", "@koopjs/provider-file-geojson": "2.2.0"}
PYGEOAPI_PACKAGES = {"pygeoapi": "0.21.0", "gunicorn": "23.0.0"}
SYSTEM_PYTHON = "/usr/bin/python3"

INSTALL_TIMEOUT_S = 900.0
PUBLISH_TIMEOUT_S = 3600.0
VERIFY_TIMEOUT_S = 180.0
DRAIN_TIMEOUT_S = 180.0
PEER_REQUEST_TIMEOUT_S = 60.0
MEMORY_TARGET_MIB = 500.0
MEMORY_FLAT_MIB = 50.0  # "flat": after the load, at most this much above before it
RSS_INTERVAL_S = 0.25

console = Console(highlight=False, width=max(160, shutil.get_terminal_size().columns))
