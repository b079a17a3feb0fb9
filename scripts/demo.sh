#!/usr/bin/env bash
# `make demo`: run the whole pipeline DAG once, locally, with `airflow dags test` (no Docker).
#
#   1. a project-local Airflow home (.airflow/, SQLite) and the local Spark cluster (scripts/cluster.sh)
#   2. the landing zone: a generated dirty sample (CLIENTS rows, DIRTY_RATE) or the CSVs in SOURCES
#   3. MongoDB: AIRFLOW_CONN_MONGO_DEFAULT if set, else a local wire-protocol server for the demo
#   4. `airflow dags test medallion_pipeline RUN_DATE`, then the quality report and the gold summary
# Exits non-zero when any task failed. Everything it started is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/airflow-env.sh

RUN_DATE="${RUN_DATE:-2026-11-29}"
CLIENTS="${CLIENTS:-1000}"
DIRTY_RATE="${DIRTY_RATE:-0.05}"
SOURCES="${SOURCES:-}"
started_mongo=""

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
cleanup() {
  step "Stopping what the demo started"
  scripts/cluster.sh down || true
  if [ -n "$started_mongo" ]; then python -m medallion.devtools.mongo_server stop || true; fi
}
trap cleanup EXIT

step "Airflow metadata database ($AIRFLOW_HOME)"
mkdir -p "$AIRFLOW_HOME"
airflow db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { tail -n 30 "$AIRFLOW_HOME/migrate.log"; exit 1; }

step "Spark standalone cluster"
scripts/cluster.sh up

step "Landing zone: $LAKE_ROOT/sources"
mkdir -p "$LAKE_ROOT/sources"
if [ -n "$SOURCES" ]; then
  for f in clients.csv purchases.csv; do
    [ -f "$SOURCES/$f" ] || { echo "SOURCES=$SOURCES has no $f" >&2; exit 1; }
    cp "$SOURCES/$f" "$LAKE_ROOT/sources/$f"
  done
  rm -f "$LAKE_ROOT/sources/ground_truth.json"
  echo "copied clients.csv and purchases.csv from $SOURCES"
else
  python -m medallion.devtools.datagen --clients "$CLIENTS" --purchases-per-client 5 --dirty-rate "$DIRTY_RATE" \
    --seed 42 --as-of "$RUN_DATE" --out "$LAKE_ROOT/sources"
fi

step "MongoDB"
if [ -z "${AIRFLOW_CONN_MONGO_DEFAULT:-}" ]; then
  python -m medallion.devtools.mongo_server start
  started_mongo=1
  AIRFLOW_CONN_MONGO_DEFAULT="$(python -m medallion.devtools.mongo_server airflow-conn)"
  export AIRFLOW_CONN_MONGO_DEFAULT
else
  echo "using AIRFLOW_CONN_MONGO_DEFAULT"
fi

step "airflow dags test medallion_pipeline $RUN_DATE"
log="$AIRFLOW_HOME/demo-dags-test.log"
set +e
airflow dags test medallion_pipeline "$RUN_DATE" 2>&1 | tee "$log" | grep -E "\[DAG TEST\] running task|Task failed|ERROR|error  |Marking run|Exception" | cut -c1-220
rc=${PIPESTATUS[0]}
set -e

step "Results"
python -m medallion.reporting "$RUN_DATE" || true
if [ "$rc" -ne 0 ]; then
  echo "The DAG run FAILED (exit $rc): full log in $log" >&2
  exit "$rc"
fi
cat <<EOT

The DAG run succeeded. Where to look:
  lake (bronze, silver, gold): $LAKE_ROOT
  data docs (open in a browser): $LAKE_ROOT/quality/data_docs/index.html
  published gold: MongoDB database ${MONGO_DATABASE:-analytics_gold}${started_mongo:+ (on the wire server the demo started, which stops with it)}
  full Airflow log: $log
  the Airflow UI with this DAG: make airflow
EOT
printf '\n\033[1mNext: make dashboard\033[0m  (MongoDB kept across restarts, REST API http://127.0.0.1:8000,\n'
printf '  six-page dashboard http://127.0.0.1:8501, over this lake'"'"'s newest committed gold)\n'

