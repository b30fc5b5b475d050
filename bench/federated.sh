#!/usr/bin/env bash
# Federated TPC-H: Q3, Q10 and Q18 with `orders` and `customer` in
# PostgreSQL and `lineitem` (and `nation`) as Parquet in the lake, against
# the same queries with every table in the lake, in the same run.
#
# glaux generates the TPC-H tables (`glaux sample`); orders and customer
# are copied into a PostgreSQL server started here on loopback in a
# throwaway directory (with their primary keys and ANALYZE, as an
# operational database has them). Two connector catalogs name that
# server: `pg` (pushdown on, the default) and `pgall` (pushdown = 'off':
# whole tables read, nothing sent but the columns). Each query runs in the
# three forms RUNS times; the script prints the best wall time of each
# (psql's \timing), the bytes glaux received from PostgreSQL (the
# ConnectorScans' bytes_read in EXPLAIN ANALYZE: Arrow size of the rows
# received) and the SQL each scan sent, and checks that the three forms
# answer the same (numbers equal to 1e-9 relative).
#   bash bench/federated.sh [SCALE] [RUNS]
#     TPC-H scale (default 1), runs per query and form (default 3)
#   GLAUX=path/to/glaux (default target/release/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/release/glaux}"
SCALE="${1:-1}"
RUNS="${2:-3}"
DATA="$(mktemp -d /tmp/glaux-federated.XXXXXX)"
chmod 755 "$DATA"
GPORT=55451
PGPORT=55452
# shellcheck source=bench/throwaway_pg.sh
. "$ROOT/bench/throwaway_pg.sh"
cleanup() {
  kill "$GLAUX_PID" 2>/dev/null || true
  stop_pg
  rm -rf "$DATA"
}
GLAUX_PID=
trap cleanup EXIT

start_pg -c fsync=off

start=$(date +%s.%N)
"$GLAUX" --data-dir "$DATA/lake" sample --scale "$SCALE" >/dev/null
echo "TPC-H scale $SCALE generated in $(echo "$(date +%s.%N) - $start" | bc) s"
"$GLAUX" --data-dir "$DATA/lake" serve --port $GPORT >"$DATA/glaux.log" 2>&1 &
GLAUX_PID=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p $GPORT -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
# (Each query's NOTICE of what it scanned is left out.)
g() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $GPORT -U bench -d glaux "$@" 2> >(grep -v '^NOTICE:' >&2); }

# The lake's copies' columns, in PostgreSQL's types of the same values.
pg -c "CREATE TABLE customer (c_custkey bigint PRIMARY KEY, c_name text, c_address text, c_nationkey bigint,
         c_phone text, c_acctbal double precision, c_mktsegment text, c_comment text);
       CREATE TABLE orders (o_orderkey bigint PRIMARY KEY, o_custkey bigint, o_orderstatus text,
         o_totalprice double precision, o_orderdate date, o_orderpriority text, o_clerk text,
         o_shippriority bigint, o_comment text);"
start=$(date +%s.%N)
for table in customer orders; do
  g -c "\\copy (SELECT * FROM tpch.$table) TO '$DATA/$table.csv' CSV"
  pg -c "\\copy $table FROM '$DATA/$table.csv' CSV"
done
pg -c "CREATE INDEX ON orders (o_custkey); ANALYZE"
echo "customer and orders copied to PostgreSQL in $(echo "$(date +%s.%N) - $start" | bc) s"
g -c "CREATE CATALOG pg USING postgres WITH (url = 'postgresql://127.0.0.1:$PGPORT/postgres', user = 'bench', sslmode = 'disable');
      CREATE CATALOG pgall USING postgres WITH (url = 'postgresql://127.0.0.1:$PGPORT/postgres', user = 'bench', sslmode = 'disable', pushdown = 'off')"

Q3="SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
FROM {customer}, {orders}, tpch.lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate LIMIT 10"
Q10="SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name, c_address, c_phone, c_comment
FROM {customer}, {orders}, tpch.lineitem, tpch.nation
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate >= DATE '1993-10-01' AND o_orderdate < DATE '1994-01-01'
  AND l_returnflag = 'R' AND c_nationkey = n_nationkey
GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
ORDER BY revenue DESC LIMIT 20"
Q18="SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity)
FROM {customer}, {orders}, tpch.lineitem
WHERE o_orderkey IN (SELECT l_orderkey FROM tpch.lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 300)
  AND c_custkey = o_custkey AND o_orderkey = l_orderkey
GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
ORDER BY o_totalprice DESC, o_orderdate LIMIT 100"

# $1 query with {customer} and {orders}, $2 their catalog.schema (or tpch).
form() { local q="${1//\{customer\}/$2.customer}"; echo "${q//\{orders\}/$2.orders}"; }
best_ms() {
  g -A -o /dev/null -c "$1"
  { echo '\timing on'; for _ in $(seq "$RUNS"); do echo "$1;"; done; } | g -A -o /dev/null 2>&1 \
    | awk '/^Time:/ {if (best == "" || $2 < best) best = $2} END {printf "%.0f", best}'
}
# Bytes received by the ConnectorScans, and each one's SQL sent.
received() {
  g -At -c "EXPLAIN ANALYZE $1" | python3 -c '
import re, sys
total, sent = 0, []
for line in sys.stdin:
    if "ConnectorScan" not in line:
        continue
    m = re.search(r"bytes_read=([0-9.]+) ?([KMGT]?)", line)
    total += float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]
    sent.append(re.search(r"sql=(.*?)(, metrics=|$)", line).group(1).strip())
print(f"{total / 1e6:.1f} MB")
for s in sent:
    print("      sent: " + (s if len(s) < 240 else s[:240] + "..."))
'
}
same() {
  python3 - "$1" "$2" <<'EOF'
import math, sys
a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
def cell(x, y):
    try:
        return math.isclose(float(x), float(y), rel_tol=1e-9)
    except ValueError:
        return x == y
ok = len(a) == len(b) and all(
    len(r.split("|")) == len(s.split("|")) and all(cell(x, y) for x, y in zip(r.split("|"), s.split("|")))
    for r, s in zip(a, b))
print("same" if ok else "DIFFERENT")
EOF
}

echo
echo "best of $RUNS, ms; MB received from PostgreSQL"
for name in Q3 Q10 Q18; do
  query="${!name}"
  lake=$(form "$query" tpch); fed=$(form "$query" pg.public); all=$(form "$query" pgall.public)
  g -At -c "$lake" >"$DATA/$name.lake"
  g -At -c "$fed" >"$DATA/$name.fed"
  g -At -c "$all" >"$DATA/$name.all"
  echo "$name: lake $(best_ms "$lake") ms; federated $(best_ms "$fed") ms ($(same "$DATA/$name.lake" "$DATA/$name.fed")); without pushdown $(best_ms "$all") ms ($(same "$DATA/$name.lake" "$DATA/$name.all"))"
  echo "   with pushdown: $(received "$fed")"
  echo "   without pushdown: $(received "$all")"
done
