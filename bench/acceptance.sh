#!/usr/bin/env bash
# bench/acceptance.sh -- measure glaux with the black-box client kit in
# ../shared/acceptance (psql, pgJDBC, psqlODBC, Python drivers, BI catalog
# queries). Starts `glaux serve` on a scratch data dir, registers the kit's
# fixture (sales, events) from its Parquet files, runs the kit, prints its
# summary table. Logs go to $OUT (default /tmp/glaux-acceptance).
#
# usage: bench/acceptance.sh [kit options, e.g. --only psql,bi --skip-cancel]
# env:   KIT (kit dir), GLAUX (binary; default target/release/glaux),
#        PYTHON (a python with the kit's drivers), PORT (default 55434)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KIT="${KIT:-$ROOT/../shared/acceptance}"
GLAUX="${GLAUX:-$ROOT/target/release/glaux}"
PORT="${PORT:-55434}"
OUT="${OUT:-/tmp/glaux-acceptance}"
DATA="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
mkdir -p "$DATA/files/sales" "$DATA/files/events" "$OUT"
cp "$KIT/fixtures/sales.parquet" "$DATA/files/sales/"
cp "$KIT/fixtures/events.parquet" "$DATA/files/events/"
"$GLAUX" serve --data-dir "$DATA/lake" --port "$PORT" --set catalog.name=acceptance >"$OUT/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$PORT" -U acceptance -d acceptance -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
PGPASSWORD=acceptance psql -q -h 127.0.0.1 -p "$PORT" -U acceptance -d acceptance -v ON_ERROR_STOP=1 <<SQL
CREATE EXTERNAL TABLE public.sales STORED AS PARQUET LOCATION '$DATA/files/sales/';
CREATE EXTERNAL TABLE public.events STORED AS PARQUET LOCATION '$DATA/files/events/';
SQL
bash "$KIT/run_all.sh" --host 127.0.0.1 --port "$PORT" --user acceptance --password acceptance \
  --dbname acceptance --out "$OUT" "$@"
