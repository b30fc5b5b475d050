//! The differential corpus of connector catalogs: the same rows loaded
//! into PostgreSQL and MariaDB (real servers, started here), a SQLite
//! file and a Parquet table of the lake; each query run against every copy, its
//! answer from a source (with whatever glaux sent there) compared
//! exactly, as text, with the lake's, which glaux answers alone. NULLs,
//! the empty string, case and accents, boundary dates, timestamps and
//! decimals are in the rows; the queries filter, aggregate, sort, limit
//! and join within a source and with the lake.

use crate::common::{plan_text, simple_rows, TestServer};
use crate::connectors::{start_mariadb, start_postgres, PASSWORD, USER};
use crate::flight_server::start_flight_sql;
use glaux_connector::pushdown::Dialect;
use glaux_connector::sql::quote;

/// id, name, price numeric(10,2), day, at, ok, score, qty: as SQL
/// literals (NULL unquoted), booleans as true/false.
const ITEMS: &[[&str; 8]] = &[
    ["1", "'a'", "1.50", "'2024-01-01'", "'2024-01-01 10:00:00'", "true", "0.5", "10"],
    ["2", "'b'", "2.25", "'2024-02-29'", "'2024-02-29 23:59:59'", "false", "NULL", "20"],
    ["3", "'B'", "NULL", "NULL", "NULL", "NULL", "2.5", "NULL"],
    ["4", "''", "0.00", "'0001-01-01'", "'1970-01-01 00:00:00'", "true", "-1.25", "0"],
    ["5", "'it''s \\ here'", "99999999.99", "'9999-12-31'", "'2200-01-01 00:00:00'", "false", "1e300", "-5"],
    ["6", "NULL", "-1.00", "'2024-01-01'", "'2024-01-01 10:00:00'", "NULL", "2", "7"],
    ["7", "'é'", "0.01", "'1969-12-31'", "'1969-12-31 23:59:59.999999'", "true", "3.0", "10"],
    ["8", "'e'", "-0.01", "'2000-02-29'", "'2000-01-01 00:00:00.5'", "false", "0.125", "10"],
    ["9", "'É'", "10.00", "'2024-03-01'", "'2024-03-01 00:00:00'", "true", "100", "3"],
    ["10", "' pad'", "5.55", "'1900-03-01'", "'1900-03-01 12:00:00'", "NULL", "NULL", "30"],
    ["11", "'a'", "1.50", "'2024-01-01'", "'2024-01-01 10:00:00'", "true", "0.5", "10"],
    ["12", "'zz'", "-99999999.99", "'1582-10-15'", "'1900-01-01 00:00:00'", "false", "-2.5", "-100"],
];

/// id, item, who.
const OWNERS: &[[&str; 3]] =
    &[["1", "1", "'x'"], ["2", "2", "'y'"], ["3", "2", "'z'"], ["4", "99", "'w'"], ["5", "NULL", "'v'"]];

/// Conditions on items: each makes `SELECT id FROM t WHERE ... ORDER BY id`.
const CONDITIONS: &[&str] = &[
    "id = 3",
    "id <> 3",
    "id > 5",
    "id >= 5 AND id < 9",
    "id BETWEEN 2 AND 4",
    "id NOT BETWEEN 2 AND 10",
    "id IN (1, 3, 5)",
    "id NOT IN (1, 3)",
    "qty IS NULL",
    "qty IS NOT NULL",
    "qty = 10",
    "qty > 0 OR qty IS NULL",
    "NOT (qty > 5)",
    "qty < 0",
    "price > 1.50",
    "price = 1.5",
    "price <= 0",
    "price BETWEEN -1 AND 1",
    "price IN (1.50, 10.00)",
    "price IS NULL",
    "price < -99999999",
    "day = DATE '2024-01-01'",
    "day >= DATE '2024-01-01'",
    "day < DATE '1970-01-01'",
    "day BETWEEN DATE '1900-01-01' AND DATE '2000-12-31'",
    "day IS NULL",
    "day = DATE '9999-12-31'",
    "at > TIMESTAMP '2024-01-01 10:00:00'",
    "at <= TIMESTAMP '1970-01-01 00:00:00'",
    "at = TIMESTAMP '2000-01-01 00:00:00.5'",
    "at < TIMESTAMP '1970-01-01 00:00:00'",
    "ok",
    "NOT ok",
    "ok IS NULL",
    "ok = true AND qty = 10",
    "ok IS NOT TRUE",
    "name = 'a'",
    "name = 'B'",
    "name < 'b'",
    "name > 'B'",
    "name LIKE 'a%'",
    "name LIKE '%e%'",
    "name ILIKE 'b'",
    "name = ''",
    "name IS NULL",
    "name IN ('a', 'é', '')",
    "name = 'it''s \\ here'",
    "name <> 'a'",
    "lower(name) = 'b'",
    "upper(name) = 'É'",
    "length(name) > 2",
    "name || 'x' = 'ax'",
    "score > 1",
    "score = 0.5",
    "score IS NULL",
    "score < 0",
    "id + qty > 15",
    "qty / 3 = 3",
    "qty % 3 = 1",
    "CAST(price AS INT) = 1",
    "price * 2 > 3",
    "coalesce(qty, -1) = -1",
    "(id > 2 AND id < 6) OR name = 'zz'",
    "NOT (id IN (1, 2) OR qty IS NULL)",
    "extract(year FROM day) = 2024",
    "day + INTERVAL '1 day' = DATE '2024-03-01'",
    "CAST(at AS DATE) = DATE '2024-01-01'",
    "qty = id",
    "qty > id",
];

