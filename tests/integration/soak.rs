//! The soak: 64 clients at once against the `glaux` binary for
//! `GLAUX_SOAK_SECS` (CI: 60; `bench/soak.sh`: 600), each mixing simple
//! and prepared queries, the catalog queries BI tools send, errors
//! followed by good statements, transactions (a failed one too), cursors
//! and cancels. Every answer is checked: no unexpected error, and the
//! server's memory after the run is near where it was after warm-up.
//! Prints p50 and p99 latency per statement.

use crate::fuzz::{rss_kib, start_server, tail};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

const CLIENTS: usize = 64;

/// psql's `\dt` query and a driver's column listing.
const CATALOG_QUERIES: &[&str] = &[
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r','p','v','m','S','f','') AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema'
       AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1, 2",
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = 'soak_view'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
];

/// What went wrong, if anything, and how long each statement took.
#[derive(Default)]
struct Tally {
    unexpected: Mutex<Vec<String>>,
    micros: Mutex<Vec<u64>>,
    statements: AtomicUsize,
}

impl Tally {
    fn wrong(&self, what: String) {
        self.unexpected.lock().unwrap().push(what);
    }

    fn timed(&self, started: Instant) {
        self.micros.lock().unwrap().push(started.elapsed().as_micros() as u64);
        self.statements.fetch_add(1, Ordering::Relaxed);
    }
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("{e}"))
}

/// One round of the mix on one client.
async fn round(client: &Client, round: usize, tally: &Tally) {
    let t = Instant::now();
    match client.simple_query("SELECT count(*) FROM generate_series(1, 1000)").await {
        Ok(_) => tally.timed(t),
        Err(e) => tally.wrong(format!("simple query: {e}")),
    }
    let t = Instant::now();
    match client.prepare("SELECT $1::int").await {
        Ok(p) => match client.query_one(&p, &[&(round as i32)]).await {
            Ok(r) if r.get::<_, i32>(0) == round as i32 => tally.timed(t),
            other => tally.wrong(format!("prepared query: {other:?}")),
        },
        Err(e) => tally.wrong(format!("prepare: {e}")),
    }
    for sql in CATALOG_QUERIES {
        let t = Instant::now();
        match client.query(*sql, &[]).await {
            Ok(rows) if !rows.is_empty() => tally.timed(t),
            other => tally.wrong(format!("catalog query returned {other:?}")),
        }
    }
    // An error, then a good statement on the same connection.
    match client.simple_query("SELECT 1/0").await {
        Err(e) if code(&e) == "22012" => {}
        other => tally.wrong(format!("1/0 gave {other:?}")),
    }
    if let Err(e) = client.simple_query("SELECT 1").await {
        tally.wrong(format!("after an error: {e}"));
    }
    // A failed transaction: 25P02 until ROLLBACK.
    let failed = async {
        client.batch_execute("BEGIN").await?;
        let _ = client.simple_query("SELECT 1/0").await;
        let refused = client.simple_query("SELECT 1").await;
        client.batch_execute("ROLLBACK").await?;
        Ok::<_, tokio_postgres::Error>(refused.err().map(|e| code(&e)))
    };
    match failed.await {
        Ok(Some(c)) if c == "25P02" => {}
        other => tally.wrong(format!("failed transaction: {other:?}")),
    }
    // A cursor inside a transaction.
    let t = Instant::now();
    let cursor = client
        .simple_query(
            "BEGIN; DECLARE c CURSOR FOR SELECT * FROM generate_series(1, 100); FETCH 10 FROM c; CLOSE c; COMMIT",
        )
        .await;
    match cursor {
        Ok(m) if m.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count() == 10 => {
            tally.timed(t)
        }
        other => tally.wrong(format!("cursor: {other:?}")),
    }
    // Every fourth round: a long query, cancelled.
    if round.is_multiple_of(4) {
        let token = client.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            token.cancel_query(NoTls).await
        });
        // Not answerable from statistics or bounds (a bare count of a
        // cross join is, and so is `a + b < 0`).
        let long = "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b WHERE (a * 7 + b) % 1000003 = 5";
        match client.simple_query(long).await {
            Err(e) if code(&e) == "57014" => {}
            // Finished before the cancel arrived: a race, not an error.
            Ok(_) => {}
            other => tally.wrong(format!("cancelled query: {other:?}")),
        }
        let _ = canceller.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_many_clients_mixing_everything() {
    let secs: u64 = std::env::var("GLAUX_SOAK_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(dir.path());
    let pid = server.child.id();
    let url = format!("host=127.0.0.1 port={} user=soak dbname=glaux", server.port);
    let (setup, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    setup.batch_execute("CREATE VIEW soak_view AS SELECT 1 AS id, 'x' AS name").await.unwrap();

    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let warm = Instant::now() + Duration::from_secs(secs / 6);
    let warm_rss = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (url, tally, warm_rss) = (url.clone(), Arc::clone(&tally), Arc::clone(&warm_rss));
        clients.push(tokio::spawn(async move {
            let (client, conn) = tokio_postgres::connect(&url, NoTls).await.expect("soak client connects");
            tokio::spawn(conn);
            let mut n = 0;
            while Instant::now() < deadline {
                round(&client, n, &tally).await;
                if Instant::now() > warm && warm_rss.load(Ordering::Relaxed) == 0 {
                    warm_rss.store(rss_kib(pid) as usize, Ordering::Relaxed);
                }
                n += 1;
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid);
    let warm = warm_rss.load(Ordering::Relaxed) as u64;

    let mut micros = tally.micros.lock().unwrap().clone();
    micros.sort_unstable();
    let at = |q: f64| micros.get(((micros.len() as f64 * q) as usize).min(micros.len().saturating_sub(1))).copied();
    let unexpected = tally.unexpected.lock().unwrap().clone();
    println!(
        "soak: {CLIENTS} clients for {secs} s; {} timed statements; p50 {:.1} ms, p99 {:.1} ms; unexpected errors {}; \
         server RSS {} MB after warm-up, {} MB after",
        tally.statements.load(Ordering::Relaxed),
        at(0.5).unwrap_or(0) as f64 / 1000.0,
        at(0.99).unwrap_or(0) as f64 / 1000.0,
        unexpected.len(),
        warm / 1024,
        after / 1024,
    );
    let alive = server.child.try_wait().unwrap().is_none();
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(alive, "the server died:\n{}", tail(&log));
    assert_eq!(log.matches("panicked at").count(), 0, "the server panicked:\n{}", tail(&log));
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers, the first: {:?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(5)]
    );
    assert!(after < warm * 2 + 64 * 1024, "memory grew from {warm} KiB after warm-up to {after} KiB");
}
