#!/bin/sh
# Run once by the PostGIS image when its data volume is new (docker-compose.yml): the app's own
# role, neither superuser nor owner. `gridgov migrate` (as the owner) grants it what it needs.
set -eu
psql -v ON_ERROR_STOP=1 -v app_password="$GRIDGOV_APP_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE gridgov_app LOGIN PASSWORD :'app_password';
SQL