/// Other queries: `{t}` is the items table, `{o}` the owners table of
/// the same copy, `lake.*` the lake's own.
const QUERIES: &[&str] = &[
    "SELECT count(*), count(name), count(price), sum(price), min(price), max(price), avg(qty) FROM {t}",
    "SELECT ok, count(*), sum(qty) FROM {t} GROUP BY ok ORDER BY ok NULLS FIRST",
    "SELECT name, count(*) FROM {t} GROUP BY name ORDER BY name NULLS FIRST",
    "SELECT day, sum(price) FROM {t} GROUP BY day ORDER BY day NULLS LAST",
    "SELECT qty, count(*) FROM {t} WHERE qty > 0 GROUP BY qty HAVING count(*) > 1 ORDER BY qty",
    "SELECT id, name FROM {t} ORDER BY id LIMIT 3",
    "SELECT id FROM {t} WHERE qty = 10 ORDER BY id LIMIT 2",
    "SELECT id FROM {t} ORDER BY price DESC NULLS LAST, id LIMIT 4",
    "SELECT id FROM {t} ORDER BY name NULLS FIRST, id LIMIT 5",
    "SELECT DISTINCT qty FROM {t} ORDER BY qty NULLS FIRST",
    "SELECT count(DISTINCT name) FROM {t}",
    "SELECT max(at), min(at), max(day), min(day) FROM {t}",
    "SELECT sum(score), max(score), min(score) FROM {t} WHERE score < 1e10",
    "SELECT * FROM {t} ORDER BY id",
    "SELECT count(*) FROM {t} WHERE at IS NOT NULL AND day IS NOT NULL",
    "SELECT id FROM {t} WHERE id > 2 LIMIT 0",
    "SELECT count(*) FROM {t} WHERE id > 100",
    "SELECT sum(qty), sum(price) FROM {t} WHERE id > 100",
    "SELECT id, row_number() OVER (ORDER BY price NULLS LAST, id) FROM {t} ORDER BY id",
    "SELECT id FROM {t} WHERE price > (SELECT avg(price) FROM {t}) ORDER BY id",
    "SELECT i.id, o.who FROM {t} i JOIN {o} o ON o.item = i.id ORDER BY o.id",
    "SELECT i.id, o.who FROM {t} i LEFT JOIN {o} o ON o.item = i.id ORDER BY i.id, o.who NULLS FIRST",
    "SELECT o.who, i.name FROM {o} o LEFT JOIN {t} i ON i.id = o.item AND i.qty > 15 ORDER BY o.id",
    "SELECT o.who, i.id FROM {o} o RIGHT JOIN {t} i ON i.id = o.item WHERE i.id < 4 ORDER BY i.id, o.who",
    "SELECT o.who FROM {o} o WHERE o.item IN (SELECT id FROM {t} WHERE qty = 10) ORDER BY o.who",
    "SELECT o.who FROM {o} o WHERE NOT EXISTS (SELECT 1 FROM {t} i WHERE i.id = o.item) ORDER BY o.who",
    "SELECT i.id, o.who FROM {t} i CROSS JOIN {o} o WHERE i.id = o.item + 1 ORDER BY 1, 2",
    "SELECT count(*) FROM {t} i FULL JOIN {o} o ON o.item = i.id",
    "SELECT count(*), count(o.id) FROM {t} i LEFT JOIN {o} o ON o.item = i.id WHERE o.id IS NULL",
    "SELECT name FROM {t} UNION SELECT who FROM {o} ORDER BY 1 NULLS FIRST",
    "SELECT id FROM {t} WHERE id < 4 UNION ALL SELECT item FROM {o} ORDER BY 1 NULLS LAST",
    "SELECT id FROM {t} EXCEPT SELECT item FROM {o} ORDER BY 1",
    "SELECT i.id, o.who FROM {t} i JOIN lake.owners o ON o.item = i.id ORDER BY o.id",
    "SELECT o.who, i.price FROM lake.owners o LEFT JOIN {t} i ON i.id = o.item ORDER BY o.id",
    "SELECT l.id FROM lake.items l JOIN {t} s ON s.id = l.id AND s.qty = l.qty ORDER BY l.id",
    "SELECT l.id, s.id FROM lake.items l JOIN {t} s ON s.name = l.name ORDER BY 1, 2",
    "SELECT i.id FROM {t} i WHERE i.id IN (SELECT item FROM lake.owners) ORDER BY 1",
    "SELECT count(*) FROM {t} i JOIN {o} o ON o.item = i.id AND i.name LIKE '%'",
    "SELECT name, max(price) FROM {t} WHERE price IS NOT NULL GROUP BY name HAVING max(price) > 0 ORDER BY 1",
    "SELECT CASE WHEN qty > 5 THEN 'big' ELSE 'small' END AS size, count(*) FROM {t} GROUP BY 1 ORDER BY 1",
    "SELECT id, qty FROM {t} ORDER BY qty DESC NULLS FIRST, id LIMIT 3",
    "SELECT o.item, count(*), sum(i.qty), min(i.day), max(i.price) FROM {t} i JOIN {o} o ON o.item = i.id GROUP BY o.item ORDER BY 1",
    "SELECT qty, count(*) FROM {t} GROUP BY qty ORDER BY count(*) DESC, qty NULLS FIRST LIMIT 3",
    "SELECT sum(price), sum(qty), count(day), count(*) FROM {t} WHERE day >= DATE '2000-01-01'",
    "SELECT i.id, o.id, j.name FROM {t} i JOIN {o} o ON o.item = i.id JOIN {t} j ON j.id = o.id ORDER BY 1, 2",
    "SELECT day, count(*), max(at) FROM {t} GROUP BY day ORDER BY day DESC NULLS FIRST LIMIT 3",
    "SELECT count(*) FROM (SELECT i.id FROM {t} i JOIN {o} o ON o.item = i.id LIMIT 2) s",
    "SELECT price, min(id) FROM {t} GROUP BY price ORDER BY price NULLS FIRST LIMIT 4",
    "SELECT id FROM {t} WHERE qty > 0 ORDER BY at DESC NULLS LAST, id LIMIT 3 OFFSET 1",
    "SELECT count(*) OVER () FROM {t} i JOIN {o} o ON o.item = i.id WHERE i.id > 1",
    "SELECT i.id FROM {t} i WHERE i.id IN (SELECT o.item FROM lake.owners o WHERE o.item = i.qty - 8) ORDER BY 1",
];

