"""Python PostgreSQL clients against a running glaux: psycopg 3, psycopg2,
asyncpg, pg8000, SQLAlchemy 2 (Inspector and Core), pandas, and psqlODBC
through pyodbc. Run by tests/integration/drivers.rs (which starts the
server and creates shop.sales) as:

    python3 python_clients.py PORT

Prints "ok NAME" or "FAIL NAME: why" per check; exits 1 if any failed.
"""

import asyncio
import datetime as dt
import sys
import traceback
from decimal import Decimal

PORT = int(sys.argv[1])
HOST, USER = "127.0.0.1", "tester"
DB = sys.argv[2] if len(sys.argv) > 2 else "glaux"
SALES = [
    (1, 10, 1.5, Decimal("15.00"), "north", dt.date(2024, 1, 15), True),
    (2, 3000000000, 2.25, Decimal("1234567.89"), "south", dt.date(2024, 2, 29), False),
    (3, -5, -0.125, Decimal("-42.50"), "Zürich – 東京", dt.date(1999, 12, 31), True),
]
SELECT = "SELECT id, qty, price, amount, region, sale_date, paid FROM shop.sales"
failures = []


def check(name, body):
    try:
        body()
        print(f"ok {name}")
    except Exception as e:  # noqa: BLE001 - report every failure
        failures.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        traceback.print_exc(file=sys.stdout)


def eq(expected, got, what):
    if expected != got:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


# ------------------------------------------------------------------ psycopg 3
def psycopg3():
    import psycopg

    conninfo = f"host={HOST} port={PORT} user={USER} dbname={DB}"

    def extended_params():
        with psycopg.connect(conninfo) as c:
            rows = c.execute(SELECT + " WHERE id = %s AND paid = %s", (1, True)).fetchall()
            eq([SALES[0]], rows, "row by parameters")

    def binary_results():
        with psycopg.connect(conninfo) as c:
            rows = c.cursor(binary=True).execute(SELECT + " ORDER BY id").fetchall()
            eq(SALES, rows, "binary rows")

    def named_prepared():
        with psycopg.connect(conninfo) as c:
            for i in (1, 2, 3, 1, 2, 3):
                got = c.execute("SELECT region FROM shop.sales WHERE id = %s", (i,), prepare=True).fetchone()
                eq(SALES[i - 1][4], got[0], "region")

    def server_side_cursor():
        with psycopg.connect(conninfo) as c:
            with c.cursor(name="sales_cursor") as cur:
                cur.itersize = 1
                cur.execute(SELECT + " ORDER BY id")
                eq(SALES, list(cur), "rows through a named cursor")

    def pipeline():
        with psycopg.connect(conninfo) as c:
            with c.pipeline():
                cursors = [c.execute("SELECT %s::int * 2", (i,)) for i in range(5)]
            eq([0, 2, 4, 6, 8], [cur.fetchone()[0] for cur in cursors], "pipelined results")

    def copy_out():
        with psycopg.connect(conninfo) as c:
            with c.cursor().copy("COPY (SELECT id, region FROM shop.sales ORDER BY id) TO STDOUT") as copy:
                rows = [tuple(r) for r in copy.rows()]
            eq([("1", "north"), ("2", "south"), ("3", "Zürich – 東京")], rows, "copied rows")

    def errors():
        with psycopg.connect(conninfo) as c:
            try:
                c.execute("SELECT * FROM shop.nope")
                raise AssertionError("no error")
            except psycopg.errors.UndefinedTable as e:
                eq("42P01", e.sqlstate, "sqlstate")

    check("psycopg3.extended_params", extended_params)
    check("psycopg3.binary_results", binary_results)
    check("psycopg3.named_prepared_statements", named_prepared)
    check("psycopg3.server_side_cursor", server_side_cursor)
    check("psycopg3.pipeline", pipeline)
    check("psycopg3.copy_to_stdout", copy_out)
    check("psycopg3.sqlstate", errors)


# ------------------------------------------------------------------ psycopg2
def psycopg2_checks():
    import psycopg2

    def params_and_named_cursor():
        c = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=DB)
        try:
            cur = c.cursor()
            cur.execute(SELECT + " WHERE region = %s", ("south",))
            eq([SALES[1]], cur.fetchall(), "row by parameter")
            named = c.cursor("named")
            named.execute(SELECT + " ORDER BY id")
            eq(SALES[:2], named.fetchmany(2), "first two through a named cursor")
            eq(SALES[2:], named.fetchall(), "the rest")
            named.close()
            c.rollback()
            try:
                cur.execute("SELECT 1/0")
                raise AssertionError("no error")
            except psycopg2.Error as e:
                eq("22012", e.pgcode, "pgcode")
        finally:
            c.close()

    check("psycopg2.params_named_cursor_sqlstate", params_and_named_cursor)


# ------------------------------------------------------------------ asyncpg
def asyncpg_checks():
    import asyncpg

    async def go():
        c = await asyncpg.connect(host=HOST, port=PORT, user=USER, database=DB)
        try:
            rows = await c.fetch(SELECT + " WHERE sale_date >= $1 AND qty > $2 ORDER BY id", dt.date(2024, 1, 1), 5)
            eq(SALES[:2], [tuple(r) for r in rows], "typed parameters")
            stmt = await c.prepare("SELECT amount FROM shop.sales WHERE id = $1")
            eq(Decimal("-42.50"), await stmt.fetchval(3), "prepared statement")
        finally:
            await c.close()

    check("asyncpg.typed_params_prepared", lambda: asyncio.run(asyncio.wait_for(go(), 60)))


