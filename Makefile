PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Inside the venv, so deleting .venv also forces a fresh setup.
STAMP := $(VENV)/.lotscan-setup.stamp
# pytest-xdist workers for `make test`: one a core. Tests of one file share a worker, so
# a file's module fixtures are built once.
PYTEST_WORKERS ?= 2

ZBAR_HELP := lotscan needs the zbar library: install libzbar0 (Debian/Ubuntu) / zbar (Homebrew/Fedora)
# The console's browser tests drive this Chromium through Playwright (executable_path);
# Playwright's own browser download is never used (`playwright install` is never run).
CHROMIUM_HELP := the browser tests need Chromium on PATH as chromium: install chromium (Debian/Ubuntu, Fedora) / chromium (Homebrew cask), or link your Chromium or Chrome as chromium

.PHONY: setup browser demo test lint format bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@if $(BIN)/python -c "import pyzbar.pyzbar" >/dev/null 2>&1; then \
		echo "zbar library found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing libzbar0 with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends libzbar0 </dev/null \
		&& $(BIN)/python -c "import pyzbar.pyzbar" \
		|| { echo "$(ZBAR_HELP)" >&2; exit 1; }; \
	else \
		echo "$(ZBAR_HELP)" >&2; \
		exit 1; \
	fi
	touch $(STAMP)

# Only the tests need a browser: `make demo` does not depend on this.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium found: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends chromium </dev/null \
		&& command -v chromium >/dev/null \
		|| { echo "$(CHROMIUM_HELP)" >&2; exit 1; }; \
	else \
		echo "$(CHROMIUM_HELP)" >&2; \
		exit 1; \
	fi

demo: setup
	$(BIN)/lotscan demo

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy scanner labels sync screens console
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy scanner labels sync screens console
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# sync_ingest_postgres runs on LOTSCAN_BENCH_PG_URL (or LOTSCAN_TEST_PG_URL); with neither
# set, on a server answering at 127.0.0.1:5432 as LOCAL_PG_URL says, else it is skipped.
LOCAL_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

bench: setup
	@if [ -z "$$LOTSCAN_BENCH_PG_URL$$LOTSCAN_TEST_PG_URL" ] && $(BIN)/python -c \
		"import socket; socket.create_connection(('127.0.0.1', 5432), timeout=3).close()" \
		2>/dev/null; then \
		echo "sync_ingest_postgres runs on $(LOCAL_PG_URL)"; \
		export LOTSCAN_BENCH_PG_URL="$(LOCAL_PG_URL)"; \
	fi; \
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache snapshot_report.html
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
