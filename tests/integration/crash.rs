//! Crash safety of the catalog: rounds of kill -9 at a random moment
//! while several clients create and drop databases, partitioned tables,
//! partitions, views, users and workgroups, one client inserts, deletes,
//! updates and merges rows of an Iceberg table and compacts and vacuums
//! it, and a long query runs. After
//! each restart every acknowledged statement is there (and at most the
//! one in flight besides), nothing is half-created, every listed table and
//! view can be queried (the Iceberg table has exactly the acknowledged
//! rows), and the ledger marks the interrupted query.
//!
//! CI runs `GLAUX_CRASH_ROUNDS` rounds (default 3); `bench/crash.sh` runs 30.

use crate::fuzz::{start_server, tail};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// What one statement does to the catalog, as keys added and removed.
struct Step {
    sql: String,
    adds: Vec<String>,
    removes: Vec<String>,
}

/// Client `k`'s statements in round `r`: each item `i` makes a database
/// with a partitioned table (a discovered and an added partition) and a
/// view, a user and a workgroup, then drops item `i - 1`'s.
fn script(k: usize, r: usize, files: &str) -> impl Iterator<Item = Step> + use<'_> {
    (0..).flat_map(move |i: usize| {
        let db = format!("c{k}r{r}d{i}");
        let (user, wg) = (format!("u{k}r{r}i{i}"), format!("w{k}r{r}i{i}"));
        let mut steps = vec![
            Step { sql: format!("CREATE DATABASE {db}"), adds: vec![format!("db:{db}")], removes: vec![] },
            Step {
                sql: format!(
                    "CREATE EXTERNAL TABLE {db}.t (a int, b string) PARTITIONED BY (p string) \
                     ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{files}'"
                ),
                adds: vec![format!("table:{db}.t"), format!("partition:{db}.t/p=x")],
                removes: vec![],
            },
            Step {
                sql: format!("ALTER TABLE {db}.t ADD PARTITION (p = 'y') LOCATION '{files}/p=x'"),
                adds: vec![format!("partition:{db}.t/p=y")],
                removes: vec![],
            },
            Step {
                sql: format!("CREATE VIEW {db}.v AS SELECT a, b FROM {db}.t"),
                adds: vec![format!("view:{db}.v")],
                removes: vec![],
            },
            Step { sql: format!("CREATE USER {user}"), adds: vec![format!("user:{user}")], removes: vec![] },
            Step {
                sql: format!("CREATE WORKGROUP {wg} WITH (max_concurrent_queries = 3)"),
                adds: vec![format!("workgroup:{wg}")],
                removes: vec![],
            },
        ];
        if i > 0 {
            let old = format!("c{k}r{r}d{}", i - 1);
            steps.push(Step {
                sql: format!("DROP DATABASE {old} CASCADE"),
                adds: vec![],
                removes: vec![
                    format!("db:{old}"),
                    format!("table:{old}.t"),
                    format!("partition:{old}.t/p=x"),
                    format!("partition:{old}.t/p=y"),
                    format!("view:{old}.v"),
                ],
            });
            steps.push(Step {
                sql: format!("DROP USER u{k}r{r}i{}", i - 1),
                adds: vec![],
                removes: vec![format!("user:u{k}r{r}i{}", i - 1)],
            });
            steps.push(Step {
                sql: format!("DROP WORKGROUP w{k}r{r}i{}", i - 1),
                adds: vec![],
                removes: vec![format!("workgroup:w{k}r{r}i{}", i - 1)],
            });
        }
        steps
    })
}

