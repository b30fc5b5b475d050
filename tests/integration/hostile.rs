//! Hostile and unusual statements: each gets its SQLSTATE, never a crash
//! or a wrong answer, and the connection stays usable; prepared catalog
//! queries see the whole catalog whatever was prepared in between.

use crate::common::{engine_in, TestServer};

async fn server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    (server, dir)
}

/// The SQLSTATE `sql` fails with over the wire.
async fn code_of(client: &tokio_postgres::Client, sql: &str) -> String {
    let e = client.simple_query(sql).await.expect_err(&format!("{} should fail", &sql[..sql.len().min(60)]));
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

fn chain(first: &str, op: &str, term: &str, n: usize) -> String {
    let mut s = String::from(first);
    for _ in 1..n {
        s.push_str(op);
        s.push_str(term);
    }
    s
}

#[tokio::test]
async fn statements_nested_too_deeply_are_refused_54001_before_planning() {
    // Each of these overflowed a stack and aborted the whole server.
    let (server, _dir) = server().await;
    let client = server.connect().await;
    let cases = [
        format!("SELECT {}", chain("1", "+", "1", 2000)),
        format!("SELECT 1 WHERE {}", chain("true", " AND ", "true", 10_000)),
        format!("SELECT 1 WHERE {}", chain("false", " OR ", "false", 10_000)),
        format!("SELECT {}", chain("'a'", " || ", "'a'", 10_000)),
        chain("SELECT 1", " UNION ALL ", "SELECT 1", 2000),
        format!("SELECT 1{}", "::int".repeat(5000)),
        format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000)),
    ];
    for sql in &cases {
        assert_eq!(code_of(&client, sql).await, "54001", "{}", &sql[..60]);
    }
    // The connection goes on.
    let row = client.query_one("SELECT 40 + 2", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
    // Wide statements are not deep: a long IN list, many columns, a CASE
    // with many branches.
    let list: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    let sql = format!("SELECT count(*) FROM generate_series(1, 10) AS t(x) WHERE x IN ({})", list.join(","));
    assert_eq!(client.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0), 10);
    let branches: String = (0..2000).map(|i| format!(" WHEN x = {i} THEN {i}")).collect();
    let sql = format!("SELECT CASE{branches} END FROM generate_series(7, 7) AS t(x)");
    assert_eq!(client.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0), 7);
}

