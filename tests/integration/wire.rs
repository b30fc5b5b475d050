//! The wire protocol with a real client: simple and extended queries,
//! parameters, binary results, portals with row limits, cancel, start-up
//! errors, and a server that survives bad input.

use crate::common::{engine_in, fixtures, TestServer};
use std::time::Duration;
use tokio_postgres::types::Type;
use tokio_postgres::{NoTls, SimpleQueryMessage};

async fn server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    (TestServer::start(engine).await, dir)
}

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.code().code().to_string()).unwrap_or_else(|| format!("no db error: {e}"))
}

#[tokio::test]
async fn unknown_database_is_fatal_3d000() {
    let (server, _dir) = server().await;
    let url = format!("host=127.0.0.1 port={} user=u dbname=nosuch", server.addr.port());
    let err = tokio_postgres::connect(&url, NoTls).await.err().expect("connect must fail");
    assert_eq!(code(&err), "3D000");
    assert!(err.as_db_error().unwrap().message().contains("nosuch"));
}

#[tokio::test]
async fn prepared_statements_with_typed_parameters_and_binary_results() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let stmt =
        client.prepare("SELECT $1::BIGINT + 1 AS n, $2::TEXT AS s, $3::DOUBLE PRECISION * 2 AS d").await.unwrap();
    assert_eq!(stmt.params(), &[Type::INT8, Type::TEXT, Type::FLOAT8]);
    assert_eq!(stmt.columns()[0].type_(), &Type::INT8);
    // tokio-postgres asks for binary results.
    let row = client.query_one(&stmt, &[&41i64, &"hi", &1.25f64]).await.unwrap();
    assert_eq!(row.get::<_, i64>("n"), 42);
    assert_eq!(row.get::<_, String>("s"), "hi");
    assert_eq!(row.get::<_, f64>("d"), 2.5);
    // A parameter nothing constrains is text, as in PostgreSQL.
    let free = client.prepare("SELECT $1 AS v").await.unwrap();
    assert_eq!(free.params(), &[Type::TEXT]);
    assert_eq!(client.query_one(&free, &[&"as sent"]).await.unwrap().get::<_, String>(0), "as sent");
    // Reused with other values, and with NULL.
    let row = client.query_one(&stmt, &[&1i64, &None::<String>, &0.0f64]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    assert_eq!(row.get::<_, Option<String>>(1), None);
}

#[tokio::test]
async fn binary_values_of_common_types() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let row = client
        .query_one(
            "SELECT true AS b, CAST(7 AS SMALLINT) AS i2, CAST(8 AS INT) AS i4, CAST(1.5 AS REAL) AS f4, \
             DATE '2024-03-04' AS d, TIMESTAMP '2024-03-04 05:06:07.5' AS ts, 'x' AS t, [1, 2] AS arr",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>("b"));
    assert_eq!(row.get::<_, i16>("i2"), 7);
    assert_eq!(row.get::<_, i32>("i4"), 8);
    assert_eq!(row.get::<_, f32>("f4"), 1.5);
    assert_eq!(row.columns()[4].type_(), &Type::DATE);
    assert_eq!(row.columns()[5].type_(), &Type::TIMESTAMP);
    assert_eq!(row.get::<_, Vec<i64>>("arr"), vec![1, 2]);
}

#[tokio::test]
async fn multi_statement_simple_query_stops_at_the_first_error() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let messages = client.simple_query("SELECT 1; SELECT 2, 3").await.unwrap();
    let rows: Vec<_> = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).collect();
    assert_eq!(rows.len(), 2);
    let err = client.simple_query("CREATE DATABASE a1; SELECT * FROM nope; CREATE DATABASE a2").await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let dbs = client.simple_query("SHOW DATABASES").await.unwrap();
    let names: Vec<String> = dbs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["a1", "public"]);
}

