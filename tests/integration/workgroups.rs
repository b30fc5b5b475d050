//! Workgroups at run time: the per-query cutoff stops a query within one
//! read of its limit, concurrent queries are metered apart, every query
//! lands in the ledger (and stays after a restart), budgets block, and a
//! user is kept out of a workgroup it was not granted.

use crate::common::{engine_in, simple_rows, TestServer};
use crate::s3::{create_bucket, moto_store, start_moto};
use glaux::config::Config;
use glaux::engine::Engine;
use object_store::path::Path as StorePath;
use object_store::ObjectStoreExt;

/// A CSV of `rows` lines `i,name-i,i.5`.
fn csv(rows: usize) -> String {
    (0..rows).map(|i| format!("{i},name-{i},{i}.5\n")).collect()
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("{e:?}"))
}

#[tokio::test]
async fn cutoff_stops_a_query_within_one_read() {
    let moto = start_moto().await;
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    create_bucket(moto.port, "meter").await;
    let store = moto_store(&endpoint, "meter");
    let big = csv(200_000);
    assert!(big.len() > 4_000_000);
    store.put(&StorePath::from("big/data.csv"), big.clone().into_bytes().into()).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path());
    for (k, v) in [
        ("s3.endpoint", endpoint.as_str()),
        ("s3.access_key_id", "test"),
        ("s3.secret_access_key", "test"),
        ("s3.path_style", "true"),
        ("s3.allow_http", "true"),
    ] {
        config.set(k, v).unwrap();
    }
    let server = TestServer::start(Engine::open(config).await.unwrap()).await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE EXTERNAL TABLE big (id bigint, name string, amount double)
               ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://meter/big/';
             CREATE WORKGROUP capped WITH (bytes_scanned_cutoff_per_query = '256KB');
             SET workgroup = 'capped'",
        )
        .await
        .unwrap();
    // A whole CSV must be read: refused before anything is read.
    let err = client.simple_query("SELECT sum(amount) FROM big").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    let message = err.as_db_error().unwrap().message().to_string();
    assert!(message.starts_with("query refused before it ran: it would read 5.02 MB"), "{message}");
    // Behind a LIMIT it might read less, so it runs, and is stopped.
    let err =
        client.simple_query("SELECT sum(amount) FROM (SELECT amount FROM big LIMIT 1000000) s").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    let db = err.as_db_error().unwrap();
    assert!(db.message().contains("workgroup capped allows 256.00 KB per query"), "{}", db.message());
    assert!(db.hint().unwrap_or_default().contains("bytes_scanned_cutoff_per_query of workgroup capped"), "{db:?}");
    let refused = simple_rows(
        &client,
        "SELECT bytes_scanned FROM system.query_history WHERE query = 'SELECT sum(amount) FROM big'",
    )
    .await;
    assert_eq!(refused, vec![vec!["0"]]);
    let history = simple_rows(
        &client,
        "SELECT state, sqlstate, bytes_scanned FROM system.query_history WHERE query LIKE '%LIMIT 1000000%'",
    )
    .await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(&history[0][..2], ["FAILED", "53400"]);
    // It read past the limit by less than one network read, far less
    // than the file.
    let read: u64 = history[0][2].parse().unwrap();
    assert!(read > 256 * 1024 && read < 256 * 1024 + 256 * 1024, "read {read} bytes of a {} byte file", big.len());
    server.stop().await;
}

