//! Real PostgreSQL clients against the server: psql's backslash commands
//! (which query pg_catalog), COPY TO STDOUT, FETCH_COUNT (DECLARE/FETCH),
//! and the failed-transaction state.

use crate::common::{server_with_fixtures, TestServer};
use std::process::{Command, Stdio};

/// Run psql with `-c` commands (each its own -c), unaligned, tuples only.
async fn psql(server: &TestServer, args: Vec<String>) -> (String, String) {
    let port = server.addr.port().to_string();
    tokio::task::spawn_blocking(move || {
        let out = Command::new("psql")
            .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &port, "-U", "tester", "-d", "glaux"])
            .args(&args)
            .env("PGTZ", "UTC")
            .stdin(Stdio::null())
            .output()
            .expect("psql (postgresql-client) runs");
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await
    .unwrap()
}

fn commands(list: &[&str]) -> Vec<String> {
    list.iter().flat_map(|c| ["-c".to_string(), c.to_string()]).collect()
}

#[tokio::test]
async fn psql_describes_tables_copies_and_fetches_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_fixtures(dir.path()).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE DATABASE shop; CREATE EXTERNAL TABLE shop.orders (id bigint, customer string, amount decimal(12,2), placed date) \
             STORED AS PARQUET LOCATION '{}/orders_parquet'",
            data.display()
        ))
        .await
        .unwrap();

    // \dt and \dn run psql's own catalog queries.
    let (out, err) = psql(&server, commands(&["\\dt shop.*", "\\dn"])).await;
    assert!(out.contains("shop|orders|table|tester"), "{out}\n{err}");
    assert!(out.lines().any(|l| l == "shop|tester"), "{out}\n{err}");

    // \d and \d+ (correlated subqueries over pg_attribute, pg_collation,
    // pg_policy ...), \l.
    let (out, err) = psql(&server, commands(&["\\d shop.orders"])).await;
    for line in ["id|bigint", "customer|text", "amount|numeric(12,2)", "placed|date"] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line} in {out}\n{err}");
    }
    let (out, err) = psql(&server, commands(&["\\d+ shop.orders"])).await;
    assert!(out.lines().any(|l| l.starts_with("amount|numeric(12,2)")), "{out}\n{err}");
    let (out, err) = psql(&server, commands(&["\\l"])).await;
    assert!(out.lines().any(|l| l.starts_with("glaux|")), "{out}\n{err}");

    // COPY TO STDOUT in CSV with a header, and \copy.
    let copy = "COPY (SELECT id, customer FROM shop.orders ORDER BY id LIMIT 2) TO STDOUT WITH (FORMAT csv, HEADER)";
    let (out, err) = psql(&server, commands(&[copy])).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"id,customer"), "{out}\n{err}");
    assert_eq!(lines.len(), 3, "{out}\n{err}");
    // COPY of a table, whole or some columns (in their order).
    let (whole, err) = psql(&server, commands(&["COPY shop.orders TO STDOUT"])).await;
    let (count, _) = psql(&server, commands(&["SELECT count(*) FROM shop.orders"])).await;
    assert_eq!(whole.lines().count().to_string(), count.trim(), "{whole}\n{err}");
    let (some, err) = psql(&server, commands(&["COPY shop.orders (customer, id) TO STDOUT WITH (FORMAT csv)"])).await;
    let (expected, _) =
        psql(&server, commands(&["COPY (SELECT customer, id FROM shop.orders) TO STDOUT (FORMAT csv)"])).await;
    assert_eq!(some, expected, "{err}");
    assert_eq!(some.lines().next().map(|l| l.split(',').count()), Some(2), "{some}");
    let file = dir.path().join("copied.csv");
    let backslash_copy =
        format!("\\copy (SELECT id FROM shop.orders ORDER BY id) TO '{}' WITH (FORMAT csv)", file.display());
    let (_, err) = psql(&server, commands(&[&backslash_copy])).await;
    let copied = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}: {err}"));
    let (count, _) = psql(&server, commands(&["SELECT count(*) FROM shop.orders"])).await;
    assert_eq!(copied.lines().count().to_string(), count.trim());

    // FETCH_COUNT makes psql read through a cursor, 3 rows at a time.
    let (out, err) = psql(
        &server,
        ["-v", "FETCH_COUNT=3", "-c", "SELECT x FROM generate_series(1, 10) AS t(x)"].map(String::from).to_vec(),
    )
    .await;
    assert_eq!(out.lines().collect::<Vec<_>>(), (1..=10).map(|i| i.to_string()).collect::<Vec<_>>(), "{err}");

    // After an error inside BEGIN, statements fail with 25P02 until ROLLBACK.
    let (out, err) = psql(
        &server,
        [
            "-v",
            "VERBOSITY=verbose",
            "-c",
            "BEGIN",
            "-c",
            "SELECT 1/0",
            "-c",
            "SELECT 1",
            "-c",
            "ROLLBACK",
            "-c",
            "SELECT 42",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(err.contains("22012"), "{err}");
    assert!(err.contains("25P02"), "{err}");
    assert_eq!(out.lines().last(), Some("42"), "{out}\n{err}");
}