#[tokio::test]
async fn portal_row_limits_fetch_in_batches() {
    let (server, _dir) = server().await;
    let mut client = server.connect().await;
    let tx = client.transaction().await.unwrap();
    let stmt = tx.prepare("SELECT * FROM generate_series(1, 10) AS t(x)").await.unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let batch = tx.query_portal(&portal, 3).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3);
        seen.extend(batch.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(seen, (1..=10).collect::<Vec<i64>>());
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn cancel_request_stops_a_running_query() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let cancel = client.cancel_token();
    let query = tokio::spawn(async move {
        client.simple_query("SELECT count(*) FROM generate_series(1, 20000000000) AS a(x) WHERE x % 7 = 3").await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    cancel.cancel_query(NoTls).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), query).await.expect("cancel took effect").unwrap();
    assert_eq!(code(&result.unwrap_err()), "57014");
}

#[tokio::test]
async fn cancelled_or_abandoned_cross_joins_stop_and_leave_the_server_free() {
    let (server, dir) = server().await;
    // A 10,000-row Parquet table, cross-joined with itself three times.
    let file = dir.path().join("numbers/part-0.parquet");
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.sql(&format!(
        "COPY (SELECT value AS x FROM generate_series(1, 10000)) TO '{}' STORED AS PARQUET",
        file.display()
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    let setup = server.connect().await;
    setup
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE numbers STORED AS PARQUET LOCATION '{}'",
            file.parent().unwrap().display()
        ))
        .await
        .unwrap();
    // More cancelled queries than the query runtime has threads: had any
    // kept running, the last query would wait for a free thread forever.
    for _ in 0..4 {
        let client = server.connect().await;
        let cancel = client.cancel_token();
        let query = tokio::spawn(async move {
            client
                .query("SELECT max(a.x + b.x + c.x) FROM numbers a CROSS JOIN numbers b CROSS JOIN numbers c", &[])
                .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel_query(NoTls).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(30), query).await.expect("cancel took effect").unwrap();
        assert_eq!(code(&result.unwrap_err()), "57014");
    }
    // Clients that disconnect mid-query cost nothing either.
    for _ in 0..4 {
        let (client, connection) = tokio_postgres::connect(&server.url("tester"), NoTls).await.unwrap();
        let running = tokio::spawn(connection);
        let query = tokio::spawn(async move {
            let _ = client
                .query("SELECT max(a.x + b.x + c.x) FROM numbers a CROSS JOIN numbers b CROSS JOIN numbers c", &[])
                .await;
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        query.abort();
        running.abort();
    }
    let client = server.connect().await;
    let answer = tokio::time::timeout(Duration::from_secs(60), client.query_one("SELECT 41 + 1", &[]))
        .await
        .expect("the server answers after the cancelled queries")
        .unwrap();
    assert_eq!(answer.get::<_, i64>(0), 42);
}

#[tokio::test]
async fn errors_carry_sqlstate_and_position_and_the_session_survives() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let err = client.simple_query("SELECT 1 +").await.unwrap_err();
    assert_eq!(code(&err), "42601");
    let err = client.simple_query("SELECT * FROM missing_table").await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let err = client.simple_query("SELECT 1/0").await.unwrap_err();
    assert_eq!(code(&err), "22012");
    let err = client.simple_query("SELECT x FROM (VALUES (1)) AS t(y)").await.unwrap_err();
    assert_eq!(code(&err), "42703");
    // A write is planned against its table (sql/writes.slt has the refusals).
    let err = client.simple_query("INSERT INTO t VALUES (1)").await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let err = client.simple_query("SELEC 1").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert!(matches!(db.position(), Some(tokio_postgres::error::ErrorPosition::Original(1))), "{db:?}");
    // glaux's own statements are parsed by the one parser: every syntax
    // error points at the offending token, in the whole script.
    for (sql, at, message) in [
        ("CREATE EXTERNAL TABLE t (id bigint) STORED AS PARQUET LOCATOIN 'x'", 55, "expected COMMENT"),
        ("CREATE EXTERNAL TABLE t (id bigint,) LOCATION 'x'", 36, "found )"),
        ("CREATE EXTERNAL TABLE t (id bigint unsigned) LOCATION 'x'", 29, "unexpected text after the type"),
        ("ALTER TABLE t ADD PARTITION (k = 'v' LOCATION 'x'", 38, "expected )"),
        ("ALTER TABLE t ADD", 18, "needs PARTITION"),
        ("SHOW PARTITIONS t extra", 19, "unexpected text"),
        ("CRAWL 's3://b/' INTO db more", 25, "CRAWL takes"),
        ("CREATE USER bob PASSWORD", 25, "expected a quoted string, found end of statement"),
        ("ALTER WORKGROUP wg RENAME", 20, "ALTER WORKGROUP takes SET"),
        ("DROP WORKGROUP 'wg'", 16, "expected a name"),
        ("SELECT 1; SHOW PARTITIONS t,", 28, "unexpected text"),
    ] {
        let err = client.simple_query(sql).await.unwrap_err();
        let db = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err:?}"));
        assert_eq!(db.code().code(), "42601", "{sql}: {db:?}");
        assert!(db.message().contains(message), "{sql}: {}", db.message());
        let position = match db.position() {
            Some(tokio_postgres::error::ErrorPosition::Original(p)) => *p as usize,
            other => panic!("{sql}: no position ({other:?})"),
        };
        assert_eq!(position, at, "{sql}: {}", db.message());
    }
    // The connection still works.
    let rows = client.simple_query("SELECT 42").await.unwrap();
    assert!(rows.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("42"))));
}