#[tokio::test]
async fn cutoff_stops_a_local_scan_within_one_chunk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("big")).unwrap();
    let big = csv(200_000);
    std::fs::write(dir.path().join("big/data.csv"), &big).unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE big (id bigint, name string, amount double)
               ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}';
             SET glaux.bytes_scanned_cutoff_per_query = '256KB'",
            dir.path().join("big").display()
        ))
        .await
        .unwrap();
    let err =
        client.simple_query("SELECT sum(amount) FROM (SELECT amount FROM big LIMIT 1000000) s").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    // A local file is read 256 KB at a time: each of the scan's two
    // readers stops within one read of the limit.
    let read =
        simple_rows(&client, "SELECT bytes_scanned FROM system.query_history WHERE query LIKE '%LIMIT 1000000%'").await;
    let read: u64 = read[0][0].parse().unwrap();
    assert!(read > 256 * 1024 && read <= 3 * 256 * 1024, "read {read} bytes of a {} byte file", big.len());
    // Without the cutoff, a LIMIT is charged what it read, not the file.
    client.batch_execute("RESET glaux.bytes_scanned_cutoff_per_query; SELECT id FROM big LIMIT 3").await.unwrap();
    let read = simple_rows(
        &client,
        "SELECT bytes_scanned FROM system.query_history WHERE query = 'SELECT id FROM big LIMIT 3'",
    )
    .await;
    let read: u64 = read[0][0].parse().unwrap();
    assert!(read <= 2 * 256 * 1024, "read {read} bytes of a {} byte file", big.len());
    server.stop().await;
}

#[tokio::test]
async fn concurrent_queries_are_metered_apart_and_recorded_durably() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (csv(2_000), csv(20_000));
    for (name, body) in [("small", &small), ("large", &large)] {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("data.csv"), body).unwrap();
    }
    let lake = dir.path().join("lake");
    let server = TestServer::start(engine_in(&lake).await).await;
    let setup = server.connect().await;
    for name in ["small", "large"] {
        setup
            .batch_execute(&format!(
                "CREATE EXTERNAL TABLE {name} (id bigint, name string, amount double)
                 ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}'",
                dir.path().join(name).display()
            ))
            .await
            .unwrap();
    }
    // Two sessions scan at once, many times; each query is charged its
    // own table's bytes, exactly.
    let (a, b) = (server.connect().await, server.connect().await);
    let scan = |client: tokio_postgres::Client, table: &'static str| async move {
        for _ in 0..5 {
            client.simple_query(&format!("SELECT sum(amount) FROM {table}")).await.unwrap();
        }
        client
    };
    let (a, _b) = tokio::join!(scan(a, "small"), scan(b, "large"));
    let charged = simple_rows(
        &a,
        "SELECT query, bytes_scanned FROM system.query_history WHERE query LIKE 'SELECT sum(amount) FROM %'",
    )
    .await;
    assert_eq!(charged.len(), 10);
    for row in &charged {
        let expected = if row[0].ends_with("small") { small.len() } else { large.len() };
        assert_eq!(row[1], expected.to_string(), "{row:?}");
    }
    // A failure and a cancellation (statement timeout) are recorded too.
    assert_eq!(code(&a.simple_query("SELECT 1/0").await.unwrap_err()), "22012");
    a.batch_execute("SET statement_timeout = 1").await.unwrap();
    let err = a
        .simple_query("SELECT count(*) FROM large l1, large l2, large l3 WHERE l1.id + l2.id + l3.id < 0")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "57014");
    server.stop().await;

    // The ledger is still there after a restart.
    let server = TestServer::start(engine_in(&lake).await).await;
    let client = server.connect().await;
    let states = simple_rows(
        &client,
        "SELECT state, sqlstate FROM system.query_history WHERE query LIKE 'SELECT 1/0' OR query LIKE '%large l3%' ORDER BY submitted",
    )
    .await;
    assert_eq!(states, vec![vec!["FAILED", "22012"], vec!["CANCELLED", "57014"]]);
    let usage = simple_rows(
        &client,
        "SELECT sum(queries) FROM system.workgroup_usage WHERE workgroup = 'primary' AND period = 'day'",
    )
    .await;
    assert!(usage[0][0].parse::<i64>().unwrap() >= 12, "{usage:?}");
    server.stop().await;
}

