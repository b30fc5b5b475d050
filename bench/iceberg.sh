#!/usr/bin/env bash
# Iceberg pruning at scale: pyiceberg writes a table of SNAPSHOTS appends
# of FILES data files each (default 100 x 100 = 10,000 files), every file
# in its own day of a day(ts)-partitioned table (bench/iceberg_table.py).
# glaux registers it and runs a one-day filter: at the current snapshot,
# at the middle snapshot (FOR VERSION AS OF), and on the newest day. For
# each it prints what EXPLAIN says was kept, the planning time (psql's
# \timing of EXPLAIN, which plans the files) and the query's time, end to
# end through the wire. Then the bytes the one-day query read (EXPLAIN
# ANALYZE's bytes_read) against the size of the file it kept and of the
# column chunks it needs (ts and amount, from "events$files").
#   bash bench/iceberg.sh [SNAPSHOTS] [FILES] [ROWS per file, default 20]
#   GLAUX=path/to/glaux (default target/debug/glaux),
#   PYTHON=a python with pyiceberg (default /var/tmp/glaux-pyclients/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/debug/glaux}"
PYTHON="${PYTHON:-/var/tmp/glaux-pyclients/bin/python}"
SNAPSHOTS="${1:-100}"
FILES="${2:-100}"
ROWS="${3:-20}"
PORT="${PORT:-55443}"
DATA="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT

start=$(date +%s.%N)
"$PYTHON" "$ROOT/bench/iceberg_table.py" "$DATA/py" "$SNAPSHOTS" "$FILES" "$ROWS" >"$DATA/table.json"
end=$(date +%s.%N)
field() { "$PYTHON" -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(v[int(sys.argv[3])] if len(sys.argv) > 3 else v)' "$DATA/table.json" "$@"; }
echo "pyiceberg wrote $(find "$DATA/py" -name '*.parquet' | wc -l) data files in $SNAPSHOTS snapshots in $(echo "$end - $start" | bc) s"

"$GLAUX" --data-dir "$DATA/lake" serve --port "$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$PORT" -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
q() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U bench -d glaux "$@"; }
q -c "CREATE DATABASE lake" -c "CREATE EXTERNAL TABLE lake.events LOCATION '$(field location)' TBLPROPERTIES ('table_type' = 'ICEBERG', 'metadata_location' = '$(field metadata_location)')"

day_filter() { echo "ts >= TIMESTAMP '$1 00:00:00' AND ts < TIMESTAMP '$(date -d "$1 + 1 day" +%F) 00:00:00'"; }
MIDDLE="$(field snapshots $((SNAPSHOTS / 2 - 1)))"
run() {
  local label="$1" from="$2" filter="$3"
  echo "$label:"
  q -c "EXPLAIN SELECT count(*), sum(amount) FROM $from WHERE $filter" 2>/dev/null | grep -o 'IcebergScan:.*' | sed 's/^/  /'
  for _ in 1 2 3; do
    plan=$(q -c '\timing on' -c "EXPLAIN SELECT count(*), sum(amount) FROM $from WHERE $filter" 2>/dev/null | grep -o 'Time: .*')
    answer=$(q -c '\timing on' -c "SELECT count(*), sum(amount) FROM $from WHERE $filter" 2>/dev/null | tr '\n' ' ')
    echo "  plan $plan; query $answer"
  done
}
run "day 2000-01-01, current snapshot" "lake.events" "$(day_filter 2000-01-01)"
run "day 2000-01-01, snapshot $((SNAPSHOTS / 2)) of $SNAPSHOTS" "lake.events FOR VERSION AS OF $MIDDLE" "$(day_filter 2000-01-01)"
run "day $(field last_snapshot_first_day), current snapshot" "lake.events" "$(day_filter "$(field last_snapshot_first_day)")"

echo "bytes read by SELECT sum(amount) ... WHERE <one day> (the NOTICE is what the workgroup was charged, metadata included):"
q -c "EXPLAIN ANALYZE SELECT sum(amount) FROM lake.events WHERE $(day_filter 2000-01-01)" | grep -o 'IcebergScan:.*' | sed 's/^/  /'
echo "  the kept file's size | its column chunks' sizes: ts | amount | payload:"
q -c "SELECT file_size_in_bytes, element_at(column_sizes, 2)[1], element_at(column_sizes, 3)[1], element_at(column_sizes, 4)[1] FROM lake.\"events\$files\" WHERE file_path LIKE '%ts_day=2000-01-01/%'" 2>/dev/null | sed 's/^/  /'