#[tokio::test]
async fn bad_files_give_clear_errors_and_other_sessions_do_not_notice() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    let engine = engine_in(&dir.path().join("glaux")).await;
    let server = TestServer::start(engine).await;
    let a = server.connect().await;
    let b = server.connect().await;
    let d = data.display();
    a.batch_execute(&format!(
        "CREATE EXTERNAL TABLE corrupt (id bigint) STORED AS PARQUET LOCATION '{d}/corrupt_parquet';
         CREATE EXTERNAL TABLE truncated (id bigint) STORED AS PARQUET LOCATION '{d}/truncated_parquet';
         CREATE EXTERNAL TABLE badorc (id bigint) STORED AS ORC LOCATION '{d}/corrupt_orc';
         CREATE EXTERNAL TABLE ragged (a int, b int, c int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
           LOCATION '{d}/ragged_csv' TBLPROPERTIES ('skip.header.line.count'='1');
         CREATE EXTERNAL TABLE badvalue (a int, b int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
           LOCATION '{d}/badvalue_csv' TBLPROPERTIES ('skip.header.line.count'='1');
         CREATE EXTERNAL TABLE good (id bigint, customer string, amount double, placed date)
           STORED AS PARQUET LOCATION '{d}/orders_parquet'"
    ))
    .await
    .unwrap();
    // Each error names its file (a text table's value that will not cast
    // too, with its column), and keeps its SQLSTATE.
    for (table, expected, file) in [
        ("corrupt", "XX001", Some("corrupt_parquet/part-0.parquet")),
        ("truncated", "XX001", Some("truncated_parquet/part-0.parquet")),
        ("badorc", "XX001", Some("corrupt_orc/part-0.orc")),
        ("ragged", "22P04", Some("ragged_csv/data.csv")),
        ("badvalue", "22P02", Some("badvalue_csv/data.csv")),
    ] {
        let err = a.simple_query(&format!("SELECT * FROM {table}")).await.unwrap_err();
        assert_eq!(code(&err), expected, "{table}: {err:?}");
        if let Some(file) = file {
            let message = err.as_db_error().map(|e| e.message()).unwrap_or_default();
            assert!(message.contains(&format!("(in file file://{d}/{file})")), "{table}: {message}");
        }
        let rows = b.simple_query("SELECT count(*) FROM good").await.unwrap();
        assert!(rows.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("5"))));
    }
    // A value that will not cast in one partition of a text table: the
    // error names the partition's file and the column; `\N` is NULL.
    let lake = dir.path().join("text lake");
    for (city, rows) in [("Paris", "1,\\N\n2,20\n"), ("Oslo", "3,30\n4,n/a\n")] {
        std::fs::create_dir_all(lake.join(format!("city={city}"))).unwrap();
        std::fs::write(lake.join(format!("city={city}/part-0.txt")), rows).unwrap();
    }
    a.batch_execute(&format!(
        "CREATE EXTERNAL TABLE visits (id int, n int) PARTITIONED BY (city string)
           ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}'",
        lake.display()
    ))
    .await
    .unwrap();
    let ok = a.simple_query("SELECT count(*), count(n), sum(n) FROM visits WHERE city = 'Paris'").await.unwrap();
    assert!(ok.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(2) == Some("20"))), "{ok:?}");
    let err = a.simple_query("SELECT sum(n) FROM visits").await.unwrap_err();
    let db = err.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "22P02", "{db:?}");
    let file = format!("file://{}/city=Oslo/part-0.txt", lake.display());
    assert!(db.message().contains(&file), "{}", db.message());
    assert!(db.message().contains("'n/a'") && db.message().contains("column n"), "{}", db.message());
}

