# Public health data platform: two commands on a fresh machine (make demo, make test).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
LOCK := requirements.lock
STAMP := $(VENV)/.installed-$(shell sha256sum $(LOCK) 2>/dev/null | cut -c1-16)

# Airflow runs from inside the checkout: metadata in airflow_home/ (git-ignored), SQLite, no examples.
export AIRFLOW_HOME := $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DEFAULT_TIMEZONE := Europe/London
# make up serves the UI on PORT (PORT=8081 make up); the API server, its base URL (links, login redirects)
# and the URL task processes reach the API on all follow it. Airflow 3.3 has no server setting for the UI's
# time zone: the UI shows the browser's own or one picked in the UI (make up prints how to pick Europe/London).
PORT ?= 8080
export AIRFLOW__API__PORT := $(PORT)
export AIRFLOW__API__BASE_URL := http://localhost:$(PORT)/
export PYTHONPATH := $(CURDIR)/plugins

.PHONY: help venv init demo up test lint bench clean stub templates docs

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" > $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/uv pip sync --quiet --python $(BIN)/python $(LOCK) >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@echo "environment: $(VENV) from $(LOCK) ($$(grep -c '^[a-z0-9]' $(LOCK)) packages; log: $(VENV)/install.log)"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv from the lock file (only when the lock changed)

init: venv ## Initialise Airflow (SQLite in airflow_home/), the warehouse pool and the warehouse schema
	@$(BIN)/airflow db migrate > airflow_home.migrate.log 2>&1 || { cat airflow_home.migrate.log; exit 1; }
	@rm -f airflow_home.migrate.log
	@$(BIN)/airflow pools set warehouse 1 "Warehouse writers (DuckDB allows one writer at a time)" > /dev/null
	@$(BIN)/python -m public_health.cli migrate

demo: init ## Set everything up and run the nightly Fingertips DAG end to end; print where results are
	@$(BIN)/python -m public_health.cli demo

# `airflow standalone` starts its scheduler, DAG processor, API server and triggerer as `airflow` from PATH,
# so the venv's bin goes first on PATH (no activated venv needed). The admin password file Airflow generates
# is created 0600 here first (Airflow fills it on first start and keeps the mode).
# FINGERTIPS_OFFLINE=1 make up: the offline stub serves on STUB_PORT beside Airflow (stopped when standalone
# exits), unless FINGERTIPS_BASE_URL already names a stub (e.g. `make stub` in another terminal).
STUB_PORT ?= 8999
up: init ## Start Airflow (standalone) on http://localhost:8080 (PORT=...); FINGERTIPS_OFFLINE=1: with the offline stub
	@export PATH="$(CURDIR)/$(BIN):$$PATH"; \
	pw="$(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"; \
	if [ -e "$$pw" ]; then chmod 600 "$$pw"; else install -m 600 /dev/null "$$pw"; fi; \
	case "$${FINGERTIPS_OFFLINE,,}" in 1|true|yes|on) \
	  if [ -z "$${FINGERTIPS_BASE_URL:-}" ] || [[ "$$FINGERTIPS_BASE_URL" == *fingertips.phe.org.uk* ]]; then \
	    $(BIN)/python -m public_health.demo.fingertips_stub --port $(STUB_PORT) & stub=$$!; \
	    trap 'kill $$stub 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	    export FINGERTIPS_BASE_URL=http://127.0.0.1:$(STUB_PORT)/api; \
	  fi;; \
	esac; \
	$(BIN)/python -m public_health.cli up-info; \
	$(BIN)/airflow standalone

# Two workers (this machine's cores); tests of one module stay together (their module fixtures are built once).
TEST_WORKERS ?= 2
test: venv ## The whole test suite (TEST_WORKERS=1 for one process)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

lint: venv ## ruff
	$(BIN)/ruff check plugins dags tests

bench: venv ## Benchmarks (tests/benchmarks): every script, then one summary table (also docs/performance.md)
	@mkdir -p output/bench; export BENCH_RESULTS="$(CURDIR)/output/bench/results-$$(date +%Y%m%d-%H%M%S).jsonl"; \
	: > "$$BENCH_RESULTS"; failed=(); \
	for b in tests/benchmarks/*.py; do \
	  case "$${b##*/}" in _*|summary.py) continue;; esac; \
	  echo "== $$b"; $(BIN)/python "$$b" || failed+=("$${b##*/}"); \
	done; \
	$(BIN)/python tests/benchmarks/summary.py --failed "$${failed[@]}"; summary=$$?; \
	if [ $${#failed[@]} -gt 0 ]; then echo "make bench: failed: $${failed[*]}"; exit 1; fi; \
	exit $$summary

templates: venv ## Blank provider return workbooks: make templates QUARTER=2017-18-Q2
	@test -n "$(QUARTER)" || { echo "usage: make templates QUARTER=2017-18-Q2"; exit 2; }
	@$(BIN)/python -m public_health.cli templates --quarter "$(QUARTER)"

docs: venv ## Write docs/warehouse.md from the schema (a fresh DuckDB warehouse, migrated on the fly)
	$(BIN)/python -m public_health.warehouse.catalogue

stub: venv ## Serve the offline Fingertips stub on http://127.0.0.1:8999/api
	$(BIN)/python -m public_health.demo.fingertips_stub --port 8999

clean: ## Remove local state (venv, Airflow home, data, outputs)
	rm -rf $(VENV) airflow_home data/warehouse.duckdb data/landing data/staging data/quarantine output
