#!/usr/bin/env bash
# Partition pruning at scale: a table with N registered partitions
# (default 100000), one of which has a file, and the same layout with
# partition projection (integer range 0..N-1); prints how long a query
# that selects one partition takes, end to end through psql (\timing),
# and what EXPLAIN says it kept.
#   bash bench/partitions.sh [N]        (GLAUX=path/to/glaux, default target/debug/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/debug/glaux}"
N="${1:-100000}"
PORT="${PORT:-55437}"
DATA="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
mkdir -p "$DATA/t/day=0"
printf '1,10\n2,20\n' > "$DATA/t/day=0/part.csv"
"$GLAUX" serve --data-dir "$DATA/lake" --port "$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$PORT" -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
q() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U bench -d glaux "$@"; }
q -c "CREATE EXTERNAL TABLE t (id int, amount int) PARTITIONED BY (day int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '$DATA/t'"
start=$(date +%s.%N)
for ((from = 1; from < N; from += 1000)); do
  to=$(( from + 999 < N - 1 ? from + 999 : N - 1 ))
  q -c "ALTER TABLE t ADD $(seq -s ' ' -f 'PARTITION (day = %g)' "$from" "$to")"
done
end=$(date +%s.%N)
echo "registered $(q -c 'SHOW PARTITIONS t' | wc -l) partitions in $(echo "$end - $start" | bc) s"
q -c "EXPLAIN SELECT sum(amount) FROM t WHERE day = 0" | grep -o 'PartitionsScan.*of [0-9]*'
for run in 1 2 3; do
  q -c '\timing on' -c "SELECT sum(amount) FROM t WHERE day = 0" | tr '\n' ' '
  echo
done

q -c "CREATE EXTERNAL TABLE p (id int, amount int) PARTITIONED BY (day int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '$DATA/t' TBLPROPERTIES ('projection.enabled' = 'true', 'projection.day.type' = 'integer', 'projection.day.range' = '0,$((N - 1))')"
echo "projected:"
q -c "EXPLAIN SELECT sum(amount) FROM p WHERE day = 0" | grep -o 'PartitionsScan.*projected'
for run in 1 2 3; do
  q -c '\timing on' -c "SELECT sum(amount) FROM p WHERE day = 0" | tr '\n' ' '
  echo
done