#[tokio::test]
async fn workgroups_keep_users_out_and_budgets_block() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("t")).unwrap();
    std::fs::write(dir.path().join("t/data.csv"), csv(1_000)).unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let setup = server.connect().await;
    setup
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE t (id bigint, name string, amount double)
               ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}';
             CREATE WORKGROUP finance WITH (hourly_limit = '1KB', limit_action = block);
             REVOKE USAGE ON WORKGROUP finance FROM public;
             CREATE USER bob PASSWORD 'bobpw';
             -- From here on only root is an admin.
             CREATE USER root PASSWORD 'rootpw' SUPERUSER",
            dir.path().join("t").display()
        ))
        .await
        .unwrap();
    let connect = |user: &str, password: &str| {
        let url = format!("{} password={password}", server.url(user));
        async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client
        }
    };
    let (root, bob) = (connect("root", "rootpw").await, connect("bob", "bobpw").await);

    // bob was not granted finance, and may not change workgroups.
    let err = bob.simple_query("SET workgroup = 'finance'").await.unwrap_err();
    assert_eq!(code(&err), "42501", "{err:?}");
    let err = bob.simple_query("ALTER WORKGROUP finance SET (hourly_limit = none)").await.unwrap_err();
    assert_eq!(code(&err), "42501", "{err:?}");
    let err = bob.simple_query("CREATE USER eve").await.unwrap_err();
    assert_eq!(code(&err), "42501", "{err:?}");
    // Nor may bob start a session in finance with a start-up option.
    let url = format!("{} password=bobpw options='-c glaux.workgroup=finance'", server.url("bob"));
    let err = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.err().expect("the connection is refused");
    assert_eq!(code(&err), "42501", "{err:?}");
    root.batch_execute("GRANT USAGE ON WORKGROUP finance TO bob").await.unwrap();
    bob.batch_execute("SET workgroup = 'finance'").await.unwrap();
    // A user's default workgroup is where its new sessions start.
    root.batch_execute("ALTER USER bob SET workgroup = 'finance'").await.unwrap();
    let fresh = connect("bob", "bobpw").await;
    assert_eq!(simple_rows(&fresh, "SHOW workgroup").await, vec![vec!["finance"]]);
    assert_eq!(simple_rows(&fresh, "SELECT 1").await, vec![vec!["1"]]);
    let last =
        simple_rows(&root, "SELECT user_name, workgroup FROM system.query_history ORDER BY submitted DESC LIMIT 1")
            .await;
    assert_eq!(last, vec![vec!["bob", "finance"]]);

    // The first query reads past the hourly budget; the next is blocked
    // with the time the window resets.
    bob.simple_query("SELECT sum(amount) FROM t").await.unwrap();
    let err = bob.simple_query("SELECT sum(amount) FROM t").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    let message = err.as_db_error().unwrap().message().to_string();
    assert!(message.contains("workgroup finance has used its hourly budget"), "{message}");
    assert!(message.contains("new queries are blocked until"), "{message}");
    // A workgroup whose action is warn lets queries run.
    root.batch_execute("ALTER WORKGROUP finance SET (limit_action = warn)").await.unwrap();
    bob.simple_query("SELECT sum(amount) FROM t").await.unwrap();
    // Revoked: bob's session is kept out at its next query.
    root.batch_execute("REVOKE USAGE ON WORKGROUP finance FROM bob").await.unwrap();
    let err = bob.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&err), "42501", "{err:?}");

    // The budget resets with its window: once the hour the bytes were read
    // in is over, they no longer count. (The ledger's times are moved two
    // hours back while the server is stopped.)
    root.batch_execute("GRANT USAGE ON WORKGROUP finance TO bob; ALTER WORKGROUP finance SET (limit_action = block)")
        .await
        .unwrap();
    let err = bob.simple_query("SELECT sum(amount) FROM t").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    drop((root, bob, fresh, setup));
    server.stop().await;
    let ledger = rusqlite::Connection::open(dir.path().join("lake/ledger.db")).unwrap();
    ledger.execute("UPDATE queries SET submitted = submitted - 7200000000", []).unwrap();
    drop(ledger);
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let url = format!("{} password=bobpw options='-c glaux.workgroup=finance'", server.url("bob"));
    let (bob, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    // The start-up option chose the workgroup.
    assert_eq!(simple_rows(&bob, "SHOW workgroup").await, vec![vec!["finance"]]);
    bob.simple_query("SELECT sum(amount) FROM t").await.unwrap();
    server.stop().await;
}

