# Source this file: the environment of a project-local Airflow on this machine (no Docker).
# Used by `make demo`, `make airflow` and the end-to-end tests. Every variable keeps a value already set.
project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$project_root/.venv/bin:$PATH"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$project_root/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$project_root/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$project_root/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS:-True}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export LAKE_ROOT="${LAKE_ROOT:-$project_root/data/lake}"
export SPARK_MASTER_PORT="${SPARK_MASTER_PORT:-7077}"
export SPARK_JOBS_DIR="${SPARK_JOBS_DIR:-$project_root/spark_jobs}"
export GX_CONTEXT_DIR="${GX_CONTEXT_DIR:-$project_root/great_expectations}"
if [ -z "${AIRFLOW_CONN_SPARK_DEFAULT:-}" ]; then
  export AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "spark://127.0.0.1", "port": '"$SPARK_MASTER_PORT"', "extra": {"deploy-mode": "client", "spark-binary": "spark-submit"}}'
fi
