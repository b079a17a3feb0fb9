#!/usr/bin/env bash
# `make airflow`: the local Spark cluster plus `airflow standalone` with this project's DAGs, plugins and
# connections, so the pipeline can be triggered from the UI. Ctrl-C stops Airflow and the cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/airflow-env.sh
started_mongo=""
cleanup() {
  scripts/cluster.sh down || true
  if [ -n "$started_mongo" ]; then python -m medallion.devtools.mongo_server stop || true; fi
}
trap cleanup EXIT
scripts/cluster.sh up
if [ -z "${AIRFLOW_CONN_MONGO_DEFAULT:-}" ]; then
  python -m medallion.devtools.mongo_server start
  started_mongo=1
  AIRFLOW_CONN_MONGO_DEFAULT="$(python -m medallion.devtools.mongo_server airflow-conn)"
  export AIRFLOW_CONN_MONGO_DEFAULT
fi
cat <<EOT

Airflow UI: http://localhost:${AIRFLOW__API__PORT}  (local mode: every user is admin, no login)
Spark master UI: http://127.0.0.1:${SPARK_MASTER_WEBUI_PORT:-8090}
Data quality docs: the "Data quality" entry in the Airflow menu
Landing zone: $LAKE_ROOT/sources (trigger generate_sample_data, or copy clients.csv + purchases.csv there)

EOT
airflow standalone