/// Poll SHOW QUERIES until a query matching `needle` is in `state`; its id.
async fn wait_for(client: &tokio_postgres::Client, needle: &str, state: &str) -> String {
    for _ in 0..200 {
        let listed = simple_rows(client, "SHOW QUERIES").await;
        if let Some(row) = listed.iter().find(|r| r[6].contains(needle) && r[3] == state) {
            return row[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {state} query like {needle}: {:?}", simple_rows(client, "SHOW QUERIES").await);
}

#[tokio::test]
async fn concurrency_limit_queues_and_cancel_query_stops() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("t")).unwrap();
    std::fs::write(dir.path().join("t/data.csv"), csv(20_000)).unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let admin = server.connect().await;
    admin
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE t (id bigint, name string, amount double)
               ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}';
             CREATE WORKGROUP one WITH (max_concurrent_queries = 1, queue_timeout = '30s')",
            dir.path().join("t").display()
        ))
        .await
        .unwrap();
    let (a, b) = (server.connect().await, server.connect().await);
    a.batch_execute("SET workgroup = 'one'").await.unwrap();
    b.batch_execute("SET workgroup = 'one'").await.unwrap();
    // Hours of work: it ends only when cancelled.
    let slow = "SELECT count(*) FROM t t1, t t2, t t3 WHERE t1.id + t2.id + t3.id < 0";
    let running = tokio::spawn(async move { a.simple_query(slow).await.map(|_| ()) });
    let slow_id = wait_for(&admin, "t1.id + t2.id", "RUNNING").await;
    let waiting = tokio::spawn(async move { b.simple_query("SELECT sum(amount) FROM t").await.map(|m| m.len()) });
    wait_for(&admin, "SELECT sum(amount) FROM t", "QUEUED").await;

    // Cancelling the running query lets the queued one start and finish.
    admin.batch_execute(&format!("CANCEL QUERY '{slow_id}'")).await.unwrap();
    let err = running.await.unwrap().unwrap_err();
    assert_eq!(code(&err), "57014", "{err:?}");
    waiting.await.unwrap().unwrap();
    let history = simple_rows(
        &admin,
        "SELECT state, sqlstate, queue_ms > 0 FROM system.query_history WHERE workgroup = 'one' ORDER BY submitted",
    )
    .await;
    assert_eq!(history, vec![vec!["CANCELLED", "57014", "f"], vec!["SUCCEEDED", "NULL", "t"]]);

    // A query that waits longer than the queue timeout is refused.
    admin.batch_execute("ALTER WORKGROUP one SET (queue_timeout = '300ms')").await.unwrap();
    let a = server.connect().await;
    a.batch_execute("SET workgroup = 'one'").await.unwrap();
    let running = tokio::spawn(async move { a.simple_query(slow).await.map(|_| ()) });
    let slow_id = wait_for(&admin, "t1.id + t2.id", "RUNNING").await;
    let b = server.connect().await;
    b.batch_execute("SET workgroup = 'one'").await.unwrap();
    let err = b.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    assert!(err.as_db_error().unwrap().message().contains("in the queue of workgroup one"), "{err:?}");
    // Only its owner or an admin may cancel a query; unknown ids are 42704.
    assert_eq!(code(&b.simple_query("CANCEL QUERY 'nope'").await.unwrap_err()), "42704");
    admin.batch_execute(&format!("CANCEL QUERY '{slow_id}'")).await.unwrap();
    assert_eq!(code(&running.await.unwrap().unwrap_err()), "57014");
    server.stop().await;
}

