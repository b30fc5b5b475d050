#!/usr/bin/env bash
# What checking a text table's values in each file's scan costs: a
# LazySimpleSerDe table of ROWS rows (default 2,000,000; an int, a double,
# a date and a string column, some `\N`), read whole by a query that casts
# every value; psql's \timing, end to end, RUNS times (default 7).
#   bash bench/text_values.sh [ROWS] [RUNS]   (GLAUX=path/to/glaux, default target/debug/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/debug/glaux}"
ROWS="${1:-2000000}"
RUNS="${2:-7}"
PORT="${PORT:-55438}"
DATA="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
mkdir -p "$DATA/t"
awk -v n="$ROWS" 'BEGIN { for (i = 0; i < n; i++) printf "%d,%s,2026-%02d-%02d,name %d\n", i, (i % 10 == 0 ? "\\N" : i / 7), i % 12 + 1, i % 28 + 1, i % 1000 }' > "$DATA/t/part-0.txt"
"$GLAUX" serve --data-dir "$DATA/lake" --port "$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$PORT" -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
q() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U bench -d glaux "$@"; }
q -c "CREATE EXTERNAL TABLE t (id int, x double, d date, s string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '$DATA/t'"
echo "$(du -h "$DATA/t/part-0.txt" | cut -f1) of text, $ROWS rows"
for ((run = 1; run <= RUNS; run++)); do
  q -c '\timing on' -c "SELECT sum(id), sum(x), max(d), count(s) FROM t" 2>/dev/null | tr '\n' ' '
  echo
done
