#!/usr/bin/env bash
# Peak server memory (VmHWM) while a client reads results of growing size:
# if results stream, the peak stays flat as the row count grows.
# Usage: bench/stream_memory.sh [path/to/glaux]   (default target/debug/glaux)
set -euo pipefail
GLAUX=${1:-target/debug/glaux}
PORT=${PORT:-5547}
for rows in 1000000 10000000 40000000; do
  dir=$(mktemp -d)
  "$GLAUX" --data-dir "$dir" serve --port "$PORT" 2>/dev/null &
  pid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
  # psql discards the rows; the server streams them to it.
  psql -q -h 127.0.0.1 -p "$PORT" -U bench -d glaux -o /dev/null \
    -c "SELECT x, x * 2 AS y, 'row ' || x AS label FROM generate_series(1, $rows) AS t(x)"
  peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  printf '%10d rows: server peak RSS %6d MB\n' "$rows" $((peak / 1024))
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
