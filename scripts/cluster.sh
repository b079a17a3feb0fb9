#!/usr/bin/env bash
# Local Spark standalone cluster: a master and two workers, started from the virtualenv's pyspark with
# scripts/spark-node.sh (the same command the Docker image runs).
#
#   scripts/cluster.sh up       start (idempotent), wait until both workers are ALIVE
#   scripts/cluster.sh down     stop exactly the processes this script started (by pid)
#   scripts/cluster.sh status   print the master's JSON status
#
# Logs and pids live in $SPARK_RUN_DIR [./data/run/spark]. Ports: SPARK_MASTER_PORT [7077],
# SPARK_MASTER_WEBUI_PORT [8090], worker UIs SPARK_WORKER_WEBUI_PORT and +1 [8091, 8092].
# Sizing for a 2-core, 24 GiB machine: each worker offers SPARK_WORKER_CORES [1] core and
# SPARK_WORKER_MEMORY [8g].
# The workers start their executors with their own environment, where S3A reads the S3 credentials
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): with the lake on S3, export them before `up`; a running
# cluster keeps the environment it was started with.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run_dir="${SPARK_RUN_DIR:-./data/run/spark}"
mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"
export SPARK_MASTER_HOST="${SPARK_MASTER_HOST:-127.0.0.1}"
export SPARK_MASTER_PORT="${SPARK_MASTER_PORT:-7077}"
export SPARK_MASTER_WEBUI_PORT="${SPARK_MASTER_WEBUI_PORT:-8090}"
worker_ui_base="${SPARK_WORKER_WEBUI_PORT:-8091}"
wait_seconds="${SPARK_CLUSTER_WAIT_SECONDS:-240}"
status_url="http://${SPARK_MASTER_HOST}:${SPARK_MASTER_WEBUI_PORT}/json/"
# Keep the daemons' scratch space and logs inside the run folder.
export SPARK_LOCAL_DIRS="${SPARK_LOCAL_DIRS:-$run_dir/local}"
export SPARK_LOG_DIR="$run_dir"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {  # name, then the spark-node.sh arguments; extra env is set by the caller
  local name="$1"; shift
  local pid_file="$run_dir/$name.pid"
  if alive "$pid_file"; then
    echo "  $name already running (pid $(cat "$pid_file"))"
    return
  fi
  nohup "$here/spark-node.sh" "$@" >"$run_dir/$name.log" 2>&1 &
  echo $! >"$pid_file"
  echo "  $name started (pid $!, log $run_dir/$name.log)"
}

alive_workers() {
  curl -fsS --max-time 2 "$status_url" 2>/dev/null \
    | python -c 'import json,sys; d=json.load(sys.stdin); print(sum(w["state"]=="ALIVE" for w in d["workers"]) if d.get("status")=="ALIVE" else 0)' 2>/dev/null \
    || echo 0
}

up() {
  echo "Spark standalone cluster: spark://${SPARK_MASTER_HOST}:${SPARK_MASTER_PORT} (UI http://${SPARK_MASTER_HOST}:${SPARK_MASTER_WEBUI_PORT})"
  start master master
  for i in 1 2; do
    SPARK_WORKER_WEBUI_PORT=$((worker_ui_base + i - 1)) SPARK_WORKER_DIR="$run_dir/work-$i" \
      start "worker-$i" worker
  done
  local deadline=$((SECONDS + wait_seconds)) n=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    n="$(alive_workers)"
    if [ "$n" -ge 2 ]; then
      echo "  master ALIVE with $n ALIVE workers"
      return 0
    fi
    for name in master worker-1 worker-2; do
      if ! alive "$run_dir/$name.pid"; then
        echo "cluster.sh: $name exited; last lines of $run_dir/$name.log:" >&2
        tail -n 20 "$run_dir/$name.log" >&2 || true
        return 1
      fi
    done
    sleep 1
  done
  echo "cluster.sh: only $n of 2 workers ALIVE after ${wait_seconds}s (see logs in $run_dir)" >&2
  return 1
}

down() {
  local name pid_file pid
  for name in worker-2 worker-1 master; do
    pid_file="$run_dir/$name.pid"
    [ -f "$pid_file" ] || continue
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      echo "  $name stopped (pid $pid)"
    fi
    rm -f "$pid_file"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) curl -fsS --max-time 2 "$status_url" || { echo "master not reachable at $status_url" >&2; exit 1; } ;;
  *) echo "usage: cluster.sh up|down|status" >&2; exit 2 ;;
esac
