# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= geosite-data
# `PORT=7080 HTTPS_PORT=7443 make serve` (GEOSITE_PORT and GEOSITE_HTTPS_PORT work as well).
PORT ?= $(or $(GEOSITE_PORT),6080)
HTTPS_PORT ?= $(or $(GEOSITE_HTTPS_PORT),6443)
# The exact versions CI installs; pyproject.toml holds the ranges users may get.
CONSTRAINTS := constraints.txt
JS_DIR := tests/compat/js
SDK_DIR := tests/compat/sdk
LEAFLET_DIR := tests/compat/leaflet
MANAGER_DIR := manager

.PHONY: serve test test-postgis check lint typecheck constraints bench bench-features bench-edits bench-postgis bench-site bench-map crash-test fuzz-api fuzz-parsers fuzz-edits soak js-deps sdk-deps leaflet-deps manager manager-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install -q -e . -c $(CONSTRAINTS)
	touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,compat]' -c $(CONSTRAINTS)
	touch $(VENV)/.installed $@

# Rewrite constraints.txt from what the venv holds, after changing a dependency or its range
# in pyproject.toml (install the new version first, e.g. `.venv/bin/pip install -U NAME`).
constraints: $(VENV)/.installed-test
	{ sed -n '/^#/p' $(CONSTRAINTS); \
	  $(BIN)/python -m pip freeze --exclude-editable | LC_ALL=C sort -f -t= -k1,1; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

# ArcGIS REST JS for the compatibility tests (skipped with a reason when npm is missing).
js-deps:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -d $(JS_DIR)/node_modules ] || [ $(JS_DIR)/package-lock.json -nt $(JS_DIR)/node_modules ]; then \
			npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error && touch $(JS_DIR)/node_modules; \
		fi; \
	else echo "npm not found: the ArcGIS REST JS tests will be skipped"; fi

# The ArcGIS Maps SDK for JavaScript (@arcgis/core 4.x and 5.x), esbuild and playwright-core,
# then the page bundled once per SDK line (tests/compat/test_arcgis_js_sdk.py; skipped with a
# reason when npm is missing). About 720 MB in node_modules.
sdk-deps:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -d $(SDK_DIR)/node_modules ] || [ $(SDK_DIR)/package-lock.json -nt $(SDK_DIR)/node_modules ]; then \
			npm ci --prefix $(SDK_DIR) --no-audit --no-fund --loglevel=error && touch $(SDK_DIR)/node_modules; \
		fi; \
		if [ ! -f $(SDK_DIR)/dist/5/page.js ] || [ -n "$$(find $(SDK_DIR)/src $(SDK_DIR)/build.mjs $(SDK_DIR)/package-lock.json -newer $(SDK_DIR)/dist/5/page.js)" ]; then \
			node $(SDK_DIR)/build.mjs; \
		fi; \
	else echo "npm not found: the ArcGIS Maps SDK tests will be skipped"; fi

# Leaflet, esri-leaflet and playwright-core for tests/compat/test_esri_leaflet.py (served
# locally to Debian's Chromium; skipped with a reason when npm is missing). About 18 MB.
leaflet-deps:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -d $(LEAFLET_DIR)/node_modules ] || [ $(LEAFLET_DIR)/package-lock.json -nt $(LEAFLET_DIR)/node_modules ]; then \
			npm ci --prefix $(LEAFLET_DIR) --no-audit --no-fund --loglevel=error && touch $(LEAFLET_DIR)/node_modules; \
		fi; \
	else echo "npm not found: the esri-leaflet tests will be skipped"; fi

# The Manager's npm packages (esbuild, Preact, Leaflet, esri-leaflet, uPlot, axe-core for the
# browser tests); `make test` needs them to rebuild the Manager and compare with what ships.
manager-deps:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -d $(MANAGER_DIR)/node_modules ] || [ $(MANAGER_DIR)/package-lock.json -nt $(MANAGER_DIR)/node_modules ]; then \
			npm ci --prefix $(MANAGER_DIR) --no-audit --no-fund --loglevel=error && touch $(MANAGER_DIR)/node_modules; \
		fi; \
	else echo "npm not found: the Manager's browser tests will be skipped"; fi

