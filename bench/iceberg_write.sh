#!/usr/bin/env bash
# Iceberg writes on TPC-H lineitem: glaux generates the TPC-H tables at
# SCALE (`glaux sample`), then, through psql on a release server:
#   - INSERT of all of lineitem into an empty Iceberg table (made with
#     CTAS ... WITH NO DATA), against DuckDB copying the same Parquet rows
#     to one Parquet file (when the python has duckdb), in the same run;
#   - DELETE of 1 % of its rows (l_orderkey % 100 = 0), then a count;
#   - OPTIMIZE of lineitem after the delete (its deletes applied), then a count;
#   - 200 one-row INSERTs into a small Iceberg table, then a scan of it,
#     OPTIMIZE, and the same scan again; VACUUM of it with a one-second age;
#   - ALTER TABLE tpch.lineitem CONVERT TO ICEBERG, and one query before, after
#     and on the kept Hive definition;
#   - the same for an ORC copy of lineitem written by pyarrow.
# Each line prints psql's \timing of the statement, end to end.
#   bash bench/iceberg_write.sh [SCALE, default 1]
#   GLAUX=path/to/glaux (default target/release/glaux),
#   PYTHON=a python with duckdb (default /var/tmp/glaux-pyclients/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/release/glaux}"
PYTHON="${PYTHON:-/var/tmp/glaux-pyclients/bin/python}"
SCALE="${1:-1}"
PORT="${PORT:-55447}"
DATA="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT

start=$(date +%s.%N)
"$GLAUX" --data-dir "$DATA/lake" sample --scale "$SCALE" >/dev/null
echo "TPC-H scale $SCALE generated in $(echo "$(date +%s.%N) - $start" | bc) s"
"$GLAUX" --data-dir "$DATA/lake" serve --port "$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$PORT" -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
q() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U bench -d glaux -v ON_ERROR_STOP=1 "$@"; }
timed() { q -c '\timing on' -c "$1" | grep -E '^Time|^[0-9]' | tr '\n' ' '; echo; }

q -c "CREATE TABLE li WITH (table_type = 'ICEBERG', location = '$DATA/li') AS SELECT * FROM tpch.lineitem WITH NO DATA"
echo -n "glaux INSERT INTO iceberg SELECT * FROM tpch.lineitem: "; timed "INSERT INTO li SELECT * FROM tpch.lineitem"
if "$PYTHON" -c 'import duckdb' 2>/dev/null; then
  "$PYTHON" - "$DATA" <<'PY'
import sys, time, duckdb
data = sys.argv[1]
start = time.time()
duckdb.sql(f"COPY (SELECT * FROM read_parquet('{data}/lake/sample/tpch/lineitem/*.parquet')) TO '{data}/duck.parquet' (FORMAT PARQUET, COMPRESSION ZSTD)")
print(f"duckdb {duckdb.__version__} COPY lineitem TO parquet: Time: {(time.time() - start) * 1000:.3f} ms")
PY
fi
echo -n "rows: "; q -c "SELECT count(*) FROM li"
echo -n "glaux DELETE 1 % (l_orderkey % 100 = 0): "; timed "DELETE FROM li WHERE l_orderkey % 100 = 0"
echo -n "count after the delete: "; timed "SELECT count(*) FROM li"
echo -n "files: "; q -c "SELECT content, count(*), sum(file_size_in_bytes) FROM \"li\$files\" GROUP BY content ORDER BY content" | tr '\n' ' '; echo
# One delete file is enough for a file to be rewritten (Athena's default: 2).
q -c "ALTER TABLE li SET TBLPROPERTIES ('optimize_rewrite_delete_file_threshold' = '1')"
echo -n "glaux OPTIMIZE lineitem (deletes applied): "; timed "OPTIMIZE li REWRITE DATA USING BIN_PACK"
echo -n "count after OPTIMIZE: "; timed "SELECT count(*) FROM li"
echo -n "files: "; q -c "SELECT content, count(*), sum(file_size_in_bytes) FROM \"li\$files\" GROUP BY content ORDER BY content" | tr '\n' ' '; echo

q -c "CREATE TABLE small (id bigint, v string) LOCATION '$DATA/small' TBLPROPERTIES ('table_type' = 'ICEBERG')"
start=$(date +%s.%N)
for i in $(seq 200); do q -c "INSERT INTO small VALUES ($i, 'v$i')"; done
echo "200 one-row INSERTs: $(echo "($(date +%s.%N) - $start) * 1000" | bc) ms"
echo -n "scan after 200 commits: "; timed "SELECT count(*), sum(id) FROM small"
echo -n "OPTIMIZE of the 200 files: "; timed "OPTIMIZE small REWRITE DATA USING BIN_PACK"
echo -n "scan after OPTIMIZE: "; timed "SELECT count(*), sum(id) FROM small"
q -c "ALTER TABLE small SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds' = '1')"
sleep 1.5
echo -n "VACUUM of the 201 snapshots: "; timed "VACUUM small"
echo -n "scan after VACUUM: "; timed "SELECT count(*), sum(id) FROM small"

# In-place conversion of the Hive table lineitem: its files' footers read,
# one snapshot; then the same query on the Iceberg table and on the kept
# Hive definition.
echo -n "hive lineitem before: "; timed "SELECT count(*), sum(l_quantity), max(l_shipdate) FROM tpch.lineitem"
echo -n "CONVERT TO ICEBERG of tpch.lineitem: "; timed "ALTER TABLE tpch.lineitem CONVERT TO ICEBERG"
echo -n "iceberg lineitem after: "; timed "SELECT count(*), sum(l_quantity), max(l_shipdate) FROM tpch.lineitem"
echo -n "kept hive lineitem_backup_hive: "; timed "SELECT count(*), sum(l_quantity), max(l_shipdate) FROM tpch.lineitem_backup_hive"
echo -n "iceberg lineitem, one ship date: "; timed "SELECT count(*) FROM tpch.lineitem WHERE l_shipdate = DATE '1995-06-01'"

# The same for an ORC copy of lineitem (written by pyarrow, one ORC file
# per Parquet file): the Hive ORC table, its conversion, and the Iceberg
# table reading the ORC files.
if "$PYTHON" -c 'import pyarrow.orc' 2>/dev/null; then
  "$PYTHON" - "$DATA" <<'PY'
import sys, glob, os, pyarrow.parquet as pq, pyarrow.orc as orc
data = sys.argv[1]
os.makedirs(f"{data}/orc_lineitem")
for i, path in enumerate(sorted(glob.glob(f"{data}/lake/sample/tpch/lineitem/*.parquet"))):
    orc.write_table(pq.read_table(path), f"{data}/orc_lineitem/part-{i}.orc")
PY
  q -c "CREATE EXTERNAL TABLE tpch.lineitem_orc STORED AS ORC LOCATION '$DATA/orc_lineitem'"
  echo -n "hive ORC lineitem: "; timed "SELECT count(*), sum(l_quantity), max(l_shipdate) FROM tpch.lineitem_orc"
  echo -n "CONVERT TO ICEBERG of tpch.lineitem_orc: "; timed "ALTER TABLE tpch.lineitem_orc CONVERT TO ICEBERG"
  echo -n "iceberg ORC lineitem after: "; timed "SELECT count(*), sum(l_quantity), max(l_shipdate) FROM tpch.lineitem_orc"
  echo -n "iceberg ORC lineitem, one ship date: "; timed "SELECT count(*) FROM tpch.lineitem_orc WHERE l_shipdate = DATE '1995-06-01'"
fi