# ------------------------------------------------------------------ pg8000
def pg8000_checks():
    import pg8000.native

    def run():
        c = pg8000.native.Connection(USER, host=HOST, port=PORT, database=DB)
        try:
            rows = c.run("SELECT id, region FROM shop.sales WHERE id = :i", i=2)
            eq([[2, "south"]], rows, "row")
        finally:
            c.close()

    check("pg8000.native_params", run)


# ------------------------------------------------------------------ SQLAlchemy / pandas
def sqlalchemy_checks():
    import sqlalchemy as sa

    for driver in ("psycopg2", "psycopg", "pg8000"):
        engine = sa.create_engine(f"postgresql+{driver}://{USER}@{HOST}:{PORT}/{DB}")

        def inspect(engine=engine):
            insp = sa.inspect(engine)
            names = insp.get_schema_names()
            if "shop" not in names:
                raise AssertionError(f"schemas {names}")
            eq(["sales"], insp.get_table_names(schema="shop"), "tables")
            columns = insp.get_columns("sales", schema="shop")
            eq(["id", "qty", "price", "amount", "region", "sale_date", "paid"], [c["name"] for c in columns], "columns")
            eq("NUMERIC(12, 2)", str(columns[3]["type"]), "amount type")
            eq([], insp.get_foreign_keys("sales", schema="shop"), "foreign keys")
            eq({"constrained_columns": [], "name": None}, insp.get_pk_constraint("sales", schema="shop"), "primary key")
            eq([], insp.get_indexes("sales", schema="shop"), "indexes")

        def core(engine=engine):
            table = sa.Table("sales", sa.MetaData(), schema="shop", autoload_with=engine)
            with engine.connect() as conn:
                n = conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.paid.is_(True))).scalar()
                eq(2, n, "paid count")

        check(f"sqlalchemy.{driver}.inspector", inspect)
        check(f"sqlalchemy.{driver}.reflect_and_select", core)

    def pandas_read():
        import pandas as pd

        engine = sa.create_engine(f"postgresql+psycopg2://{USER}@{HOST}:{PORT}/{DB}")
        frame = pd.read_sql("SELECT id, amount FROM shop.sales ORDER BY id", engine)
        eq([1, 2, 3], list(frame["id"]), "ids")
        frame = pd.read_sql_table("sales", engine, schema="shop")
        eq(3, len(frame), "rows of read_sql_table")

    check("pandas.read_sql", pandas_read)


# ------------------------------------------------------------------ psqlODBC
def odbc_checks():
    import pyodbc

    base = f"DRIVER={{PostgreSQL Unicode}};SERVER={HOST};PORT={PORT};DATABASE={DB};UID={USER};PWD=x"

    def catalog_functions():
        c = pyodbc.connect(base, autocommit=True)
        try:
            tables = [(r.table_schem, r.table_name) for r in c.cursor().tables(schema="shop")]
            eq([("shop", "sales")], tables, "SQLTables")
            columns = [(r.column_name, r.type_name) for r in c.cursor().columns(table="sales", schema="shop")]
            eq(("amount", "numeric"), columns[3], "SQLColumns amount")
            eq(7, len(columns), "SQLColumns count")
            types = [r.type_name for r in c.cursor().getTypeInfo()]
            for t in ("int4", "text", "numeric", "date", "bool"):
                if t not in types:
                    raise AssertionError(f"SQLGetTypeInfo lacks {t}: {types}")
            eq([], list(c.cursor().primaryKeys("sales", schema="shop")), "SQLPrimaryKeys")
            list(c.cursor().statistics("sales", schema="shop"))
        finally:
            c.close()

    def parameters(server_prepare):
        def body():
            c = pyodbc.connect(base + f";UseServerSidePrepare={server_prepare}", autocommit=True)
            try:
                cur = c.cursor()
                cur.execute("SELECT id FROM shop.sales WHERE qty > ? AND region <> ? AND paid = ? ORDER BY id", 0, "x", True)
                eq([1], [r[0] for r in cur.fetchall()], "ids")
            finally:
                c.close()

        return body

    def declare_fetch():
        c = pyodbc.connect(base + ";UseDeclareFetch=1;Fetch=2")
        try:
            cur = c.cursor()
            cur.execute("SELECT id FROM shop.sales ORDER BY id")
            eq([1, 2, 3], [r[0] for r in cur.fetchall()], "ids fetched two at a time")
            c.commit()
        finally:
            c.close()

    check("odbc.catalog_functions", catalog_functions)
    check("odbc.params_server_prepare", parameters(1))
    check("odbc.params_client_side", parameters(0))
    check("odbc.declare_fetch", declare_fetch)


for group in (psycopg3, psycopg2_checks, asyncpg_checks, pg8000_checks, sqlalchemy_checks, odbc_checks):
    try:
        group()
    except ImportError as e:
        failures.append(group.__name__)
        print(f"FAIL {group.__name__}: {e} (bash .ci/run installs the client libraries)")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
