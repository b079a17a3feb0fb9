#!/usr/bin/env bash
# Local MongoDB-wire-protocol server (mongo-java-server, in memory) for the demo and manual tests.
#
#   scripts/mongo-server.sh start [--port N]   start in the background (default port 27017), print its URI
#   scripts/mongo-server.sh stop               stop exactly the process `start` started (pid file)
#   scripts/mongo-server.sh status|uri|airflow-conn
#
# The pid, URI and log live in $MONGO_RUN_DIR [./data/run/mongo]. The first start fetches the
# server jars from Maven Central into .cache/mongo-java-server (needs mvn and a JDK 17).
# See include/medallion/devtools/mongo_server.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py="${PYTHON:-.venv/bin/python}"
exec "$py" -m medallion.devtools.mongo_server "$@"
