# Two commands on a fresh machine: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest-xdist workers for `make test` (0 runs the suite in one process)
PYTEST_WORKERS ?= 2
export MPLBACKEND := Agg
export MPLCONFIGDIR := $(CURDIR)/.mplconfig
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run serve test lint format bench fuzz install install-test migrate clean help

help:
	@echo "make run    - install, migrate and serve on http://$(HOST):$(PORT) (SQLite, local storage)"
	@echo "make serve  - the same behind gunicorn, DEBUG off, static files by WhiteNoise"
	@echo "make test   - install the test extras, lint, and run the whole suite (PYTEST_WORKERS=2 processes)"
	@echo "make bench  - benchmarks (render, outage, prune, load, abuse)"
	@echo "make lint   - ruff"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml client/pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[test]' -e ./client
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production-style: gunicorn (aeris/gunicorn.conf.py), WhiteNoise static files, DEBUG off.
serve: install
	HOST=$(HOST) PORT=$(PORT) bash scripts/serve.sh

lint: install-test
	$(PY) -m ruff check .

format: install-test
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Reports its wall time on the last line, whether the suite passes or not.
test: install-test
	@start=$$(date +%s); status=0; \
	$(PY) -m ruff check . && \
	bash scripts/ensure_chromium.sh && \
	bash scripts/ensure_azurite.sh && \
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || status=$$?; \
	echo "make test: wall time $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

bench: install-test
	$(PY) bench/bench_render.py --check
	$(PY) bench/bench_outage.py --check
	$(PY) bench/bench_prune.py
	$(PY) bench/bench_load.py
	$(PY) bench/bench_abuse.py

# A long schemathesis run against the OpenAPI schema (make test runs a short one).
fuzz: install-test
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(PY) -m pytest -q -s -p no:cacheprovider tests/hostile/test_schema_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mplconfig
