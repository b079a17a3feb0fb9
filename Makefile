# medallion: Airflow 3 + Spark medallion pipeline. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

# Demo inputs: generated dirty sample by default, or any folder with clients.csv + purchases.csv.
SOURCES ?=
CLIENTS ?= 1000
DIRTY_RATE ?= 0.05
RUN_DATE ?= 2026-11-29
PYTEST_ARGS ?=
DASHBOARD_ARGS ?=

STAMP := $(VENV)/.installed

.PHONY: help install browser dashboard cluster-up cluster-down demo airflow test test-unit test-integration test-e2e lock benchmark clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt pyproject.toml scripts/fetch-delta-jars.sh
	@command -v $(PYTHON_BOOT) >/dev/null || { echo "Python 3.11 is required ($(PYTHON_BOOT) not found)"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17 is required for Spark (java not found on PATH)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Apache Maven (mvn) is required: it fetches the Delta Lake jars from Maven Central"; exit 1; }
	@command -v javac >/dev/null || echo "warning: javac (JDK 17) is needed for the local MongoDB wire server (demo, tests)"
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	PYTHON=$(PY) scripts/fetch-delta-jars.sh
	$(PY) -c "import importlib.metadata, pyspark, airflow, great_expectations, pyarrow, pandas; print('installed: airflow', airflow.__version__, '| pyspark', pyspark.__version__, '| delta-spark', importlib.metadata.version('delta-spark'), '| GX', great_expectations.__version__)"
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the pinned dependencies and the project

browser:  ## Debian's chromium for the dashboard's headless-browser tests (installed when missing)
	scripts/install-browser.sh

cluster-up: install  ## start the local Spark master + 2 workers (idempotent)
	scripts/cluster.sh up

cluster-down:  ## stop the local Spark cluster started by cluster-up
	scripts/cluster.sh down

demo: install  ## run the whole pipeline DAG on a generated sample (SOURCES=dir to use your own CSVs)
	SOURCES="$(SOURCES)" CLIENTS="$(CLIENTS)" DIRTY_RATE="$(DIRTY_RATE)" RUN_DATE="$(RUN_DATE)" scripts/demo.sh

dashboard: install  ## serve the last demo's gold: MongoDB (kept across restarts), REST API :8000, dashboard :8501
	$(PY) -m medallion.serving.launch $(DASHBOARD_ARGS)

airflow: install  ## start the cluster and `airflow standalone` with this project's DAGs
	scripts/airflow.sh

test: install browser  ## install and run the whole test suite (what CI runs)
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install  ## unit tier only (no servers)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-integration: install browser  ## integration tier (local Spark cluster, S3 and MongoDB wire servers)
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

test-e2e: install browser  ## end-to-end tier (airflow dags test of the pipeline)
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

benchmark: install  ## pandas vs Spark benchmark at the seed's size (2M clients, ~10M purchases)
	$(PY) -m medallion.devtools.benchmark --clients 2000000 --purchases-per-client 5 --dirty-rate 0.05

lock:  ## re-resolve constraints.txt from requirements.txt in a scratch venv
	rm -rf .lock-venv && $(PYTHON_BOOT) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade "pip==26.3" && .lock-venv/bin/pip install --quiet -r requirements.txt
	.lock-venv/bin/pip freeze --exclude-editable > constraints.txt && rm -rf .lock-venv

clean:  ## remove generated data, Airflow home and caches (keeps .venv)
	-scripts/cluster.sh down
	-$(PY) -m medallion.devtools.mongo_server stop
	rm -rf data/ .airflow/ great_expectations/uncommitted .pytest_cache