# Rebuild geosite/http/static/manager/ from manager/ (commit the result: `make serve` and the
# Python package need no Node). tests/manager/test_shipped.py fails when it is stale.
manager: manager-deps
	node $(MANAGER_DIR)/build.mjs

serve: $(VENV)/.installed
	$(BIN)/geosite serve --data-dir $(DATA_DIR) --port $(PORT) --https-port $(HTTPS_PORT) --demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

check: lint typecheck

# The second pass (issue 18): the FeatureServer HTTP suite, the real clients' compatibility
# tests (ArcGIS API for Python, ArcGIS REST JS, pyesridump and GDAL in test_feature_clients.py,
# edits by the ArcGIS API for Python and REST JS), the kill -9 crash test (10 rounds here),
# the injection corpus, the edit fuzzer and the where fuzzer again, the MapServer (Mapnik's
# PostGIS plugin draws the same reference pictures), every service published
# into PostGIS (a server the session starts; tests/pg.py): 664 tests, 9 min 14 s of wall
# time on 2 cores while another whole suite ran beside it (load 5), 3 min 47 s of CPU.
# Left to the first pass: files that touch no feature data (test_rest_js.py: tokens and admin
# reads; test_rest_js_geometry.py: the geometry service; test_arcgis_python.py: admin, logs,
# backups; test_publishing.py: catalogs), limits checked before any data is read
# (test_edit_limits.py), the ArcGIS Maps SDK (a browser, ~45 s), and the FeatureSource
# contract suite, which runs on both backends already (tests/data/).
POSTGIS_PASS := \
	tests/http/test_query.py tests/http/test_query_precedence.py tests/http/test_where_values.py \
	tests/http/test_spatial_references.py tests/http/test_coordinate_bounds.py \
	tests/http/test_outside_the_areas.py tests/http/test_integer_ranges.py \
	tests/http/test_editing.py tests/http/test_edit_concurrency.py \
	tests/http/test_editing_capabilities.py tests/http/test_anonymous_edits.py \
	tests/http/test_publishing_formats.py tests/http/test_map_service.py \
	tests/compat/test_feature_clients.py tests/compat/test_arcgis_edits.py \
	tests/compat/test_arcgis_services.py tests/compat/test_rest_js_edits.py \
	tests/e2e/test_crash_safety.py \
	tests/fuzz/test_sqli_corpus.py tests/fuzz/test_edit_fuzz.py \
	tests/fuzz/test_parser_fuzz.py::test_where_parser_raises_only_invalid_parameter
POSTGIS_ENV := GEOSITE_TEST_FEATURE_DATA=postgis GEOSITE_CRASH_ROUNDS=10

test: $(VENV)/.installed-test js-deps sdk-deps leaflet-deps manager-deps check
	$(BIN)/pytest
	$(POSTGIS_ENV) $(BIN)/pytest -p no:cacheprovider $(POSTGIS_PASS)

# The second pass of `make test` alone: the FeatureServer on PostGIS.
test-postgis: $(VENV)/.installed-test js-deps
	$(POSTGIS_ENV) $(BIN)/pytest -p no:cacheprovider $(POSTGIS_PASS)

# wrk is the load generator (Debian's package); without it the runner falls back to Python.
bench: $(VENV)/.installed-test
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null \
		|| echo "could not install wrk: the Python load generator will be used"; fi
	$(BIN)/python benchmarks/run.py

# W1/W2: FeatureServer queries on 1M points, with Koop and pygeoapi measured in the same run
# (the runner installs them into benchmarks/.peers). E.g. FEATURES_ARGS="--points 100000 --quick".
FEATURES_ARGS ?=
# W5: bulk and single-feature applyEdits (benchmarks/edits.py).
bench-edits: $(VENV)/.installed-test
	$(BIN)/python benchmarks/edits.py

# Kill -9 the server 100 times while edits stream in (the suite runs 20 rounds).
crash-test: $(VENV)/.installed-test
	GEOSITE_CRASH_ROUNDS=100 $(BIN)/pytest -q tests/e2e/test_crash_safety.py

