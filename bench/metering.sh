#!/usr/bin/env bash
# What workgroup metering costs on a full scan: the same queries on two
# servers over the same data, one with per-query and per-scan metering
# (the default) and one with it off (GLAUX_UNMETERED=1, a switch that
# exists for this benchmark only).
#
# The figure that decides is the servers' CPU time (user + system, from
# /proc/PID/stat), which waiting for the other server or for psql does
# not blur as it blurs wall time. Each round runs a batch of the query on
# each server, one right after the other, in alternating order, so a
# round compares the two under the same machine load. The script prints
# each round's CPU ms per query, the totals, and the mean of the rounds'
# differences with its 95% interval (two standard errors); then the same
# for wall time. A third, tiny query shows the fixed cost per query.
#
# On this 2-core machine that interval is a few percent wide, wider than
# the 2% target. So the script then profiles the metered server with perf
# (when perf is installed) while it runs both queries again. It prints the
# share of the server's CPU samples spent in metering code: making the
# per-query and per-scan metered states and contexts (whole), and the
# counting stores, meters and wrappers (their own time, not the reads or
# the planning they pass on). The ledger's per-query writes are shown apart; the unmetered
# server writes them too.
#   bash bench/metering.sh [SCALE] [ROUNDS] [BATCH]
#     TPC-H scale (default 0.5), rounds (default 10), queries per batch (default 5)
#   GLAUX=path/to/glaux (default target/debug/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/debug/glaux}"
SCALE="${1:-0.5}"
ROUNDS="${2:-10}"
BATCH="${3:-5}"
DATA="$(mktemp -d)"
trap 'kill $METERED $UNMETERED 2>/dev/null || true; rm -rf "$DATA"' EXIT
"$GLAUX" --data-dir "$DATA" sample --scale "$SCALE" >/dev/null
"$GLAUX" --data-dir "$DATA" serve --port 55441 >"$DATA/metered.log" 2>&1 &
METERED=$!
GLAUX_UNMETERED=1 "$GLAUX" --data-dir "$DATA" serve --port 55442 >"$DATA/unmetered.log" 2>&1 &
UNMETERED=$!
for port in 55441 55442; do
  for _ in $(seq 100); do psql -h 127.0.0.1 -p $port -U bench -d glaux -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
done
pid_of() { if [ "$1" = 55441 ]; then echo $METERED; else echo $UNMETERED; fi; }
name_of() { if [ "$1" = 55441 ]; then echo m; else echo u; fi; }
# CPU milliseconds the server has used (clock ticks of 10 ms).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# One batch on a server: appends CPU and wall ms per query.
batch() {
  local port=$1 pid n c0 w0
  pid=$(pid_of "$port"); n=$(name_of "$port")
  c0=$(cpu_ms "$pid"); w0=$(now_ms)
  psql -X -q -h 127.0.0.1 -p "$port" -U bench -d glaux -f "$DATA/batch.sql" >/dev/null 2>&1
  echo "scale=2; ($(cpu_ms "$pid") - $c0) / $N" | bc >>"$DATA/$n.cpu"
  echo "scale=2; ($(now_ms) - $w0) / $N" | bc >>"$DATA/$n.wall"
}
total() { paste -sd+ "$1" | bc; }
# One batch of each query, on the metered server.
both() {
  for query in "${QUERIES[@]}"; do
    for _ in $(seq "$BATCH"); do echo "$query;"; done
  done >"$DATA/both.sql"
  psql -X -q -h 127.0.0.1 -p 55441 -U bench -d glaux -f "$DATA/both.sql" >/dev/null 2>&1
}
# The rounds' differences (metered - unmetered) / unmetered, in %: mean
# and two standard errors.
paired() {
  paste "$1" "$2" | awk '{d = ($1 - $2) * 100 / $2; s += d; q += d * d; n++}
    END {m = s / n; se = sqrt((q / n - m * m) / (n - 1)); printf "%.2f %% +- %.2f", m, 2 * se}'
}
QUERIES=("SELECT sum(l_quantity), sum(l_extendedprice), count(*) FROM tpch.lineitem"
         "SELECT count(*) FROM tpch.lineitem WHERE l_comment LIKE '%special%'")
# The fixed cost per query shows on a tiny table, in batches 40 times as
# long (CPU time is counted in 10 ms ticks).
SMALL="SELECT count(*) FROM tpch.nation"
for query in "${QUERIES[@]}" "$SMALL"; do
  N=$BATCH
  if [ "$query" = "$SMALL" ]; then N=$((BATCH * 40)); fi
  echo "$query   (batches of $N)"
  for _ in $(seq "$N"); do echo "$query;"; done >"$DATA/batch.sql"
  batch 55441; batch 55442   # warm the file cache and the footer caches
  rm -f "$DATA"/{m,u}.{cpu,wall}
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then batch 55441; batch 55442; else batch 55442; batch 55441; fi
  done
  for kind in cpu wall; do
    m=$(total "$DATA/m.$kind"); u=$(total "$DATA/u.$kind")
    echo "  $kind ms per query, by round:"
    echo "    metered:   $(tr '\n' ' ' <"$DATA/m.$kind")"
    echo "    unmetered: $(tr '\n' ' ' <"$DATA/u.$kind")"
    echo "    totals: metered $m, unmetered $u ($(echo "scale=2; ($m - $u) * 100 / $u" | bc) %)"
    echo "    metering costs, by round: $(paired "$DATA/m.$kind" "$DATA/u.$kind") %"
  done
done

command -v perf >/dev/null || { echo "perf is not installed: no profile"; exit 0; }
echo "Profile of the metered server, $((ROUNDS / 2)) batches of each query:"
perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$METERED" -o "$DATA/perf.data" >/dev/null 2>&1 &
PERF=$!
sleep 1
for _ in $(seq $((ROUNDS / 2))); do both; done
kill -INT $PERF; wait $PERF || true
DEBUGINFOD_URLS= perf report -i "$DATA/perf.data" --children --sort symbol --stdio -q --percent-limit 0 -g none --no-inline 2>/dev/null |
  awk '
    { children = $1 + 0; own = $2 + 0; symbol = $0; sub(/^ *[0-9.]+% +[0-9.]+% +\[.\] /, "", symbol); sub(/[ -]+$/, "", symbol) }
    symbol ~ /^glaux::table::metered::(charged_state|metered_state|query_context|metered_context)$/ || symbol ~ /drop_in_place<glaux::table::metered::ScanSession>/ {
      printf "  %6.2f%%  %s (whole)\n", children, symbol; metering += children; next }
    symbol ~ /glaux::table::store::CountingStore|glaux::workgroup::Meter|glaux::engine::metering::Recorded|glaux::table::metered::(Metered|Scan)/ {
      if (own > 0) printf "  %6.2f%%  %s (own)\n", own, symbol; metering += own; next }
    symbol ~ /^glaux::engine::metering::(begin|QueryRun::finish)/ { ledger += children }
    END {
      printf "  metering: %.2f%% of the server'"'"'s CPU samples\n", metering
      printf "  ledger and workgroup checks (begin, finish; both servers do them): %.2f%%\n", ledger
    }'
