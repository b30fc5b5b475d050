#!/usr/bin/env bash
# Result streaming: rows per second a libpq client receives from glaux and
# from a PostgreSQL started here on loopback in a throwaway directory, in
# the same run, on the same rows: the first ROWS rows of TPC-H's lineitem
# (16 columns: bigints, doubles, dates, text). glaux reads them from its
# Parquet file (`glaux sample`), PostgreSQL from a table loaded with the
# same rows. The client (bench/stream/receive.c, built here with libpq)
# asks for text or binary results and drops each row, two ways:
#   libpq  through libpq in single-row mode: what a libpq application sees;
#          on a small machine libpq's own work per row bounds it.
#   wire   the query sent on libpq's socket and the reply read in large
#          pieces, DataRows counted, not decoded: the server's own rate.
# Prints the best of RUNS for each server, client and format, glaux's
# ratio (the goal is at least 2) and glaux's peak RSS, which must not grow
# with ROWS.
#   bash bench/stream.sh [ROWS] [RUNS]   (default 1000000 rows, 3 runs)
#   GLAUX=path/to/glaux (default target/release/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/release/glaux}"
ROWS="${1:-1000000}"
RUNS="${2:-3}"
GPORT=55471
PGPORT=55472
command -v gcc >/dev/null && [ -f /usr/include/postgresql/libpq-fe.h ] || apt-get install -y -q gcc libpq-dev >/dev/null
# shellcheck source=bench/tpch_data.sh
. "$ROOT/bench/tpch_data.sh"
tpch_data 1
LAKE="$DATA"
DATA="$(mktemp -d /tmp/glaux-stream.XXXXXX)"
chmod 755 "$DATA"
# shellcheck source=bench/throwaway_pg.sh
. "$ROOT/bench/throwaway_pg.sh"
GLAUX_PID=
cleanup() {
  kill "$GLAUX_PID" 2>/dev/null || true
  stop_pg
  rm -rf "$DATA"
}
trap cleanup EXIT
gcc -O2 -o "$DATA/receive" "$ROOT/bench/stream/receive.c" -I/usr/include/postgresql -lpq

start_pg
"$GLAUX" --data-dir "$LAKE" serve --port $GPORT >"$DATA/glaux.log" 2>&1 &
GLAUX_PID=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p $GPORT -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
g() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $GPORT -U bench -d glaux "$@" 2> >(grep -v '^NOTICE:' >&2); }

QUERY="SELECT * FROM tpch.lineitem LIMIT $ROWS"
pg -c "CREATE SCHEMA tpch;
       CREATE TABLE tpch.lineitem (l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber bigint,
         l_quantity bigint, l_extendedprice double precision, l_discount double precision, l_tax double precision,
         l_returnflag text, l_linestatus text, l_shipdate date, l_commitdate date, l_receiptdate date,
         l_shipinstruct text, l_shipmode text, l_comment text)"
g -c "\\copy ($QUERY) TO '$DATA/lineitem.csv' CSV"
pg -c "\\copy tpch.lineitem FROM '$DATA/lineitem.csv' CSV"
rm "$DATA/lineitem.csv"
pg -c "VACUUM ANALYZE tpch.lineitem"

# $1 conninfo, $2 format, $3 client: the best rows/s of RUNS runs.
rate() {
  local best=0 out
  for _ in $(seq "$RUNS"); do
    out=$("$DATA/receive" "$1" "$2" "$QUERY" "$3")
    [ "${out%% *}" = "$ROWS" ] || { echo "expected $ROWS rows, got: $out" >&2; exit 1; }
    best=$(echo "$out" | awk -v b="$best" '{r = $1 / $3; print (r > b ? r : b)}')
  done
  printf '%.0f' "$best"
}
echo "streaming $ROWS rows of tpch.lineitem, best of $RUNS; glaux $("$GLAUX" --version 2>/dev/null || echo "?") ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"
printf '%-6s %-7s %12s %15s %6s\n' client format glaux_rows/s PostgreSQL_rows/s ratio
for client in libpq wire; do
  for format in text binary; do
    ours=$(rate "host=127.0.0.1 port=$GPORT user=bench dbname=glaux" $format $client)
    theirs=$(rate "host=127.0.0.1 port=$PGPORT user=bench dbname=postgres" $format $client)
    printf '%-6s %-7s %12s %15s %6s\n' $client $format "$ours" "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')"
  done
done
echo "glaux peak RSS: $(awk '/VmHWM/ {print int($2 / 1024)}' /proc/$GLAUX_PID/status) MB"
