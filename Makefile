PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Inside the venv, so deleting .venv also forces a fresh setup.
STAMP := $(VENV)/.lotscan-setup.stamp
# pytest-xdist workers for `make test`: one a core. Tests of one file share a worker, so
# a file's module fixtures are built once.
PYTEST_WORKERS ?= 2

ZBAR_HELP := lotscan needs the zbar library: install libzbar0 (Debian/Ubuntu) / zbar (Homebrew/Fedora)

.PHONY: setup demo test lint format bench clean

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

demo: setup
	$(BIN)/lotscan demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy scanner labels sync screens
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy scanner labels sync screens

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache snapshot_report.html
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