/// The Iceberg client's statements in round `r`: a table under `dir`,
/// then rounds of two INSERTed rows, a DELETE of one row, an UPDATE of
/// another (its id moves up by 1,000,000), a MERGE that inserts one, and
/// every third round OPTIMIZE and VACUUM. Rows are keys `row:<id>`.
fn iceberg_script(r: usize, dir: &str) -> impl Iterator<Item = Step> + use<'_> {
    let table = format!("ice{r}");
    let create = Step {
        sql: format!(
            "CREATE TABLE {table} (id bigint, b string) PARTITIONED BY (bucket(4, id)) LOCATION '{dir}/{table}' \
             TBLPROPERTIES ('table_type' = 'ICEBERG', 'vacuum_max_snapshot_age_seconds' = '1')"
        ),
        adds: vec![format!("table:{table}")],
        removes: vec![],
    };
    let rounds = (0..).flat_map(move |i: i64| {
        let (a, b) = (2 * i, 2 * i + 1);
        let table = format!("ice{r}");
        let mut steps = vec![Step {
            sql: format!("INSERT INTO {table} VALUES ({a}, 'a'), ({b}, 'b')"),
            adds: vec![format!("row:{a}"), format!("row:{b}")],
            removes: vec![],
        }];
        if i > 0 {
            let (gone, moved) = (2 * (i - 1), 2 * (i - 1) + 1);
            steps.push(Step {
                sql: format!("DELETE FROM {table} WHERE id = {gone}"),
                adds: vec![],
                removes: vec![format!("row:{gone}")],
            });
            steps.push(Step {
                sql: format!("UPDATE {table} SET id = id + 1000000 WHERE id = {moved}"),
                adds: vec![format!("row:{}", moved + 1_000_000)],
                removes: vec![format!("row:{moved}")],
            });
            // MERGE inserts a row; every third round, compaction and
            // expiry (snapshots older than a second) change no row.
            let merged = 3_000_000 + i;
            steps.push(Step {
                sql: format!(
                    "MERGE INTO {table} AS t USING (SELECT CAST({merged} AS BIGINT) AS id) AS s ON t.id = s.id \
                     WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'm')"
                ),
                adds: vec![format!("row:{merged}")],
                removes: vec![],
            });
            if i % 3 == 0 {
                for sql in [format!("OPTIMIZE {table} REWRITE DATA USING BIN_PACK"), format!("VACUUM {table}")] {
                    steps.push(Step { sql, adds: vec![], removes: vec![] });
                }
            }
        }
        steps
    });
    std::iter::once(create).chain(rounds)
}

/// The Iceberg client's table and rows, as [`iceberg_script`]'s keys.
async fn iceberg_state(client: &Client, round: usize) -> BTreeSet<String> {
    let table = format!("ice{round}");
    let listed =
        column(client, &format!("SELECT table_name FROM information_schema.tables WHERE table_name = '{table}'")).await;
    if listed.is_empty() {
        return BTreeSet::new();
    }
    let mut state: BTreeSet<String> =
        column(client, &format!("SELECT id FROM {table}")).await.into_iter().map(|id| format!("row:{id}")).collect();
    state.insert(format!("table:{table}"));
    state
}

fn apply(state: &mut BTreeSet<String>, step: &Step) {
    for key in &step.removes {
        state.remove(key);
    }
    state.extend(step.adds.iter().cloned());
}

