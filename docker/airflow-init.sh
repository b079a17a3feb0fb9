#!/usr/bin/env bash
# One-shot `airflow-init` job of docker-compose.yaml: migrate the Airflow metadata database and set the
# admin user's password. Idempotent: re-running it on an existing deployment changes nothing else.
#
# Users: Airflow 3's default SimpleAuthManager reads them from AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS
# ("<name>:admin") and their passwords from the JSON file AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE,
# which lives on the shared `airflow-config` volume. This job writes that file with AIRFLOW_ADMIN_PASSWORD
# from .env instead of letting the api-server generate a random password.
set -euo pipefail

: "${AIRFLOW_ADMIN_USERNAME:?AIRFLOW_ADMIN_USERNAME is not set (see .env.example)}"
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set (see .env.example)}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE is not set}"

echo "airflow-init: migrating the metadata database"
airflow db migrate

echo "airflow-init: writing the password of user ${AIRFLOW_ADMIN_USERNAME}"
python - <<'PY'
import json
import os
import tempfile

path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
folder = os.path.dirname(path) or "."
os.makedirs(folder, exist_ok=True)
passwords = {}
if os.path.exists(path):
    with open(path, encoding="utf-8") as stream:
        passwords = json.loads(stream.read().strip() or "{}")
passwords[os.environ["AIRFLOW_ADMIN_USERNAME"]] = os.environ["AIRFLOW_ADMIN_PASSWORD"]
fd, tmp = tempfile.mkstemp(dir=folder, prefix=".passwords-")
with os.fdopen(fd, "w", encoding="utf-8") as stream:
    json.dump(passwords, stream)
    stream.write("\n")
os.chmod(tmp, 0o600)
os.replace(tmp, path)
PY
echo "airflow-init: done (Airflow $(airflow version))"