#[tokio::test]
async fn a_statement_under_the_nesting_limit_runs() {
    let (server, _dir) = server().await;
    let client = server.connect().await;
    // 1000 operators: the limit itself.
    let sql = format!("SELECT {}", chain("1", "+", "1", 1001));
    assert_eq!(client.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0), 1001);
    let sql = format!("SELECT 1 WHERE {}", chain("x = 1", " OR ", "x = 1", 334).replace('x', "1"));
    assert_eq!(client.query(&sql, &[]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_parameter_number_past_65535_is_42p02_and_sizes_nothing() {
    // `$2147483648` became the length of a vector: a 51 GB allocation
    // that aborted the server.
    let (server, _dir) = server().await;
    let client = server.connect().await;
    assert_eq!(code_of(&client, "SELECT $2147483648").await, "42P02");
    assert_eq!(code_of(&client, "SELECT $0").await, "42P02");
    let e = client.prepare("SELECT $99999999999").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42P02"), "{e}");
    let row = client.query_one("SELECT $1::int", &[&42i32]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
}

#[tokio::test]
async fn a_panic_while_a_query_runs_is_an_error_not_an_empty_success() {
    // These answered `SELECT 0` with no row; the panic showed only in the log.
    let (server, _dir) = server().await;
    let client = server.connect().await;
    for sql in ["SELECT DATE '2024-01-01' + INTERVAL '2147483647 days'"] {
        let result = client.simple_query(sql).await;
        assert!(result.is_err(), "{sql}: {result:?}");
    }
    let row = client.query_one("SELECT 1 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
}

/// psql's `\dt`/`\dv` query.
const PSQL_LIST_RELATIONS: &str = "SELECT n.nspname AS \"Schema\", c.relname AS \"Name\"
    FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast' AND n.nspname <> 'information_schema'
      AND pg_catalog.pg_table_is_visible(c.oid)
    ORDER BY 1, 2";

/// Prepare the catalog queries, prepare something else, then run them.
async fn prepared_catalog_queries_see_the_catalog(client: &tokio_postgres::Client) {
    let regclass = client.prepare("SELECT 'shown'::regclass::oid::bigint").await.unwrap();
    let listing = client.prepare(PSQL_LIST_RELATIONS).await.unwrap();
    let other = client.prepare("SELECT 1").await.unwrap();
    client.query(&other, &[]).await.unwrap();
    let oid: i64 = client.query_one(&regclass, &[]).await.unwrap().get(0);
    assert!(oid > 0);
    let names: Vec<String> = client.query(&listing, &[]).await.unwrap().iter().map(|r| r.get(1)).collect();
    assert_eq!(names, vec!["shown".to_string()]);
}

#[tokio::test]
async fn a_prepared_catalog_query_sees_the_catalog_after_other_statements_are_prepared() {
    // The snapshot was taken at Parse and cleared by the next Parse: the
    // `::regclass` gave 42P01 and psql's `\dt` query no rows.
    let (server, _dir) = server().await;
    let client = server.connect().await;
    client.batch_execute("CREATE VIEW shown AS SELECT 1 AS x").await.unwrap();
    prepared_catalog_queries_see_the_catalog(&client).await;
    // Many sessions at once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = server.connect().await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                prepared_catalog_queries_see_the_catalog(&client).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn a_huge_application_name_is_cut_to_63_bytes_as_in_postgresql() {
    // 100,000 characters sent half a ParameterStatus, then FATAL 58030.
    let (server, _dir) = server().await;
    let client = server.connect().await;
    client.batch_execute(&format!("SET application_name = '{}'", "é".repeat(50_000))).await.unwrap();
    let shown = crate::common::simple_rows(&client, "SHOW application_name").await;
    assert_eq!(shown, vec![vec!["é".repeat(31)]]);
    let row = client.query_one("SELECT 1 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
}

#[tokio::test]
async fn every_query_runs_under_the_default_memory_limit_53200() {
    // Without a limit, one query could take the machine's memory.
    let dir = tempfile::tempdir().unwrap();
    let mut config = glaux::config::Config::for_data_dir(&dir.path().join("glaux"));
    config.set("engine.query_memory_limit", "1MB").unwrap();
    let server = TestServer::start(glaux::engine::Engine::open(config).await.unwrap()).await;
    let client = server.connect().await;
    let join = "SELECT count(*) FROM generate_series(1, 3000000) a(x) JOIN generate_series(1, 3000000) b(y) ON x = y";
    assert_eq!(code_of(&client, join).await, "53200");
    let row = client.query_one("SELECT count(*) FROM generate_series(1, 1000)", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 1000);
    // A workgroup's own limit replaces the default.
    client
        .batch_execute("CREATE WORKGROUP roomy WITH (query_memory_limit = '2GB'); SET workgroup = 'roomy'")
        .await
        .unwrap();
    let small = "SELECT count(*) FROM generate_series(1, 30000) a(x) JOIN generate_series(1, 30000) b(y) ON x = y";
    assert_eq!(client.query_one(small, &[]).await.unwrap().get::<_, i64>(0), 30000);
}

#[tokio::test]
async fn a_client_that_stops_reading_does_not_make_the_server_buffer_its_rows() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = crate::fuzz::start_server(dir.path());
    let pid = server.child.id();
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend(b"user\0lazy\0database\0glaux\0\0");
    let mut bytes = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    bytes.extend(body);
    // A billion rows of 100-character text, never read.
    let query = b"SELECT repeat('x', 100) || x FROM generate_series(1, 1000000000) AS t(x)\0";
    bytes.push(b'Q');
    bytes.extend(((query.len() + 4) as i32).to_be_bytes());
    bytes.extend(query);
    socket.write_all(&bytes).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let early = crate::fuzz::rss_kib(pid);
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let late = crate::fuzz::rss_kib(pid);
    assert!(
        late < early + 50 * 1024,
        "server memory grew from {early} KiB to {late} KiB for a client that does not read"
    );
    // Others are served meanwhile.
    let url = format!("host=127.0.0.1 port={} user=other dbname=glaux", server.port);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    assert_eq!(client.query_one("SELECT 1 + 1", &[]).await.unwrap().get::<_, i64>(0), 2);
}

/// CPU time the process `pid` has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    fields.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

#[tokio::test]
async fn a_timed_out_join_whose_filter_drops_every_row_stops_using_the_cpu() {
    // The nested-loop join never returned a batch, so it never yielded:
    // the work went on for seconds after the client had its 57014.
    let dir = tempfile::tempdir().unwrap();
    let server = crate::fuzz::start_server(dir.path());
    let pid = server.child.id();
    let url = format!("host=127.0.0.1 port={} user=t dbname=glaux", server.port);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let sql = "SET statement_timeout = 1000; \
               SELECT count(*) FROM generate_series(1, 2000) a, generate_series(1, 2000) b, generate_series(1, 2000) c \
               WHERE a + b + c < 0";
    let e = client.batch_execute(sql).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("57014"), "{e:?}");
    // Within a second the server is idle: under a tenth of a core over the next second.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let before = cpu_ticks(pid);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let used = cpu_ticks(pid) - before;
    assert!(used < 10, "the server used {used} ticks of CPU in the second after the query was cancelled");
}