#[tokio::test]
async fn psql_sees_what_a_query_scanned_and_cost() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("t")).unwrap();
    let body = csv(1_000);
    std::fs::write(dir.path().join("t/data.csv"), &body).unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE t (id bigint, name string, amount double)
               ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}'",
            dir.path().join("t").display()
        ))
        .await
        .unwrap();
    // EXPLAIN ends with the scan estimate and its price.
    let plan = simple_rows(&client, "EXPLAIN SELECT count(*) FROM t").await;
    let last = plan.last().unwrap();
    assert_eq!(last[0], "scan_estimate");
    let expected = format!(
        "{} (from file sizes, Parquet footers and Iceberg manifests), billed 10.00 MB, cost $0.0000477 in workgroup primary",
        glaux::workgroup::human_bytes(body.len() as u64)
    );
    assert_eq!(last[1], expected);
    let port = server.addr.port().to_string();
    let psql = |sql: &'static str| {
        let port = port.clone();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new("psql")
                .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &port, "-U", "tester", "-d", "glaux", "-c", sql])
                .stdin(std::process::Stdio::null())
                .output()
                .expect("psql (postgresql-client) runs");
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
        })
    };
    let (out, err) = psql("SELECT count(*) FROM t").await.unwrap();
    assert_eq!(out.trim(), "1000");
    // 10 MB minimum at 5.00 USD per TB.
    let expected = format!("NOTICE:  scanned {}, cost $0.0000477", glaux::workgroup::human_bytes(body.len() as u64));
    assert!(err.contains(&expected), "stderr: {err}");
    // A query that reads nothing from storage gets no notice.
    let (_, err) = psql("SELECT 1").await.unwrap();
    assert!(!err.contains("NOTICE"), "stderr: {err}");

    // Over a budget whose action is warn, a query runs, with a WARNING.
    client
        .batch_execute(
            "CREATE WORKGROUP lenient WITH (hourly_limit = '1B', limit_action = warn,
               statement_timeout = '1min', allow_user_override = false)",
        )
        .await
        .unwrap();
    let (out, err) = psql("SET workgroup = 'lenient'; SELECT count(*) FROM t; SELECT count(*) FROM t").await.unwrap();
    assert_eq!(out.lines().filter(|l| *l == "1000").count(), 2, "stdout: {out}");
    assert_eq!(err.matches("WARNING:  workgroup lenient has used its hourly budget (").count(), 1, "stderr: {err}");
    assert!(err.contains("the query runs because its limit_action is warn"), "stderr: {err}");
    // A session may not loosen the limits of a workgroup that allows no
    // overrides, and is told so; tightening them is silent.
    let (_, err) = psql("SET workgroup = 'lenient'; SET statement_timeout = '2min'").await.unwrap();
    let expected = "NOTICE:  workgroup lenient does not let sessions loosen its statement_timeout (60000 ms); its queries keep that limit";
    assert!(err.contains(expected), "stderr: {err}");
    let (_, err) = psql("SET workgroup = 'lenient'; SET statement_timeout = '30s'").await.unwrap();
    assert!(err.is_empty(), "stderr: {err}");
    server.stop().await;
}

/// A Parquet file of `rows` rows in row groups of `group` rows: a small
/// `id` column and a wide `note` column of random hex text (so it does
/// not compress away). Returns the bytes of `id`'s column chunks.
fn wide_parquet(path: &std::path::Path, rows: i64, group: usize) -> u64 {
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("note", DataType::Utf8, false),
    ]));
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let notes: Vec<String> = (0..rows)
        .map(|_| {
            (0..8)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    format!("{seed:016x}")
                })
                .collect()
        })
        .collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Int64Array::from_iter_values(0..rows)), Arc::new(StringArray::from(notes))],
    )
    .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let properties = datafusion::parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    let footer = writer.close().unwrap();
    footer.row_groups().iter().map(|rg| rg.column(0).compressed_size() as u64).sum()
}

