#!/usr/bin/env bash
# What workgroup metering costs on a full scan: the same queries on two
# servers over the same data, one with per-query and per-scan metering
# (the default) and one with it off (GLAUX_UNMETERED=1, a switch that
# exists for this benchmark only). Prints each run's time (psql \timing)
# and the medians.
#   bash bench/metering.sh [SCALE] [RUNS]   (TPC-H scale, default 0.5; runs, default 7)
#   GLAUX=path/to/glaux (default target/debug/glaux)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GLAUX="${GLAUX:-$ROOT/target/debug/glaux}"
SCALE="${1:-0.5}"
RUNS="${2:-7}"
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
time_ms() { psql -X -q -h 127.0.0.1 -p "$1" -U bench -d glaux -c '\timing on' -c "$2" 2>/dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for query in "SELECT sum(l_quantity), sum(l_extendedprice), count(*) FROM tpch.lineitem" \
             "SELECT count(*) FROM tpch.lineitem WHERE l_comment LIKE '%special%'"; do
  echo "$query"
  time_ms 55441 "$query" >/dev/null; time_ms 55442 "$query" >/dev/null   # warm the file cache
  : >"$DATA/m"; : >"$DATA/u"
  for _ in $(seq "$RUNS"); do
    time_ms 55441 "$query" >>"$DATA/m"
    time_ms 55442 "$query" >>"$DATA/u"
  done
  m=$(median <"$DATA/m"); u=$(median <"$DATA/u")
  echo "  metered   ms: $(tr '\n' ' ' <"$DATA/m") median $m"
  echo "  unmetered ms: $(tr '\n' ' ' <"$DATA/u") median $u"
  echo "  overhead: $(echo "scale=2; ($m - $u) * 100 / $u" | bc) %"
done
