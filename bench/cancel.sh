#!/usr/bin/env bash
# Cancelled work must stop: for each heavy query, cancel it (psql's
# CancelRequest on SIGINT) or let statement_timeout end it after 2 s, then
# print how long the server kept using CPU after the client got its error
# (the last 200 ms window with more than 20 ms of CPU, 60 s at most) and
# how long a `SELECT 1` on a new connection took meanwhile.
# Usage: bench/cancel.sh [path/to/glaux]   (default /var/tmp/glaux-release/release/glaux)
set -euo pipefail
GLAUX=${1:-/var/tmp/glaux-release/release/glaux}
PORT=${PORT:-5548}
dir=$(mktemp -d)
mkdir -p "$dir/t"
seq 0 1999 | awk '{print $1 ",name" $1 "," $1 * 1.5}' > "$dir/t/data.csv"
"$GLAUX" --data-dir "$dir/data" serve --port "$PORT" 2>"$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
psql_args=(-X -q -h 127.0.0.1 -p "$PORT" -U bench -d glaux)
q() { psql "${psql_args[@]}" "$@"; }
q -c "CREATE EXTERNAL TABLE t (id bigint, name string, amount double) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '$dir/t'"
ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
rss() { echo $(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )); }
idle_rss=$(rss)
hz=$(getconf CLK_TCK)
order_keys=$(seq -s, 1 1000 | sed 's/\([0-9]*\)/t1.id+\1/g')
queries=(
  "SELECT count(*) FROM t t1, t t2, t t3 WHERE t1.id + t2.id + t3.id < 0"
  "SELECT count(DISTINCT t1.id * 100000 + t2.id + t3.id) FROM t t1, t t2, t t3"
  "SELECT t1.id FROM t t1, t t2 ORDER BY $order_keys"
  "SELECT t1.name, count(*) FROM t t1, t t2, t t3 GROUP BY t1.name ORDER BY 2 DESC LIMIT 3"
)
names=("triple cross join" "count distinct, triple cross join" "ORDER BY 1000 expressions" "group by, triple cross join")
for way in timeout cancel; do
  for i in "${!queries[@]}"; do
    if [ "$way" = timeout ]; then
      q -c "SET statement_timeout = 2000" -c "${queries[$i]}" >"$dir/out" 2>&1 || true
    else
      # psql itself in the background (not a shell function, whose
      # subshell would ignore SIGINT), so SIGINT makes it send a cancel.
      psql "${psql_args[@]}" -c "${queries[$i]}" >"$dir/out" 2>&1 & client=$!
      sleep 2; kill -INT $client 2>/dev/null || true; wait $client 2>/dev/null || true
    fi
    ended=$(date +%s.%N)
    # A new connection's SELECT 1, timed while the CPU is watched.
    ( start1=$(date +%s.%N); q -c "SELECT 1" >/dev/null; echo "$(date +%s.%N) - $start1" | bc > "$dir/select1" ) &
    selecting=$!
    last=$ended; prev=$(ticks)
    for _ in $(seq 300); do
      sleep 0.2; cur=$(ticks)
      if [ $((cur - prev)) -gt $((hz / 50)) ]; then last=$(date +%s.%N); fi
      prev=$cur
      if [ "$(echo "$(date +%s.%N) - $last > 2" | bc)" = 1 ]; then break; fi
    done
    wait $selecting; select1=$(cat "$dir/select1")
    busy=$(echo "$last - $ended" | bc)
    outcome=$(grep -o "ERROR: .*" "$dir/out" | head -1 | cut -c1-60 || true)
    printf '%-8s %-34s CPU busy %5.2f s after the error; SELECT 1 meanwhile %5.2f s (%s)\n' \
      "$way" "${names[$i]}" "$busy" "$select1" "${outcome:-no error}"
  done
done
sleep 5
echo "server RSS: $idle_rss MB idle before, $(rss) MB idle 5 s after the last query"
