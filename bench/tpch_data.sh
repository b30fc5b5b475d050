# TPC-H data for a benchmark, sourced after GLAUX is set:
#   tpch_data SCALE   sets DATA to a glaux data dir holding tpch.* at that
#                     scale (one Parquet file per table, from `glaux sample`):
#                     TPCH_DATA, default /var/tmp/glaux-tpch-SCALE, outside
#                     the repository, generated once and reused by later runs.
tpch_data() {
  DATA="${TPCH_DATA:-/var/tmp/glaux-tpch-$1}"
  if [ ! -f "$DATA/sample/tpch/lineitem/data.parquet" ]; then
    rm -rf "$DATA"
    local start
    start=$(date +%s.%N)
    "$GLAUX" --data-dir "$DATA" sample --scale "$1" >/dev/null
    echo "TPC-H scale $1 generated into $DATA in $(echo "$(date +%s.%N) - $start" | bc) s"
  fi
}
