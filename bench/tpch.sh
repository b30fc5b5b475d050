#!/usr/bin/env bash
# TPC-H: the 22 queries (bench/tpch/queries.sql) through glaux's wire
# protocol, against DuckDB in-process on the same Parquet files, in the
# same run; every answer compared with DuckDB's (numbers to 1e-6
# relative). Cold is each query's first run after glaux started (and
# DuckDB's first in its process; the OS file cache is warm for both),
# warm the best of the other runs. The ratio is glaux's time over
# DuckDB's: the goal is at most 0.8.
#
# The data comes from `glaux sample --scale SCALE` (one Parquet file per
# table), written to TPCH_DATA (default /var/tmp/glaux-tpch-SCALE, outside
# the repository) and reused by later runs at the same scale.
#   bash bench/tpch.sh [SCALE] [RUNS] [QUERIES]
#     TPC-H scale (default 1), runs per query (default 3), queries as
#     1,3,18 (default all)
#   GLAUX=path/to/glaux (default target/release/glaux)
#   GLAUX_FLAGS="--set datafusion.execution.parquet.pushdown_filters=true"
#     (flags for glaux serve, e.g. a setting to measure)
#   PYTHON=a python with duckdb and psycopg (default /var/tmp/glaux-pyclients/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/release/glaux}"
PYTHON="${PYTHON:-/var/tmp/glaux-pyclients/bin/python}"
SCALE="${1:-1}"
RUNS="${2:-3}"
QUERIES="${3:-}"
PORT=55481
"$PYTHON" -c 'import duckdb, psycopg' 2>/dev/null || "$PYTHON" -m pip install -q duckdb 'psycopg[binary]'

# shellcheck source=bench/tpch_data.sh
. "$ROOT/bench/tpch_data.sh"
tpch_data "$SCALE"
# shellcheck disable=SC2086
"$GLAUX" --data-dir "$DATA" ${GLAUX_FLAGS:-} serve --port $PORT >"$DATA/glaux.log" 2>&1 &
GLAUX_PID=$!
trap 'kill $GLAUX_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do psql -h 127.0.0.1 -p $PORT -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
echo "glaux: $GLAUX ${GLAUX_FLAGS:-} ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')); $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
"$PYTHON" "$ROOT/bench/tpch.py" "$DATA/sample/tpch" $PORT "$SCALE" "$RUNS" ${QUERIES:+"$QUERIES"}
