# The few verbs a newcomer needs. Each target installs what it uses, and skips what is installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DB ?= sqlite:///data/offsync.db

.PHONY: chromium postgres run test test-fast faults bench bench-deps bench-pouchdb bench-capacity bench-live bench-lists lint install runtime test-deps clean

run: install runtime
	$(BIN)/offsync serve --db $(DB) --host $(HOST) --port $(PORT)

# The project itself, in a virtual environment (re-run only when pyproject.toml changes).
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# The browser runtime (Pyodide + PyScript) from the npm registry, copied under web/vendor/.
runtime: web/vendor/.installed
web/vendor/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf web/vendor && mkdir -p web/vendor
	cp -r node_modules/pyodide web/vendor/pyodide
	cp -r node_modules/@pyscript/core/dist web/vendor/pyscript
	touch $@

# Test extras, and Debian's Chromium when it is missing and we are root.
test-deps: $(VENV)/.test-installed
$(VENV)/.test-installed: $(VENV)/.installed
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else echo "chromium is missing: install Debian's chromium package (apt-get install chromium)"; exit 1; fi; \
	fi

# Debian's PostgreSQL server binaries, for the tests' throwaway clusters (tests/postgres_cluster.py).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q postgresql; \
	  else echo "PostgreSQL is missing: install Debian's postgresql package (apt-get install postgresql)"; exit 1; fi; \
	fi

test: install runtime test-deps bench-deps chromium postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install test-deps postgres
	$(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

# The fault suite's long mode: hundreds of server kills and dropped answers (tests/test_faults.py).
faults: install test-deps
	OFFSYNC_FAULTS_LONG=1 $(BIN)/python -m pytest tests/test_faults.py -s $(PYTEST_ARGS)

# Benchmark extras (Locust, py-spy).
bench-deps: $(VENV)/.bench-installed
$(VENV)/.bench-installed: $(VENV)/.test-installed
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -e '.[test,dev,bench]'
	touch $@

# Real Chromium against the real server: bench/results/<date>.json and latest.md (~10 minutes).
bench: install runtime test-deps bench-deps chromium postgres
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.lists

# Live updates alone: write-to-stream latency and fan-out to 500 streams (bench/live.py, ~1 min).
bench-live: install test-deps postgres
	$(BIN)/python -m bench.live

# Shared lists alone: a member's pull as the database grows, a device receiving a 5,000-todo list
bench-lists: install runtime test-deps chromium
	$(BIN)/python -m bench.lists

# offsync side by side with PouchDB 9 (express-pouchdb on Node, from package.json), same run, same
# Chromium: bench/results/sidebyside.md, sidebyside.png and the section of latest.md (~10 minutes).
bench-pouchdb: install runtime test-deps bench-deps chromium
	$(BIN)/python -m bench.sidebyside $(BENCH_ARGS)

# Room in localStorage alone: characters per todo, how many fit in Chromium, the move of the
# earlier layout (bench/capacity.py, ~2 minutes): capacity-latest.json and its section of latest.md.
bench-capacity: install runtime test-deps chromium
	$(BIN)/python -m bench.capacity $(BENCH_ARGS)

lint: test-deps
	$(BIN)/ruff check models server tests web bench

clean:
	rm -rf $(VENV) node_modules web/vendor
