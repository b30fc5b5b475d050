#!/usr/bin/env bash
# Per-statement overhead: pgbench against glaux and against a PostgreSQL
# started here on loopback in a throwaway directory, in the same run.
#
# Two workloads, each in pgbench's three protocols (simple, extended,
# prepared) with 1 and 8 clients:
#   select1  `SELECT 1;`
#   lookup   one row by key from tpch.customer (150,000 rows at scale 1):
#            in glaux the Parquet table `glaux sample` writes, in
#            PostgreSQL the same rows in a table with its primary key.
# Both servers take TCP connections on 127.0.0.1; glaux runs on a fresh
# embedded catalog with its defaults (metering and the ledger on).
# The script prints statements per second of each and glaux's ratio.
#   bash bench/pgbench.sh [SECONDS] [SCALE]
#     seconds per pgbench run (default 10), TPC-H scale (default 1)
#   GLAUX=path/to/glaux (default target/release/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/release/glaux}"
SECONDS_PER_RUN="${1:-10}"
SCALE="${2:-1}"
DATA="$(mktemp -d /tmp/glaux-pgbench.XXXXXX)"
chmod 755 "$DATA"
GPORT=55461
PGPORT=55462
# shellcheck source=bench/throwaway_pg.sh
. "$ROOT/bench/throwaway_pg.sh"
cleanup() {
  kill "$GLAUX_PID" 2>/dev/null || true
  stop_pg
  rm -rf "$DATA"
}
GLAUX_PID=
trap cleanup EXIT

start_pg

"$GLAUX" --data-dir "$DATA/lake" sample --scale "$SCALE" >/dev/null
"$GLAUX" --data-dir "$DATA/lake" serve --port $GPORT >"$DATA/glaux.log" 2>&1 &
GLAUX_PID=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p $GPORT -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
g() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $GPORT -U bench -d glaux "$@" 2> >(grep -v '^NOTICE:' >&2); }

pg -c "CREATE SCHEMA tpch;
       CREATE TABLE tpch.customer (c_custkey bigint PRIMARY KEY, c_name text, c_address text, c_nationkey bigint,
         c_phone text, c_acctbal double precision, c_mktsegment text, c_comment text)"
g -c "\\copy (SELECT * FROM tpch.customer) TO '$DATA/customer.csv' CSV"
pg -c "\\copy tpch.customer FROM '$DATA/customer.csv' CSV"
pg -c "ANALYZE"
ROWS=$(g -At -c "SELECT count(*) FROM tpch.customer")

echo 'SELECT 1;' >"$DATA/select1.sql"
printf '\\set k random(1, %d)\nSELECT * FROM tpch.customer WHERE c_custkey = :k;\n' "$ROWS" >"$DATA/lookup.sql"

# $1 port, $2 database, $3 script, $4 protocol, $5 clients: statements/s.
tps() {
  pgbench -n -h 127.0.0.1 -p "$1" -U bench -d "$2" -f "$3" -M "$4" -c "$5" -j "$5" -T "$SECONDS_PER_RUN" 2>"$DATA/pgbench.err" \
    | awk '/^tps = / {printf "%.0f", $3}' || true
  if grep -q 'aborted\|error' "$DATA/pgbench.err"; then sed -n 1,5p "$DATA/pgbench.err" >&2; fi
}

echo "pgbench, $SECONDS_PER_RUN s per run; glaux $("$GLAUX" --version 2>/dev/null || echo "?"), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'); customer: $ROWS rows"
printf '%-8s %-9s %7s %11s %13s %7s\n' workload protocol clients glaux/s PostgreSQL/s ratio
for workload in select1 lookup; do
  for protocol in simple extended prepared; do
    for clients in 1 8; do
      ours=$(tps $GPORT glaux "$DATA/$workload.sql" $protocol $clients)
      theirs=$(tps $PGPORT postgres "$DATA/$workload.sql" $protocol $clients)
      ratio=$(awk -v a="${ours:-0}" -v b="${theirs:-0}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
      printf '%-8s %-9s %7d %11s %13s %7s\n' $workload $protocol $clients "${ours:-failed}" "${theirs:-failed}" "$ratio"
    done
  done
done
