#!/usr/bin/env bash
# Run one Spark standalone daemon in the foreground: `spark-node.sh master` or `spark-node.sh worker`.
#
# The single source of the Spark start commands: `make cluster-up` (scripts/cluster.sh) runs it in the
# background on this machine, and docker-compose.yaml runs it as the command of the spark-master and
# spark-worker-N containers. Settings come from the environment (defaults in brackets):
#   SPARK_MASTER_HOST [127.0.0.1]    SPARK_MASTER_PORT [7077]    SPARK_MASTER_WEBUI_PORT [8090]
#   SPARK_MASTER_URL  [spark://$SPARK_MASTER_HOST:$SPARK_MASTER_PORT]  (what a worker connects to)
#   SPARK_WORKER_HOST [127.0.0.1]    SPARK_WORKER_CORES [1]      SPARK_WORKER_MEMORY [8g]
#   SPARK_WORKER_WEBUI_PORT [8091]   SPARK_WORKER_DIR [./data/run/spark/work]
set -euo pipefail

role="${1:?usage: spark-node.sh master|worker}"
master_host="${SPARK_MASTER_HOST:-127.0.0.1}"
master_port="${SPARK_MASTER_PORT:-7077}"
master_url="${SPARK_MASTER_URL:-spark://${master_host}:${master_port}}"

if command -v spark-class >/dev/null 2>&1; then
  spark_class="spark-class"
else
  spark_class="$(python -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-class"))')"
fi

case "$role" in
  master)
    exec "$spark_class" org.apache.spark.deploy.master.Master \
      --host "$master_host" --port "$master_port" --webui-port "${SPARK_MASTER_WEBUI_PORT:-8090}"
    ;;
  worker)
    work_dir="${SPARK_WORKER_DIR:-./data/run/spark/work}"
    mkdir -p "$work_dir"
    exec "$spark_class" org.apache.spark.deploy.worker.Worker \
      --host "${SPARK_WORKER_HOST:-127.0.0.1}" \
      --cores "${SPARK_WORKER_CORES:-1}" --memory "${SPARK_WORKER_MEMORY:-8g}" \
      --webui-port "${SPARK_WORKER_WEBUI_PORT:-8091}" --work-dir "$work_dir" "$master_url"
    ;;
  *)
    echo "spark-node.sh: unknown role '$role' (expected master or worker)" >&2
    exit 2
    ;;
esac
