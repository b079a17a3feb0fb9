#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data volume (/docker-entrypoint-initdb.d):
# create Metabase's own application database and its owner. Airflow's metadata database is POSTGRES_DB,
# created by the image itself.
#
# Environment: POSTGRES_USER, POSTGRES_DB (the image's), METABASE_DB_NAME, METABASE_DB_USER,
# METABASE_DB_PASSWORD.
set -euo pipefail

: "${METABASE_DB_NAME:?METABASE_DB_NAME is not set}"
: "${METABASE_DB_USER:?METABASE_DB_USER is not set}"
: "${METABASE_DB_PASSWORD:?METABASE_DB_PASSWORD is not set}"

# psql variables quote the names (:"x") and the password (:'x'), whatever characters they hold.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v mb_db="$METABASE_DB_NAME" -v mb_user="$METABASE_DB_USER" -v mb_password="$METABASE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"mb_user" LOGIN PASSWORD :'mb_password';
CREATE DATABASE :"mb_db" OWNER :"mb_user";
REVOKE ALL ON DATABASE :"mb_db" FROM PUBLIC;
SQL
echo "init-metabase: database ${METABASE_DB_NAME} owned by ${METABASE_DB_USER} created"