# R1: schemathesis against our own OpenAPI document, at least 10,000 requests (the suite runs
# 5 examples per operation); prints the requests made and fails on any 5xx or unhandled error.
fuzz-api: $(VENV)/.installed-test
	GEOSITE_FUZZ_EXAMPLES=100 GEOSITE_FUZZ_MIN_REQUESTS=10000 \
		$(BIN)/pytest -q -s -p no:cacheprovider tests/fuzz/test_api_fuzz.py

# R3: each parser target (where, geometry, spatialReference, query) for FUZZ_SECONDS, with the
# executions per target printed at the end (`make test` runs a few hundred examples of each).
FUZZ_SECONDS ?= 600
fuzz-parsers: $(VENV)/.installed-test
	GEOSITE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/pytest -q -s tests/fuzz/test_parser_fuzz.py

# Issue 16: Hypothesis against a live site's edits, queries, logs/query and service and folder
# administration (`make test` runs 100 and 40 examples per operation); FUZZ_SHRINK=1 shrinks a
# failure to its minimal example.
FUZZ_EXAMPLES ?= 2000
fuzz-edits: $(VENV)/.installed-test
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider \
		tests/fuzz/test_edit_fuzz.py tests/fuzz/test_admin_fuzz.py

# Queries, edits, uploads and administration against `geosite serve` for SOAK_MINUTES; prints
# requests, errors by code, p50/p99, memory and open files (docs/reliability.md).
SOAK_MINUTES ?= 10
soak: $(VENV)/.installed-test
	$(BIN)/python benchmarks/soak.py --minutes $(SOAK_MINUTES)

bench-features: $(VENV)/.installed-test
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null \
		|| echo "could not install wrk: the Python load generator will be used"; fi
	$(BIN)/python benchmarks/features.py $(FEATURES_ARGS)

# W1/W2 and W5 on PostGIS beside GeoPackage, each in one run (issue 18): the runners start a
# durable PostgreSQL cluster themselves (Debian's postgresql-15-postgis-3). While developing:
# make bench-postgis FEATURES_ARGS="--points 100000 --quick" EDITS_ARGS=--quick
EDITS_ARGS ?=
bench-postgis: $(VENV)/.installed-test
	$(BIN)/python benchmarks/features.py --peers none --postgis $(FEATURES_ARGS)
	$(BIN)/python benchmarks/edits.py --postgis $(EDITS_ARGS)

# Issue 19: W1 through nginx on a site of 1, 2 and 3 machines on one PostgreSQL, and the time
# from a configuration change on one machine to its effect on the others (benchmarks/
# site_machines.py starts PostgreSQL, the machines and nginx itself). E.g. SITE_ARGS=--quick
SITE_ARGS ?=
bench-site: $(VENV)/.installed-test
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null \
		|| echo "could not install wrk: the Python load generator will be used"; fi
	$(BIN)/python benchmarks/site_machines.py $(SITE_ARGS)

# Issue 20, W4: PNG exports of random extents (~1,000 of 1M points visible) from geosite's
# MapServer and from MapServer 8 (Debian's cgi-mapserver as FastCGI behind nginx) in the same
# run, and warm tiles (benchmarks/map_export.py). E.g. MAP_ARGS=--quick
MAP_ARGS ?=
bench-map: $(VENV)/.installed-test
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! { command -v wrk \
		&& command -v mapserv && command -v spawn-fcgi && command -v multiwatch \
		&& command -v nginx; } >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq wrk cgi-mapserver mapserver-bin \
		spawn-fcgi multiwatch nginx >/dev/null \
		|| echo "could not install wrk, MapServer, spawn-fcgi, multiwatch or nginx"; fi
	$(BIN)/python benchmarks/map_export.py $(MAP_ARGS)

clean:
	rm -rf $(VENV) $(JS_DIR)/node_modules $(SDK_DIR)/node_modules $(SDK_DIR)/dist $(LEAFLET_DIR)/node_modules .mypy_cache .ruff_cache .pytest_cache
