#!/usr/bin/env bash
# Hostile statements against the release server: how long each takes to
# be answered or refused, under statement_timeout = 60 s, and whether the
# server still answers SELECT 1 afterwards.
# Usage: bench/hostile_sql.sh [path/to/glaux]   (default /var/tmp/glaux-release/release/glaux)
set -euo pipefail
GLAUX=${1:-/var/tmp/glaux-release/release/glaux}
PORT=${PORT:-5549}
dir=$(mktemp -d)
"$GLAUX" --data-dir "$dir/data" serve --port "$PORT" 2>"$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
python3 - "$PORT" "$dir" <<'PY'
import subprocess, sys, time
port, dir = sys.argv[1], sys.argv[2]
def psql(*args, timeout=120):
    return subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", port, "-U", "bench", "-d", "glaux",
                           "-v", "VERBOSITY=verbose", "-v", "ON_ERROR_STOP=1", *args], capture_output=True, text=True, timeout=timeout)
def run(name, sql):
    path = f"{dir}/q.sql"
    open(path, "w").write(sql)
    start = time.time()
    try:
        r = psql("-c", "SET statement_timeout = 60000", "-f", path)
        first = (r.stderr.strip().splitlines() or ["?"])[0]
        answer = first[first.find("ERROR:"):][:72] if r.returncode else "answered"
    except subprocess.TimeoutExpired:
        answer = "NO ANSWER in 120 s"
    took = time.time() - start
    alive = psql("-c", "SELECT 1", timeout=10).returncode == 0
    print(f"{name:38s} {len(sql):>9,d} B {took:7.2f} s  {answer}{'' if alive else '  SERVER NOT ANSWERING'}", flush=True)
n = lambda open_, mid, close, k: open_ * k + mid + close * k
run("ARRAY[ nested 50", "SELECT " + n("ARRAY[", "1", "]", 50))
run("ROW( nested 20", "SELECT " + n("ROW(", "1", ")", 20))
run("abs( nested 16 (the limit)", "SELECT " + n("abs(", "1", ")", 16))
run("ROW( nested 16 (the limit)", "SELECT " + n("ROW(", "1", ")", 16))
run("(SELECT nested 16 (the limit)", "SELECT " + n("(SELECT ", "1", ")", 16))
run("parentheses nested 100,000", "SELECT " + n("(", "1", ")", 100_000))
run("1+1+... 2,000 terms", "SELECT " + "+".join(["1"] * 2000))
run("10,000 ORs", "SELECT 1 WHERE " + " OR ".join(["1=1"] * 10_000))
run("IN list of 50,000", "SELECT 1 WHERE 1 IN (" + ",".join(map(str, range(50_000))) + ")")
run("VALUES of 20,000 rows, one line", "SELECT count(*) FROM (VALUES " + ",".join(f"({i})" for i in range(20_000)) + ") v(x)")
run("VALUES of 100,000 rows, a row a line", "SELECT count(*) FROM (VALUES " + ",\n".join(f"({i})" for i in range(100_000)) + ") v(x)")
run("VALUES of 100,000 rows, one line", "SELECT count(*) FROM (VALUES " + ",".join(f"({i})" for i in range(100_000)) + ") v(x)")
run("40,000 columns", "SELECT " + ",".join(f"{i} AS c{i}" for i in range(40_000)) + " LIMIT 0")
run("CASE of 2,000 branches", "SELECT CASE " + " ".join(f"WHEN {i}=1 THEN {i}" for i in range(2000)) + " END")
run("identifier of 100,000 characters", "SELECT 1 AS " + "a" * 100_000)
run("literal of 10 MB", "SELECT length('" + "a" * 10_000_000 + "')")
run("recursive CTE without end", "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
run("generate_series to 2,000,000,000", "SELECT count(*) FROM (SELECT generate_series(1, 2000000000)) s")
PY
rss() { echo $(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )); }
echo "server RSS: $(rss) MB just after, $(sleep 20; rss) MB 20 s later"