#[tokio::test]
async fn sources_answer_as_the_lake_does() {
    let pg = start_postgres().await;
    let columns = "id bigint, name text, price numeric(10,2), day date, at timestamp, ok boolean, score double precision, qty integer";
    let rows = |f: &dyn Fn(&[&str]) -> String| -> String {
        ITEMS.iter().map(|r| format!("({})", f(r))).collect::<Vec<_>>().join(", ")
    };
    let plain = |r: &[&str]| r.join(", ");
    let owners = OWNERS.iter().map(|r| format!("({})", r.join(", "))).collect::<Vec<_>>().join(", ");
    pg.client()
        .await
        .unwrap()
        .batch_execute(&format!(
            "CREATE TABLE items ({columns}); INSERT INTO items VALUES {};
             CREATE TABLE owners (id bigint, item bigint, who text); INSERT INTO owners VALUES {owners};",
            rows(&plain)
        ))
        .await
        .unwrap();

    // PostgreSQL's literals as they are: no backslash escapes.
    let maria = start_mariadb(&format!(
        "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');\n\
         CREATE TABLE items (id bigint, name text, price decimal(10,2), day date, at datetime(6), ok tinyint(1), score double, qty int);\n\
         INSERT INTO items VALUES {};\n\
         CREATE TABLE owners (id bigint, item bigint, who text);\n\
         INSERT INTO owners VALUES {owners};\n",
        rows(&plain)
    ))
    .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.db");
    {
        let lite = rusqlite::Connection::open(&file).unwrap();
        // SQLite has no boolean literal type: 1 and 0.
        let sqlite_row = |r: &[&str]| r.join(", ").replace("true", "1").replace("false", "0");
        lite.execute_batch(&format!(
            "CREATE TABLE items (id INTEGER, name TEXT, price DECIMAL(10,2), day DATE, at TIMESTAMP, ok BOOLEAN, score REAL, qty INTEGER);
             INSERT INTO items VALUES {};
             CREATE TABLE owners (id INTEGER, item INTEGER, who TEXT); INSERT INTO owners VALUES {owners};",
            rows(&sqlite_row)
        ))
        .unwrap();
    }

    let server = TestServer::start(crate::common::engine_in(&dir.path().join("glaux")).await).await;
    let client = server.connect().await;
    let quoted = PASSWORD.replace('\'', "''");
    client
        .batch_execute(&format!(
            "CREATE CATALOG pg USING postgres WITH (url = '{}', user = '{USER}', password = '{quoted}', sslmode = 'disable');
             CREATE CATALOG lite USING sqlite WITH (path = '{}');
             CREATE CATALOG maria USING mysql WITH (url = '{}', user = '{USER}', password = '{quoted}');
             CREATE DATABASE lake;",
            pg.url(),
            file.display(),
            maria.url()
        ))
        .await
        .unwrap();
    // The lake's copy, typed by glaux alone.
    let typed = |r: &[&str]| {
        format!(
            "CAST({} AS BIGINT), CAST({} AS TEXT), CAST({} AS DECIMAL(10,2)), CAST({} AS DATE), CAST({} AS TIMESTAMP), CAST({} AS BOOLEAN), CAST({} AS DOUBLE), CAST({} AS INT)",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        )
    };
    client
        .batch_execute(&format!(
            "CREATE TABLE lake.items WITH (external_location = '{}') AS
               SELECT * FROM (VALUES {}) AS t(id, name, price, day, at, ok, score, qty);
             CREATE TABLE lake.owners WITH (external_location = '{}') AS
               SELECT CAST(id AS BIGINT) AS id, CAST(item AS BIGINT) AS item, who FROM (VALUES {owners}) AS t(id, item, who);",
            dir.path().join("items").display(),
            rows(&typed),
            dir.path().join("owners").display(),
        ))
        .await
        .unwrap();

    // A Flight SQL server of the tests' own (DataFusion behind it) with
    // the same rows, as glaux's lake types them.
    let served = datafusion::prelude::SessionContext::new();
    served
        .sql(&format!(
            "CREATE TABLE items AS SELECT * FROM (VALUES {}) AS t(id, name, price, day, at, ok, score, qty)",
            rows(&typed)
        ))
        .await
        .unwrap();
    served
        .sql(&format!(
            "CREATE TABLE owners AS SELECT CAST(id AS BIGINT) AS id, CAST(item AS BIGINT) AS item, who FROM (VALUES {owners}) AS t(id, item, who)"
        ))
        .await
        .unwrap();
    let flight = start_flight_sql(served.clone(), Some(("reader", "s3cret")), None).await;
    let certificates = tempfile::tempdir().unwrap();
    let (cert, key) = crate::security::certificate(certificates.path());
    let secure = start_flight_sql(served, Some(("reader", "s3cret")), Some((&cert, &key))).await;
    client
        .batch_execute(&format!(
            "CREATE CATALOG fl USING flightsql WITH (url = '{}', user = 'reader', password = 's3cret')",
            flight.url()
        ))
        .await
        .unwrap();

    let mut queries: Vec<String> =
        CONDITIONS.iter().map(|c| format!("SELECT id FROM {{t}} WHERE {c} ORDER BY id")).collect();
    queries.extend(QUERIES.iter().map(|q| q.to_string()));
    assert!(queries.len() >= 100, "{} queries", queries.len());
    let mut wrong = Vec::new();
    for query in &queries {
        let on = |items: &str, owners: &str| query.replace("{t}", items).replace("{o}", owners);
        let lake_sql = on("lake.items", "lake.owners");
        let expected = client.simple_query(&lake_sql).await.map(|_| ());
        assert!(expected.is_ok(), "the lake cannot answer {lake_sql}: {expected:?}");
        let expected = simple_rows(&client, &lake_sql).await;
        for (items, owners) in [
            ("pg.public.items", "pg.public.owners"),
            ("lite.main.items", "lite.main.owners"),
            ("maria.shop.items", "maria.shop.owners"),
            ("fl.public.items", "fl.public.owners"),
        ] {
            let sql = on(items, owners);
            match client.simple_query(&sql).await {
                Ok(_) => {
                    let got = simple_rows(&client, &sql).await;
                    if got != expected {
                        wrong.push(format!("{sql}\n  lake:   {expected:?}\n  source: {got:?}"));
                    }
                }
                Err(e) => wrong.push(format!("{sql}\n  failed: {e:?}")),
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {} answers differ:\n{}", wrong.len(), queries.len() * 4, wrong.join("\n"));

    // What each source was sent: only what it answers as glaux does.
    // The ConnectorScan line: the SQL the source receives.
    let sent = |sql: &'static str| {
        let client = &client;
        async move {
            let plan = plan_text(client, sql).await;
            plan.lines().find(|l| l.contains("ConnectorScan")).unwrap_or_else(|| panic!("{plan}")).to_string()
        }
    };
    let plan = sent("EXPLAIN SELECT id FROM pg.public.items WHERE price > 1.50 AND name = 'a'").await;
    assert!(plan.contains("WHERE ((\"price\" > 1.50))"), "{plan}");
    assert!(!plan.contains("'a'"), "{plan}");
    let plan =
        sent("EXPLAIN SELECT id FROM lite.main.items WHERE id > 5 AND price > 1.50 AND day = DATE '2024-01-01'").await;
    assert!(plan.contains("WHERE ((`id` > 5))"), "{plan}");
    assert!(!plan.contains("1.50") && !plan.contains("2024"), "{plan}");
    let plan = sent("EXPLAIN SELECT id FROM pg.public.items WHERE at >= TIMESTAMP '2024-01-01 10:00:00' AND day < DATE '2000-01-01'").await;
    assert!(plan.contains("2024-01-01 10:00:00") && plan.contains("2000-01-01"), "{plan}");
    let plan =
        sent("EXPLAIN SELECT id FROM maria.shop.items WHERE qty > 5 AND ok AND price >= 1.50 AND name = 'a'").await;
    assert!(plan.contains("MySqlScan") && plan.contains("`qty` > 5") && plan.contains("1.50"), "{plan}");
    assert!(!plan.contains("'a'"), "{plan}");

    // Joins within a source, aggregates and ORDER BY ... LIMIT go to the
    // source as one SELECT, with keys of types it compares as glaux does
    // (the corpus above checked the answers); the rest stays in glaux.
    for (catalog, schema) in [("pg", "public"), ("maria", "shop"), ("lite", "main"), ("fl", "public")] {
        let dialect = dialect_of(catalog);
        let sent =
            |sql: &str| sent_line(&client, format!("EXPLAIN {}", sql.replace("{c}", &format!("{catalog}.{schema}"))));
        // `t0.name` quoted as the source quotes.
        let c = |t: &str, name: &str| format!("{}.{}", quote(dialect, t), quote(dialect, name));
        let line = sent("SELECT i.id, o.who FROM {c}.items i JOIN {c}.owners o ON o.item = i.id WHERE i.id > 1").await;
        assert!(
            line.contains(&format!("AS {} ON {} = {}", quote(dialect, "t1"), c("t0", "id"), c("t1", "item"))),
            "{line}"
        );
        let line = sent("SELECT count(*) FROM {c}.items i JOIN {c}.owners o ON o.item = i.id").await;
        assert!(line.contains("sql=SELECT COUNT(*) AS ") && line.contains(" JOIN "), "{line}");
        let line = sent("SELECT qty, count(*), sum(qty), max(id) FROM {c}.items WHERE id > 1 GROUP BY qty").await;
        let sum = match dialect {
            Dialect::Postgres | Dialect::FlightSql => format!("CAST(SUM({}) AS BIGINT)", c("t0", "qty")),
            Dialect::MySql => format!("CAST(SUM({}) AS SIGNED)", c("t0", "qty")),
            Dialect::Sqlite => format!("SUM({})", c("t0", "qty")),
        };
        assert!(line.contains(&sum) && line.contains(&format!("GROUP BY {}", c("t0", "qty"))), "{line}");
        assert!(line.contains(&format!("MAX({})", c("t0", "id"))) && line.contains("> 1"), "{line}");
        let line = sent("SELECT id FROM {c}.items ORDER BY qty DESC NULLS LAST, id LIMIT 4").await;
        // Ordered by the columns' names, over the SELECT as a derived table.
        let (qty, id) = (quote(dialect, "c1"), quote(dialect, "c0"));
        let order = format!(
            ") AS {} ORDER BY ({qty} IS NULL) ASC, {qty} DESC, ({id} IS NULL) ASC, {id} ASC LIMIT 4",
            quote(dialect, "q"),
        );
        assert!(line.contains(&order) && line.contains(&format!("{} AS {qty}", c("t0", "qty"))), "{line}");
        let line = sent("SELECT i.id, o.who FROM {c}.items i JOIN {c}.owners o ON o.item = i.id LIMIT 2").await;
        assert!(line.contains(" JOIN ") && line.contains("LIMIT 2"), "{line}");
        // Decimals and dates are keys in PostgreSQL and MySQL, not SQLite.
        let line = sent("SELECT day, sum(price), min(day) FROM {c}.items GROUP BY day ORDER BY 2 DESC LIMIT 2").await;
        let decimal = format!("SUM({})", c("t0", "price"));
        assert_eq!(line.contains(&decimal), matches!(dialect, Dialect::Postgres | Dialect::MySql), "{line}");
        // Strings (collations), floating point and booleans stay in glaux.
        for sql in [
            "SELECT name, count(*) FROM {c}.items GROUP BY name",
            "SELECT ok, count(*) FROM {c}.items GROUP BY ok",
            "SELECT sum(score) FROM {c}.items",
            "SELECT id FROM {c}.items ORDER BY name LIMIT 2",
            "SELECT count(*) FROM {c}.items i JOIN {c}.owners o ON o.who = i.name",
            "SELECT count(*) FROM {c}.items i LEFT JOIN {c}.owners o ON o.item = i.id",
            // A join alone, with no condition: it may return more than
            // its two tables.
            "SELECT i.id, o.who FROM {c}.items i JOIN {c}.owners o ON o.item = i.id",
        ] {
            let line = sent(sql).await;
            assert!(
                ["GROUP BY", "SUM(", "ORDER BY", "JOIN", "COUNT("].iter().all(|w| !line.contains(w)),
                "{sql}: {line}"
            );
        }
    }

    // A join's keys: the items of the lake's few chosen owners are sent
    // to the source when its scan starts (EXPLAIN ANALYZE shows the SQL
    // sent then); the answer is the lake's.
    let join = "SELECT o.who, i.name, i.price FROM lake.owners o JOIN {t} i ON i.id = o.item WHERE o.who IN ('x', 'y') ORDER BY o.who";
    let expected = simple_rows(&client, &join.replace("{t}", "lake.items")).await;
    assert_eq!(expected.len(), 2, "{expected:?}");
    for (table, keys) in [
        ("pg.public.items", "(\"id\" IN (1, 2))"),
        ("maria.shop.items", "(`id` IN (1, 2))"),
        ("lite.main.items", "(`id` IN (1, 2))"),
    ] {
        let sql = join.replace("{t}", table);
        assert_eq!(simple_rows(&client, &sql).await, expected, "{sql}");
        let plan = plan_text(&client, &format!("EXPLAIN ANALYZE {sql}")).await;
        let line = plan.lines().find(|l| l.contains("ConnectorScan")).unwrap_or_else(|| panic!("{plan}"));
        assert!(line.contains(keys), "{line}");
    }
    let plan = plan_text(&client, &format!("EXPLAIN {}", join.replace("{t}", "pg.public.items"))).await;
    assert!(plan.contains("and a join's keys when it starts"), "{plan}");
    // An IN subquery's keys too (its semi-join read as an inner join with
    // the subquery's distinct keys).
    let semi = "SELECT i.name, i.price FROM {t} i WHERE i.id IN (SELECT item FROM lake.owners WHERE who IN ('x', 'y', 'z')) ORDER BY 1";
    let semi_rows = simple_rows(&client, &semi.replace("{t}", "lake.items")).await;
    assert_eq!(semi_rows.len(), 2, "{semi_rows:?}");
    for (table, keys) in [("pg.public.items", "(\"id\" IN (1, 2))"), ("lite.main.items", "(`id` IN (1, 2))")] {
        let sql = semi.replace("{t}", table);
        assert_eq!(simple_rows(&client, &sql).await, semi_rows, "{sql}");
        let plan = plan_text(&client, &format!("EXPLAIN ANALYZE {sql}")).await;
        let line = plan.lines().find(|l| l.contains("ConnectorScan")).unwrap_or_else(|| panic!("{plan}"));
        assert!(line.contains(keys), "{line}");
    }
    // A top-k's filter (not a join's) is not waited for.
    let plan = sent("EXPLAIN SELECT id FROM pg.public.items ORDER BY price DESC LIMIT 2").await;
    assert!(!plan.contains("join's keys"), "{plan}");

    // A join whose NULL keys match (IS NOT DISTINCT FROM): the keys sent
    // must not drop the NULL rows. owners.item is 1, 2, 2, 99, NULL.
    let pairs: Vec<Vec<String>> = [(1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (4, 4), (5, 5)]
        .iter()
        .map(|(a, b)| vec![a.to_string(), b.to_string()])
        .collect();
    for owners in ["lake.owners", "pg.public.owners", "maria.shop.owners", "lite.main.owners"] {
        let sql = format!(
            "SELECT a.id, b.id FROM lake.owners a JOIN {owners} b ON a.item IS NOT DISTINCT FROM b.item ORDER BY 1, 2"
        );
        assert_eq!(simple_rows(&client, &sql).await, pairs, "{sql}");
    }

    // pushdown = 'off': whole tables read, the same answers.
    client
        .batch_execute(&format!(
            "CREATE CATALOG pgall USING postgres WITH (url = '{}', user = '{USER}', password = '{quoted}', sslmode = 'disable', pushdown = 'off')",
            pg.url()
        ))
        .await
        .unwrap();
    let sql = join.replace("{t}", "pgall.public.items");
    assert_eq!(simple_rows(&client, &sql).await, expected, "{sql}");
    let plan = plan_text(&client, &format!("EXPLAIN ANALYZE {sql}")).await;
    let line = plan.lines().find(|l| l.contains("ConnectorScan")).unwrap_or_else(|| panic!("{plan}"));
    assert!(!line.contains("WHERE"), "{line}");
    let plan = sent("EXPLAIN SELECT id FROM pgall.public.items WHERE id = 1 LIMIT 1").await;
    assert!(!plan.contains("WHERE") && !plan.contains("LIMIT"), "{plan}");
    let (code, message) =
        crate::connectors::failure(&client, "CREATE CATALOG bad USING sqlite WITH (path = '/x', pushdown = 'maybe')")
            .await;
    assert_eq!((code.as_str(), message.contains("pushdown")), ("22023", true), "{message}");
    // A misspelled option is refused, named, its value not shown.
    let (code, message) = crate::connectors::failure(
        &client,
        &format!("CREATE CATALOG bad USING postgres WITH (url = '{}', user = '{USER}', pasword = 'hunter2')", pg.url()),
    )
    .await;
    assert_eq!(
        (code.as_str(), message.contains("\"pasword\""), message.contains("hunter2")),
        ("22023", true, false),
        "{message}"
    );

    // Flight SQL: the statement the server received is the one EXPLAIN
    // shows; only integer conditions are sent; credentials and an
    // unreachable server are refused with their SQLSTATEs.
    let line = sent_line(&client, "EXPLAIN SELECT id FROM fl.public.items WHERE id > 5 AND price > 1.50".into()).await;
    let sql = line.split("FlightSqlScan: sql=").nth(1).unwrap_or_else(|| panic!("{line}")).to_string();
    assert!(sql.contains("WHERE ((\"id\" > 5))") && !sql.contains("1.50"), "{sql}");
    flight.statements.lock().unwrap().clear();
    let got = simple_rows(&client, "SELECT id FROM fl.public.items WHERE id > 5 AND price > 1.50 ORDER BY id").await;
    assert_eq!(got, vec![vec!["9".to_string()], vec!["10".into()]]);
    assert_eq!(flight.statements.lock().unwrap().clone(), vec![sql]);
    for (options, code) in [
        (format!("url = '{}', user = 'reader', password = 'badpass'", flight.url()), "28P01"),
        (format!("url = '{}'", flight.url()), "28P01"),
        ("url = 'grpc://127.0.0.1:1'".to_string(), "HV00N"),
        ("url = 'grpcs://example.com:443'".to_string(), "22023"),
        (format!("url = '{}', tls_ca = '{cert}'", flight.url()), "22023"),
        (format!("url = 'grpc+tls://127.0.0.1:{}', tls_ca = '/nonexistent.pem'", secure.port), "22023"),
        // A certificate no trusted CA signed.
        (format!("url = 'grpc+tls://127.0.0.1:{}', user = 'reader', password = 's3cret'", secure.port), "HV00N"),
        // Plain gRPC to a TLS server.
        (format!("url = 'grpc://127.0.0.1:{}', user = 'reader', password = 's3cret'", secure.port), "HV00N"),
    ] {
        let create = format!("CREATE CATALOG flbad USING flightsql WITH ({options})");
        let (got, message) = crate::connectors::failure(&client, &create).await;
        assert_eq!(got, code, "{options}: {message}");
        assert!(!message.contains("badpass"), "{message}");
    }

    // Over TLS, trusting the server's certificate: the same answers.
    client
        .batch_execute(&format!(
            "CREATE CATALOG fltls USING flightsql WITH (url = 'grpc+tls://127.0.0.1:{}', tls_ca = '{cert}', user = 'reader', password = 's3cret')",
            secure.port
        ))
        .await
        .unwrap();
    let sql = "SELECT id, name, price FROM {t} WHERE id > 5 ORDER BY id";
    assert_eq!(
        simple_rows(&client, &sql.replace("{t}", "fltls.public.items")).await,
        simple_rows(&client, &sql.replace("{t}", "fl.public.items")).await
    );
    client.batch_execute("DROP CATALOG fltls").await.unwrap();

    // Passthrough: native SQL run at the source as written, its rows
    // answered as a table (filters on it run in glaux or are sent around
    // it, never into it).
    let native =
        "SELECT name, count(*) AS n, sum(price) AS total FROM items GROUP BY name HAVING count(*) > 1 -- native";
    // Result columns have the types the source describes: PostgreSQL's
    // sum(numeric) has no scale (numeric(38,10)); SQLite's computed
    // columns have no declared type (text).
    // (MariaDB groups names by its collation, ignoring case and accents:
    // its passthrough is checked below.)
    for (catalog, total) in [("pg", "3.0000000000"), ("lite", "3.0"), ("fl", "3.00")] {
        let sql = format!(
            "SELECT * FROM TABLE({catalog}.system.query(query => '{}')) AS q WHERE n > 1 ORDER BY name",
            native.replace('\'', "''")
        );
        assert_eq!(simple_rows(&client, &sql).await, vec![vec!["a".to_string(), "2".into(), total.into()]], "{sql}");
    }
    let plan =
        sent("EXPLAIN SELECT * FROM pg.system.query(query => 'SELECT id FROM items WHERE id < 3;') WHERE id = 1").await;
    assert!(plan.contains("FROM (SELECT id FROM items WHERE id < 3) AS \"query\" WHERE ((\"id\" = 1))"), "{plan}");
    let (code, message) =
        crate::connectors::failure(&client, "SELECT * FROM TABLE(pg.system.query(query => 'SELEC 1'))").await;
    assert_eq!(code, "HV000", "{message}");
    let (code, _) = crate::connectors::failure(&client, "SELECT * FROM TABLE(pg.system.query(query => 1))").await;
    assert_eq!(code, "42601");
    // MySQL's types as its prepared statement describes them; its own
    // quoting inside (backquotes, doubled quotes).
    let sql = "SELECT * FROM TABLE(maria.system.query(query => 'SELECT ok, qty, price, `day`, at, CAST(id AS UNSIGNED) AS u, ''it''''s'' AS s, sum(price) OVER () AS total FROM items WHERE id = 1'))";
    let want = ["t", "10", "1.50", "2024-01-01", "2024-01-01 10:00:00", "1", "it's", "1.50"];
    assert_eq!(simple_rows(&client, sql).await, vec![want.map(String::from).to_vec()], "{sql}");
    let (code, message) =
        crate::connectors::failure(&client, "SELECT * FROM TABLE(maria.system.query(query => 'SELEC 1'))").await;
    assert_eq!(code, "HV000", "{message}");
}

/// The ConnectorScan line of `explain`'s plan: the SQL the source receives.
async fn sent_line(client: &tokio_postgres::Client, explain: String) -> String {
    let plan = plan_text(client, &explain).await;
    plan.lines().find(|l| l.contains("ConnectorScan")).unwrap_or_else(|| panic!("{plan}")).to_string()
}

fn dialect_of(catalog: &str) -> Dialect {
    match catalog {
        "pg" => Dialect::Postgres,
        "maria" => Dialect::MySql,
        "fl" => Dialect::FlightSql,
        _ => Dialect::Sqlite,
    }
}