#[tokio::test]
async fn extended_query_results_stream_before_the_query_finishes() {
    use futures::StreamExt;
    let (server, _dir) = server().await;
    let client = server.connect().await;
    // Far too many rows to buffer: the first ones must arrive while the
    // query is still producing the rest.
    let rows = client
        .query_raw("SELECT x FROM generate_series(1, 5000000000) AS t(x)", std::iter::empty::<i64>())
        .await
        .unwrap();
    tokio::pin!(rows);
    let first: Vec<i64> = tokio::time::timeout(Duration::from_secs(60), async {
        let mut got = Vec::new();
        while got.len() < 3 {
            got.push(rows.next().await.expect("a row").expect("row ok").get::<_, i64>(0));
        }
        got
    })
    .await
    .expect("rows arrive while the query runs");
    assert_eq!(first, [1, 2, 3]);
    client.cancel_token().cancel_query(NoTls).await.unwrap();
}

#[tokio::test]
async fn result_columns_are_named_as_postgresql_names_them() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let names =
        |stmt: &tokio_postgres::Statement| stmt.columns().iter().map(|c| c.name().to_string()).collect::<Vec<_>>();
    let stmt = client
        .prepare(
            "SELECT 1, 1 + 1, count(*), CAST('1' AS INT), x, x::bigint, CASE WHEN true THEN 1 END, 'a' AS named, \
             DATE '2024-01-01', (SELECT 2 AS two), upper('a'), 'x'::uuid IS NULL FROM (SELECT 5 AS x) AS s GROUP BY x",
        )
        .await
        .unwrap();
    assert_eq!(
        names(&stmt),
        ["?column?", "?column?", "count", "int4", "x", "x", "case", "named", "date", "two", "upper", "?column?"]
    );
    let stmt = client.prepare("SELECT 1, *, 2 FROM (SELECT 5 AS x, 6 AS y) AS s").await.unwrap();
    assert_eq!(names(&stmt), ["?column?", "x", "y", "?column?"]);
    // Duplicate names are allowed, as in PostgreSQL.
    let row = client.query_one("SELECT x, x, 1, 1 FROM (SELECT 5 AS x) AS s", &[]).await.unwrap();
    assert_eq!(row.columns().iter().map(|c| c.name()).collect::<Vec<_>>(), ["x", "x", "?column?", "?column?"]);
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(3)), (5, 1));
    let stmt = client.prepare("SELECT 1 AS a UNION ALL SELECT 2").await.unwrap();
    assert_eq!(names(&stmt), ["a"]);
    // The simple protocol names them the same way.
    let messages = client.simple_query("SELECT 40 + 2").await.unwrap();
    let Some(SimpleQueryMessage::Row(row)) = messages.iter().find(|m| matches!(m, SimpleQueryMessage::Row(_))) else {
        panic!("no row");
    };
    assert_eq!(row.columns()[0].name(), "?column?");
}
