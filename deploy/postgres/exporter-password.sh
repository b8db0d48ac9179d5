#!/bin/sh
# Gives the exporter's read-only role (created by 10-heartbeat.sql) the password compose passes in
# EXPORTER_DB_PASSWORD; psql quotes it (:'password'), so no character can break out of the string.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$EXPORTER_DB_PASSWORD" <<'SQL'
ALTER ROLE heartbeat_exporter PASSWORD :'password';
SQL