async fn connect(port: u16) -> Client {
    let url = format!("host=127.0.0.1 port={port} user=crash dbname=glaux");
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

async fn column(client: &Client, sql: &str) -> Vec<String> {
    crate::common::simple_rows(client, sql).await.into_iter().map(|mut r| r.swap_remove(0)).collect()
}

/// The catalog's objects under `prefix` (the keys [`Step`] uses), each
/// table and view queried on the way.
async fn catalog_state(client: &Client, catalog_db: &std::path::Path, k: usize, round: usize) -> BTreeSet<String> {
    let mut state = BTreeSet::new();
    let prefix = format!("c{k}r{round}d");
    for db in column(client, "SHOW DATABASES").await.into_iter().filter(|d| d.starts_with(&prefix)) {
        state.insert(format!("db:{db}"));
        let kinds = column(
            client,
            &format!(
                "SELECT table_name || ':' || table_type FROM information_schema.tables WHERE table_schema = '{db}'"
            ),
        )
        .await;
        for entry in kinds {
            let (name, kind) = entry.split_once(':').unwrap();
            let key = if kind == "VIEW" { "view" } else { "table" };
            state.insert(format!("{key}:{db}.{name}"));
            // Every listed relation can be read.
            column(client, &format!("SELECT count(*) FROM {db}.{name}")).await;
            if key == "table" {
                for p in column(client, &format!("SHOW PARTITIONS {db}.{name}")).await {
                    state.insert(format!("partition:{db}.{name}/{p}"));
                }
            }
        }
    }
    // Users have no SQL listing; the embedded store has them.
    let user_prefix = format!("u{k}r{round}i");
    let store = rusqlite::Connection::open(catalog_db).unwrap();
    let mut users = store.prepare("SELECT name FROM users").unwrap();
    for u in users.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let u = u.unwrap();
        if u.starts_with(&user_prefix) {
            state.insert(format!("user:{u}"));
        }
    }
    let wg_prefix = format!("w{k}r{round}i");
    for w in column(client, "SHOW WORKGROUPS").await {
        if w.starts_with(&wg_prefix) {
            state.insert(format!("workgroup:{w}"));
        }
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_concurrent_ddl_loses_no_acknowledged_statement() {
    let rounds: usize = std::env::var("GLAUX_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(files.join("p=x")).unwrap();
    std::fs::write(files.join("p=x/data.csv"), "1,one\n2,two\n").unwrap();
    let files = files.display().to_string();
    let mut checked = 0;
    for round in 0..rounds {
        let mut server = start_server(dir.path());
        let port = server.port;
        let mut writers = Vec::new();
        for k in 0..4 {
            let files = files.clone();
            let lake = dir.path().join("lake").display().to_string();
            writers.push(tokio::spawn(async move {
                let client = connect(port).await;
                let mut acknowledged = BTreeSet::new();
                let steps: Box<dyn Iterator<Item = Step> + Send> =
                    if k == 3 { Box::new(iceberg_script(round, &lake)) } else { Box::new(script(k, round, &files)) };
                for step in steps {
                    match client.batch_execute(&step.sql).await {
                        Ok(()) => apply(&mut acknowledged, &step),
                        Err(e) if e.as_db_error().is_some() => panic!("{}: {e}", step.sql),
                        // The server died: this statement may or may not have been applied.
                        Err(_) => {
                            let mut with_it = acknowledged.clone();
                            apply(&mut with_it, &step);
                            return (acknowledged, with_it, step.sql);
                        }
                    }
                }
                unreachable!()
            }));
        }
        let long = connect(port).await;
        let long_query = tokio::spawn(async move {
            long.simple_query("SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b").await
        });
        let wait = 300 + (round * 397) % 900;
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let _ = long_query.await;
        let log = std::fs::read_to_string(&server.log).unwrap_or_default();
        assert_eq!(log.matches("panicked at").count(), 0, "{}", tail(&log));
        let mut outcomes = Vec::new();
        for w in writers {
            outcomes.push(w.await.unwrap());
        }

        let restarted = start_server(dir.path());
        let client = connect(restarted.port).await;
        for (k, (acknowledged, with_in_flight, in_flight)) in outcomes.iter().enumerate() {
            let found = match k {
                3 => iceberg_state(&client, round).await,
                _ => catalog_state(&client, &dir.path().join("data/catalog.db"), k, round).await,
            };
            assert!(
                found == *acknowledged || found == *with_in_flight,
                "round {round}, client {k}: after the kill during {in_flight:?} the catalog holds\n{found:?}\nbut the acknowledged statements left\n{acknowledged:?}"
            );
            checked += acknowledged.len();
        }
        let interrupted = column(
            &client,
            "SELECT state || ' ' || sqlstate FROM system.query_history WHERE query LIKE '%1000000) b%' AND state <> 'SUCCEEDED'",
        )
        .await;
        assert!(!interrupted.is_empty() && interrupted.iter().all(|s| s == "FAILED 57P01"), "{interrupted:?}");
        drop(restarted);
    }
    println!("crash: {rounds} rounds of kill -9, {checked} acknowledged objects found intact");
}

/// The ledger's rule: a statement whose result its client received is
/// recorded, even when the server is killed (-9) right after. Quick
/// statements are written once, with their end, before the answer goes
/// out; several sessions at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_ledger_record_of_an_answered_statement() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(dir.path());
    let port = server.port;
    let mut sessions = Vec::new();
    for k in 0..4 {
        sessions.push(tokio::spawn(async move {
            let client = connect(port).await;
            let mut answered = 0;
            for i in 0.. {
                let sql = format!("SELECT {i} AS ledger_probe_{k}");
                match client.simple_query(&sql).await {
                    Ok(_) => answered += 1,
                    Err(e) if e.as_db_error().is_some() => panic!("{sql}: {e}"),
                    Err(_) => return answered,
                }
            }
            unreachable!()
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut answered = Vec::new();
    for s in sessions {
        answered.push(s.await.unwrap());
    }
    let restarted = start_server(dir.path());
    let client = connect(restarted.port).await;
    for (k, answered) in answered.into_iter().enumerate() {
        assert!(answered > 0, "session {k} got no answer before the kill");
        let recorded = column(
            &client,
            &format!(
                "SELECT count(*) FROM system.query_history WHERE query LIKE '% AS ledger_probe_{k}' AND state = 'SUCCEEDED'"
            ),
        )
        .await;
        let recorded: usize = recorded[0].parse().unwrap();
        assert!(recorded >= answered, "session {k}: {answered} statements answered, {recorded} recorded as SUCCEEDED");
    }
}
