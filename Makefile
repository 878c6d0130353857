# Two entry points on a fresh Debian machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := maps/vendor/node_modules/.package-lock.json

.PHONY: run test lint format system-deps install clean bench-deps bench

# Each install step says what it does, and pip shows its own progress (a first install takes a few minutes).
$(STAMP): pyproject.toml
	@echo "==> [2/3] Python environment in $(VENV): areavasta and its libraries (pip)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# the maps' JavaScript libraries (Leaflet.VectorGrid), pinned by maps/vendor/package-lock.json, served by the app
$(ASSETS): maps/vendor/package.json maps/vendor/package-lock.json
	@echo "==> [3/3] map libraries in maps/vendor (npm)"
	npm ci --prefix maps/vendor --omit=dev --no-audit --no-fund --loglevel=error

install: system-deps $(STAMP) $(ASSETS)
	@echo "==> installed; 'areavasta --help' lists the commands"

system-deps:
	@echo "==> [1/3] system packages of scripts/system-packages.txt (PostgreSQL 15, PostGIS 3, Chromium)"
	@bash scripts/system-deps.sh

run: install
	@echo "==> areavasta run: store, sources, ingest, analyses, then the service"
	$(BIN)/areavasta run

# two workers, a test file each (files share their module's database copy), handed out in the order that
# tests/conftest.py sets: one worker builds the session's templates while the other runs the files that need none.
# The sources are compiled first because machines that set PYTHONDONTWRITEBYTECODE would otherwise compile them
# again in every service and command the tests start. mypy checks the types beside the tests: from a clean clone it
# works on one core for about 35 s, which would otherwise leave the other idle; its report follows the tests', and
# either failing fails the target
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m compileall -q geo api maps
	@echo "==> mypy (its report after the tests) and pytest"
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & checker=$$!; \
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder; tests=$$?; \
	wait $$checker; types=$$?; echo "==> mypy"; cat $(VENV)/mypy.log; \
	[ $$tests -eq 0 ] && [ $$types -eq 0 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks (never part of the tests): wrk and TiPg, then every bench/ script, into docs/benchmarks.md.
# The API benchmark needs a store with all of Italy:
#   AREAVASTA_PROVINCES=all AREAVASTA_UNKNOWN_MUNICIPALITIES=reject $(BIN)/areavasta run --no-serve
bench-deps: install
	@bash scripts/bench-deps.sh
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'

bench: bench-deps
	$(BIN)/python -m bench.report

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
