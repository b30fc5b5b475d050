"""TPC-H through glaux's wire protocol against DuckDB in-process on the
same Parquet files, in one run, every answer compared. Called by
bench/tpch.sh, which starts glaux; prints one line per query and the
geometric means.

  python bench/tpch.py LAKE PORT SCALE RUNS [QUERIES]
    LAKE: the folder holding <table>/data.parquet (glaux sample's tpch)
    QUERIES: comma-separated numbers (default all 22)
"""
import datetime
import decimal
import math
import os
import re
import sys
import time

import duckdb
import psycopg

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def queries(scale):
    text = open(os.path.join(os.path.dirname(__file__), "tpch", "queries.sql")).read()
    parts = re.split(r"^-- Q(\d+)\n", text, flags=re.M)
    out = {}
    for number, body in zip(parts[1::2], parts[2::2]):
        out[int(number)] = body.strip().rstrip(";").replace("{fraction}", repr(0.0001 / scale))
    return out


def timed(run, sql, runs):
    """(first run's seconds, best of the others, rows of the last)."""
    times, rows = [], None
    for _ in range(runs):
        start = time.perf_counter()
        rows = run(sql)
        times.append(time.perf_counter() - start)
    return times[0], min(times[1:] or times), rows


def value(v):
    if isinstance(v, (decimal.Decimal, int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, datetime.datetime):
        return v.date() if v.time() == datetime.time() else v
    return v


def same_cell(a, b):
    a, b = value(a), value(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def same(ours, theirs):
    def rows_match(x, y):
        return len(x) == len(y) and all(
            len(r) == len(s) and all(same_cell(a, b) for a, b in zip(r, s)) for r, s in zip(x, y))
    if rows_match(ours, theirs):
        return True
    # Ties under ORDER BY may come in either order.
    key = lambda r: [str(value(c)) for c in r]
    return rows_match(sorted(ours, key=key), sorted(theirs, key=key))


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    lake, port, scale, runs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    chosen = queries(scale)
    if len(sys.argv) > 5:
        chosen = {n: chosen[n] for n in map(int, sys.argv[5].split(","))}

    duck = duckdb.connect()
    duck.execute(f"SET threads = {os.cpu_count()}")
    for t in TABLES:
        duck.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/{t}/*.parquet')")
    glaux = psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=glaux", autocommit=True)
    glaux.execute("SET search_path = tpch")

    def run_glaux(sql):
        with glaux.cursor() as c:
            c.execute(sql)
            return c.fetchall()

    def run_duck(sql):
        return duck.execute(sql).fetchall()

    print(f"TPC-H scale {scale:g}, {runs} runs per query; glaux through psycopg {psycopg.__version__}, "
          f"DuckDB {duckdb.__version__} in-process, {os.cpu_count()} threads; seconds")
    print(f"{'query':<6}{'glaux cold':>11}{'glaux warm':>11}{'duck cold':>11}{'duck warm':>11}{'warm ratio':>11}  answer")
    columns = {k: [] for k in ("gc", "gw", "dc", "dw", "ratio")}
    failed = 0
    for n, sql in sorted(chosen.items()):
        dc, dw, theirs = timed(run_duck, sql, runs)
        try:
            gc, gw, ours = timed(run_glaux, sql, runs)
        except psycopg.Error as e:
            failed += 1
            print(f"Q{n:<5}{'error':>11}{'':>11}{dc:>11.3f}{dw:>11.3f}{'':>11}  {str(e).splitlines()[0]}")
            continue
        answer = "same" if same(ours, theirs) else "DIFFERENT"
        failed += answer != "same"
        for k, v in zip(columns, (gc, gw, dc, dw, gw / dw)):
            columns[k].append(v)
        print(f"Q{n:<5}{gc:>11.3f}{gw:>11.3f}{dc:>11.3f}{dw:>11.3f}{gw / dw:>11.2f}  {answer} ({len(ours)} rows)")
    g = {k: geomean(v) for k, v in columns.items()}
    print(f"{'geomean':<6}{g['gc']:>11.3f}{g['gw']:>11.3f}{g['dc']:>11.3f}{g['dw']:>11.3f}{g['gw'] / g['dw']:>11.2f}"
          f"  (warm: glaux/DuckDB; cold: {g['gc'] / g['dc']:.2f})")
    if failed:
        print(f"{failed} queries failed or answered differently")
        sys.exit(1)


if __name__ == "__main__":
    main()