#[tokio::test]
async fn estimate_counts_the_parquet_columns_a_query_reads() {
    // Two partitions of 20,000 rows: `note` is about 2.5 MB a file, `id`
    // a small fraction of that.
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("events");
    let id_chunks: u64 =
        [1, 2].iter().map(|day| wide_parquet(&lake.join(format!("day={day}/part-0.parquet")), 20_000, 20_000)).sum();
    let files: u64 =
        [1, 2].iter().map(|d| std::fs::metadata(lake.join(format!("day={d}/part-0.parquet"))).unwrap().len()).sum();
    // One file of 12 MB in four row groups, which DataFusion reads in
    // byte ranges: each row group counts once.
    let big_id_chunks = wide_parquet(&dir.path().join("big/part-0.parquet"), 90_000, 22_500);
    let server = TestServer::start(engine_in(&dir.path().join("data")).await).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE events (id bigint, note string) PARTITIONED BY (day int)
               STORED AS PARQUET LOCATION '{}';
             MSCK REPAIR TABLE events;
             CREATE WORKGROUP capped WITH (bytes_scanned_cutoff_per_query = '1MB');
             SET workgroup = 'capped'",
            lake.display()
        ))
        .await
        .unwrap();
    // Only `id`'s column chunks count, so the query fits and runs.
    assert_eq!(simple_rows(&client, "SELECT sum(id) FROM events").await, vec![vec!["399980000"]]);
    let read = simple_rows(
        &client,
        "SELECT bytes_scanned FROM system.query_history WHERE query = 'SELECT sum(id) FROM events'",
    )
    .await;
    let read: u64 = read[0][0].parse().unwrap();
    // `id`'s chunks, and each footer: one 64 KB read from the file's end.
    assert!(read >= id_chunks && read <= id_chunks + 2 * 64 * 1024, "read {read}; id is {id_chunks} of {files} bytes");
    // The wide column cannot fit: refused up front with the estimate.
    let err = client.simple_query("SELECT sum(length(note)) FROM events").await.unwrap_err();
    assert_eq!(code(&err), "53400", "{err:?}");
    let message = err.as_db_error().unwrap().message().to_string();
    assert!(message.starts_with("query refused before it ran: it would read "), "{message}");
    // EXPLAIN's estimate is `id`'s chunks.
    let plan = simple_rows(&client, "EXPLAIN SELECT sum(id) FROM events").await;
    let expected = format!(
        "{} (from file sizes, Parquet footers and Iceberg manifests), billed 10.00 MB, cost $0.0000477 in workgroup capped",
        glaux::workgroup::human_bytes(id_chunks)
    );
    assert_eq!(plan.last().unwrap()[1], expected);
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE big (id bigint, note string) STORED AS PARQUET LOCATION '{}'",
            dir.path().join("big").display()
        ))
        .await
        .unwrap();
    let plan = simple_rows(&client, "EXPLAIN SELECT sum(id) FROM big").await;
    assert!(plan[1][1].contains("file_groups={2 groups"), "{}", plan[1][1]);
    let expected = format!(
        "{} (from file sizes, Parquet footers and Iceberg manifests), billed 10.00 MB, cost $0.0000477 in workgroup capped",
        glaux::workgroup::human_bytes(big_id_chunks)
    );
    assert_eq!(plan.last().unwrap()[1], expected);
    server.stop().await;
}

/// The server remembers users and workgroups between queries, but a
/// change made by another process on the same data dir (here `glaux -c`)
/// holds from the server's next query: disabling a workgroup blocks it,
/// enabling it lets the session back in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workgroup_changed_by_another_process_holds_at_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::fuzz::start_server(dir.path());
    let url = format!("host=127.0.0.1 port={} user=analyst dbname=glaux", server.port);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute("CREATE WORKGROUP team").await.unwrap();
    client.batch_execute("SET workgroup = 'team'").await.unwrap();
    client.simple_query("SELECT 1").await.unwrap();
    let other_process = |sql: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_glaux"))
            .args(["--data-dir", dir.path().join("data").to_str().unwrap(), "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    };
    other_process("ALTER WORKGROUP team DISABLE");
    let err = client.simple_query("SELECT 2").await.unwrap_err();
    assert_eq!(code(&err), "42501", "{err:?}");
    assert!(err.as_db_error().unwrap().message().contains("workgroup team is disabled"), "{err:?}");
    other_process("ALTER WORKGROUP team ENABLE");
    client.simple_query("SELECT 3").await.unwrap();
}
