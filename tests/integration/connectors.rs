//! Connector catalogs against a real PostgreSQL server, started here on
//! loopback in a throwaway data directory (Debian's postgresql package;
//! .ci/run installs it), and stopped when the test ends.

use crate::common::{plan_text, simple_rows, TestServer};
use glaux::config::Config;
use glaux::engine::Engine;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The password of the test server's superuser: quotes, a backslash and
/// a space, which must survive every layer.
pub const PASSWORD: &str = "s3cret 'pw\\x";
pub const USER: &str = "glaux_test";

/// A PostgreSQL server on a free loopback port.
pub struct Postgres {
    child: Child,
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = as_postgres(&self.bin.join("pg_ctl"));
        stop.arg("-D").arg(&self.data).args(["stop", "-m", "immediate"]).stdout(Stdio::null()).stderr(Stdio::null());
        let _ = stop.status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program`, run as the `postgres` user when this process is root
/// (PostgreSQL refuses to run as root); `setpriv` execs, so the child is
/// the program itself.
fn as_postgres(program: &Path) -> Command {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false);
    if root {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (.ci/run installs the postgresql package)")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// Starts a server whose superuser is [`USER`] with [`PASSWORD`]
/// (SCRAM), and waits until it accepts connections.
pub async fn start_postgres() -> Postgres {
    let dir = tempfile::Builder::new().prefix("glaux-pg").tempdir_in("/tmp").unwrap();
    let data = dir.path().join("data");
    let password = dir.path().join("pw");
    std::fs::write(&password, PASSWORD).unwrap();
    let _ = Command::new("chown").arg("-R").arg("postgres:postgres").arg(dir.path()).status();
    let bin = postgres_bin();
    let init = as_postgres(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", USER, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        .arg(format!("--pwfile={}", password.display()))
        .output()
        .expect("initdb runs");
    assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = as_postgres(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        .arg("-k")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("postgres starts");
    let server = Postgres { child, bin, data, port, _dir: dir };
    for _ in 0..100 {
        if server.client().await.is_ok() {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("PostgreSQL did not start on port {port}");
}

impl Postgres {
    pub async fn client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(self.port).user(USER).password(PASSWORD).dbname("postgres");
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    pub fn url(&self) -> String {
        Postgres::url_for(self.port)
    }

    fn url_for(port: u16) -> String {
        format!("postgresql://127.0.0.1:{port}/postgres")
    }
}

/// A glaux engine in `dir` with the connector catalog `pg` on `server`,
/// its password given as `password`.
async fn engine_with_pg(dir: &Path, server: &Postgres, password: &str) -> Engine {
    let mut config = Config::for_data_dir(dir);
    for (k, v) in [
        ("connector.pg.type", "postgres"),
        ("connector.pg.url", &server.url()),
        ("connector.pg.user", USER),
        ("connector.pg.password", password),
        ("connector.pg.sslmode", "disable"),
    ] {
        config.set(k, v).unwrap();
    }
    Engine::open(config).await.unwrap()
}

pub async fn failure(client: &tokio_postgres::Client, sql: &str) -> (String, String) {
    let e = client.simple_query(sql).await.expect_err(sql);
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e:?}"));
    (db.code().code().to_string(), db.message().to_string())
}

#[tokio::test]
async fn postgres_catalog_answers_with_safe_pushdown() {
    let pg = start_postgres().await;
    let source = pg.client().await.unwrap();
    source
        .batch_execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2), day date, at timestamp, ok boolean, score double precision);
             INSERT INTO items VALUES
               (1, 'a', 1.50, '2024-01-01', '2024-01-01 10:00', true, 0.5),
               (2, 'b', 2.25, '2024-02-29', '2024-02-29 23:59:59', false, NULL),
               (3, 'B', NULL, NULL, NULL, NULL, 'NaN'),
               (4, '', 0.00, '0001-01-01', '1970-01-01 00:00', true, -0.0),
               (5, 'it''s \\ here', 99999999.99, '9999-12-31', '2200-01-01 00:00', false, 1e300),
               (6, NULL, -1.00, '2024-01-01', '2024-01-01 10:00', NULL, 2);
             CREATE TABLE \"we'ird; --name\" (v int);
             INSERT INTO \"we'ird; --name\" VALUES (7);",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("GLAUX_TEST_PG_PASSWORD", PASSWORD);
    let engine = engine_with_pg(dir.path(), &pg, "env:GLAUX_TEST_PG_PASSWORD").await;
    let server = TestServer::start(engine).await;
    let (client, notices) = server.connect_with_notices().await;
    let rows = |sql: &'static str| {
        let client = &client;
        async move { simple_rows(client, sql).await }
    };

    // Answers, with NULLs, the empty string, case, quotes and boundaries.
    assert_eq!(
        rows("SELECT id, name, price, day, ok FROM pg.public.items WHERE id IN (4, 5) ORDER BY id").await,
        vec![
            vec!["4".to_string(), "".into(), "0.00".into(), "0001-01-01".into(), "t".into()],
            vec!["5".to_string(), "it's \\ here".into(), "99999999.99".into(), "9999-12-31".into(), "f".into()],
        ]
    );
    assert_eq!(
        rows("SELECT count(*), count(name), sum(price) FROM pg.public.items").await,
        vec![vec!["6".to_string(), "5".into(), "100000002.74".into()]]
    );
    assert_eq!(rows("SELECT id FROM pg.public.items WHERE name = 'b'").await, vec![vec!["2".to_string()]]);
    assert_eq!(rows("SELECT id FROM pg.public.items WHERE name = 'it''s \\ here'").await, vec![vec!["5".to_string()]]);
    assert_eq!(
        rows("SELECT id FROM pg.public.items WHERE name < 'b' ORDER BY id").await,
        vec![vec!["1".to_string()], vec!["3".into()], vec!["4".into()]]
    );
    assert_eq!(
        rows("SELECT id FROM pg.public.items WHERE day BETWEEN DATE '2024-01-01' AND DATE '2024-02-29' AND NOT ok ORDER BY id")
            .await,
        vec![vec!["2".to_string()]]
    );
    assert_eq!(rows("SELECT v FROM pg.public.\"we'ird; --name\"").await, vec![vec!["7".to_string()]]);

    // What is sent: comparisons of integers and dates; never strings (a
    // char(n) column compares ignoring trailing spaces, and collations
    // order differently), a function or floating point.
    let plan = plan_text(&client, "EXPLAIN SELECT id FROM pg.public.items WHERE id > 2 AND name = 'b'").await;
    assert!(plan.contains("ConnectorScan: table=pg.public.items"), "{plan}");
    assert!(plan.contains("WHERE") && plan.contains("> 2") && !plan.contains("= 'b'"), "{plan}");
    let plan =
        plan_text(&client, "EXPLAIN SELECT id FROM pg.public.items WHERE day >= DATE '2024-01-01' OR id IN (1, 2)")
            .await;
    assert!(plan.contains("2024-01-01") && plan.contains("\"id\" = 2"), "{plan}");
    let plan = plan_text(
        &client,
        "EXPLAIN SELECT id FROM pg.public.items WHERE name < 'b' AND upper(name) = 'B' AND score > 1",
    )
    .await;
    assert!(!plan.contains("WHERE"), "{plan}");
    let plan = plan_text(&client, "EXPLAIN SELECT id FROM pg.public.items WHERE id = 1 LIMIT 1").await;
    assert!(plan.contains("LIMIT 1"), "{plan}");

    // A lake table joined with the database's.
    client
        .batch_execute(&format!(
            "CREATE TABLE orders WITH (external_location = '{}') AS \
             SELECT * FROM (VALUES (1, 10), (2, 20), (6, 60), (9, 90)) AS t(item, qty)",
            dir.path().join("orders").display()
        ))
        .await
        .unwrap();
    assert_eq!(
        rows("SELECT o.item, i.name, o.qty FROM orders o JOIN pg.public.items i ON i.id = o.item ORDER BY o.item")
            .await,
        vec![
            vec!["1".to_string(), "a".into(), "10".into()],
            vec!["2".to_string(), "b".into(), "20".into()],
            vec!["6".to_string(), "NULL".into(), "60".into()],
        ]
    );

    // Metered: the rows received are in the NOTICE and the ledger.
    notices.lock().unwrap().clear();
    rows("SELECT * FROM pg.public.items").await;
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("scanned") && !said.contains("scanned 0 B"), "{said}");
    let scanned =
        rows("SELECT bytes_scanned FROM system.query_history WHERE query = 'SELECT * FROM pg.public.items'").await;
    assert!(scanned[0][0].parse::<u64>().unwrap() > 0, "{scanned:?}");
    // What the values take, however the rows were batched: six bigints.
    rows("SELECT id FROM pg.public.items").await;
    let scanned =
        rows("SELECT bytes_scanned FROM system.query_history WHERE query = 'SELECT id FROM pg.public.items'").await;
    assert_eq!(scanned, vec![vec!["48".to_string()]]);

    // Unknown names are 42P01; nothing shows the password.
    let (code, message) = failure(&client, "SELECT * FROM pg.public.nope").await;
    assert_eq!(code, "42P01", "{message}");
    let (code, _) = failure(&client, "SELECT * FROM pg.nope.items").await;
    assert_eq!(code, "42P01");
    let history = rows("SELECT query, error FROM system.query_history").await;
    assert!(!format!("{history:?}").contains("s3cret"), "{history:?}");
}

#[tokio::test]
async fn postgres_catalog_errors_name_the_catalog() {
    let pg = start_postgres().await;
    let dir = tempfile::tempdir().unwrap();
    // A wrong password: 28P01, and the server keeps serving.
    let server = TestServer::start(engine_with_pg(&dir.path().join("a"), &pg, "wrong").await).await;
    let client = server.connect().await;
    let (code, message) = failure(&client, "SELECT * FROM pg.public.items").await;
    assert_eq!(code, "28P01", "{message}");
    assert!(message.contains("catalog pg") && !message.contains("wrong"), "{message}");
    assert_eq!(simple_rows(&client, "SELECT 1").await, vec![vec!["1".to_string()]]);
    // A catalog of the configuration file is changed there, not by SQL.
    let (code, message) = failure(&client, "DROP CATALOG pg").await;
    assert_eq!(code, "55000", "{message}");
    // A server that is not there: HV00N naming the host.
    let port = pg.port;
    drop(pg);
    let gone = Postgres::url_for(port);
    let mut config = Config::for_data_dir(&dir.path().join("b"));
    for (k, v) in
        [("connector.pg.type", "postgres"), ("connector.pg.url", gone.as_str()), ("connector.pg.sslmode", "disable")]
    {
        config.set(k, v).unwrap();
    }
    let server = TestServer::start(Engine::open(config).await.unwrap()).await;
    let client = server.connect().await;
    let (code, message) = failure(&client, "SELECT * FROM pg.public.items").await;
    assert_eq!(code, "HV00N", "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    // A password in the url is refused without being echoed.
    let mut config = Config::for_data_dir(&dir.path().join("c"));
    let with_password = format!("postgresql://{USER}:hunter2@127.0.0.1:{port}/postgres");
    for (k, v) in [("connector.pg.type", "postgres"), ("connector.pg.url", with_password.as_str())] {
        config.set(k, v).unwrap();
    }
    assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
    let server = TestServer::start(Engine::open(config).await.unwrap()).await;
    let client = server.connect().await;
    let (code, message) = failure(&client, "SELECT * FROM pg.public.items").await;
    assert_eq!(code, "22023", "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    // An option the connector does not take stops glaux from starting,
    // named, its value not shown.
    let mut config = Config::for_data_dir(&dir.path().join("d"));
    for (k, v) in
        [("connector.pg.type", "postgres"), ("connector.pg.url", gone.as_str()), ("connector.pg.pasword", "hunter2")]
    {
        config.set(k, v).unwrap();
    }
    let Err(e) = Engine::open(config).await else { panic!("a misspelled option was accepted") };
    let text = e.to_string();
    assert!(text.contains("\"pasword\"") && !text.contains("hunter2"), "{text}");
}

/// A client of `server` as `user` (with `password`) on database `db`.
async fn login(server: &TestServer, user: &str, password: Option<&str>, db: &str) -> tokio_postgres::Client {
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(server.addr.port()).user(user).dbname(db);
    if let Some(p) = password {
        config.password(p);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("log in");
    tokio::spawn(connection);
    client
}

/// psql's output (unaligned, tuples only) for `command` on database `db`.
async fn psql(server: &TestServer, user: &str, password: &str, db: &str, command: &str) -> String {
    let conninfo = format!("host=127.0.0.1 port={} user={user} dbname={db}", server.addr.port());
    let (password, command) = (password.to_string(), command.to_string());
    tokio::task::spawn_blocking(move || {
        let out = Command::new("psql")
            .args(["-X", "-A", "-t", &conninfo, "-c", &command])
            .env("PGPASSWORD", password)
            .stdin(Stdio::null())
            .output()
            .expect("psql (postgresql-client) runs");
        assert!(out.status.success(), "psql {command}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn created_catalogs_are_kept_browsed_and_dropped() {
    let pg = start_postgres().await;
    pg.client()
        .await
        .unwrap()
        .batch_execute(
            "CREATE SCHEMA sales;
             CREATE TABLE sales.orders (id int, note text, amount numeric(8,2), day date);
             INSERT INTO sales.orders VALUES (1, 'first', 10.50, '2024-03-01'), (2, NULL, -0.25, NULL);
             CREATE VIEW sales.big AS SELECT id FROM sales.orders WHERE amount > 1;
             CREATE TABLE public.t0 (x int); INSERT INTO public.t0 VALUES (42);",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(crate::common::engine_in(dir.path()).await).await;
    let first = server.connect().await;
    first.batch_execute("CREATE USER alice PASSWORD 'a'; CREATE USER root PASSWORD 'r' SUPERUSER").await.unwrap();
    let root = login(&server, "root", Some("r"), "glaux").await;
    let alice = login(&server, "alice", Some("a"), "glaux").await;
    let quoted = PASSWORD.replace('\'', "''");
    let create = format!(
        "CREATE CATALOG pg USING postgres WITH ('url' = '{}', user = '{USER}', 'password' = '{quoted}', \"sslmode\" = 'disable')",
        pg.url()
    );

    // Only admins create and drop catalogs.
    let (code, message) = failure(&alice, &create).await;
    assert_eq!(code, "42501", "{message}");
    assert!(!message.contains("s3cret"), "{message}");
    root.batch_execute(&create).await.unwrap();
    let (code, _) = failure(&root, &create).await;
    assert_eq!(code, "42710");
    root.batch_execute(&create.replace("CATALOG pg", "CATALOG IF NOT EXISTS pg")).await.unwrap();
    let (code, _) = failure(&alice, "DROP CATALOG pg").await;
    assert_eq!(code, "42501");

    // A wrong password fails at CREATE and keeps nothing; a syntax error
    // in WITH never echoes the values.
    let wrong = create.replace("CATALOG pg", "CATALOG bad").replace(&quoted, "hunter2");
    let (code, message) = failure(&root, &wrong).await;
    assert_eq!(code, "28P01", "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    let (code, message) =
        failure(&root, "CREATE CATALOG bad USING postgres WITH ('url' = 'x', 'password' 'hunter2')").await;
    assert_eq!(code, "42601", "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    let (code, _) = failure(&root, "CREATE CATALOG bad USING oracle WITH ('url' = 'x')").await;
    assert_eq!(code, "22023");

    // SHOW CATALOGS names the type and options, never the password.
    let shown = simple_rows(&alice, "SHOW CATALOGS").await;
    let expected_options = format!("password=********, sslmode=disable, url={}, user={USER}", pg.url());
    assert_eq!(
        shown,
        vec![
            vec!["glaux".to_string(), "embedded".into(), "".into()],
            vec!["pg".to_string(), "postgres".into(), expected_options]
        ]
    );

    // Every session reads it by three-part names.
    assert_eq!(
        simple_rows(&alice, "SELECT id, note, amount FROM pg.sales.orders ORDER BY id").await,
        vec![
            vec!["1".to_string(), "first".into(), "10.50".into()],
            vec!["2".to_string(), "NULL".into(), "-0.25".into()]
        ]
    );

    // A client connected to the catalog as its database browses it:
    // pg_catalog, information_schema and psql's \dt and \d.
    let inside = login(&server, "alice", Some("a"), "pg").await;
    assert_eq!(
        simple_rows(&inside, "SELECT current_database(), x FROM t0").await,
        vec![vec!["pg".to_string(), "42".into()]]
    );
    assert_eq!(
        simple_rows(
            &inside,
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'sales' ORDER BY 1"
        )
        .await,
        vec![vec!["big".to_string(), "VIEW".into()], vec!["orders".to_string(), "BASE TABLE".into()]]
    );
    assert_eq!(
        simple_rows(
            &inside,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'orders' ORDER BY ordinal_position"
        )
        .await,
        vec![
            vec!["id".to_string(), "integer".into()],
            vec!["note".to_string(), "text".into()],
            vec!["amount".to_string(), "numeric".into()],
            vec!["day".to_string(), "date".into()],
        ]
    );
    let listed = psql(&server, "alice", "a", "pg", "\\dt sales.*").await;
    assert!(listed.contains("sales|orders|table"), "{listed}");
    let views = psql(&server, "alice", "a", "pg", "\\dv sales.*").await;
    assert!(views.contains("sales|big|view") && !views.contains("orders"), "{views}");
    let described = psql(&server, "alice", "a", "pg", "\\d sales.orders").await;
    assert!(described.contains("amount|numeric(8,2)"), "{described}");
    let (code, message) = failure(&inside, "CREATE TABLE sales.t (a int)").await;
    assert_eq!(code, "0A000", "{message}");
    let (code, message) = failure(&inside, "INSERT INTO sales.orders VALUES (3, 'x', 1, NULL)").await;
    assert_eq!(code, "0A000", "{message}");

    // Kept across a restart, with the data dir's catalog private.
    drop((first, root, alice, inside));
    server.stop().await;
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("catalog.db")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    let server = TestServer::start(crate::common::engine_in(dir.path()).await).await;
    let root = login(&server, "root", Some("r"), "glaux").await;
    assert_eq!(simple_rows(&root, "SELECT count(*) FROM pg.sales.orders").await, vec![vec!["2".to_string()]]);
    let history = simple_rows(&root, "SELECT query, error FROM system.query_history").await;
    assert!(!format!("{history:?}").contains("s3cret"), "{history:?}");

    // DROP CATALOG: gone for every session, and after a restart.
    let (code, _) = failure(&root, "DROP CATALOG glaux").await;
    assert_eq!(code, "55000");
    root.batch_execute("DROP CATALOG pg; DROP CATALOG IF EXISTS pg").await.unwrap();
    let (code, _) = failure(&root, "DROP CATALOG pg").await;
    assert_eq!(code, "42704");
    let (code, _) = failure(&root, "SELECT * FROM pg.sales.orders").await;
    assert_eq!(code, "42P01");
    drop(root);
    server.stop().await;
    let server = TestServer::start(crate::common::engine_in(dir.path()).await).await;
    let root = login(&server, "root", Some("r"), "glaux").await;
    assert_eq!(
        simple_rows(&root, "SHOW CATALOGS").await,
        vec![vec!["glaux".to_string(), "embedded".into(), "".into()]]
    );
}

/// Each PostgreSQL type read through glaux reads as PostgreSQL shows it,
/// value for value (both answer in PostgreSQL's text format), or is left
/// out of the table with a NOTICE naming the column.
#[tokio::test]
async fn postgres_types_read_exactly() {
    let pg = start_postgres().await;
    let source = pg.client().await.unwrap();
    source
        .batch_execute(
            "SET TimeZone = 'UTC';
             CREATE TYPE mood AS ENUM ('sad', 'happy');
             CREATE TABLE kinds (id int, i2 smallint, n numeric(12,3), n_free numeric, n_big numeric(38,0), r real,
               d date, t time, ts timestamp, tstz timestamptz, iv interval, u uuid, j json, jb jsonb, b bytea,
               ai int[], at text[], e mood, vc varchar(3), bp char(3), inet inet, m money, ttz timetz, ch \"char\");
             INSERT INTO kinds VALUES
               (1, -32768, 123456789.123, 1.5, 12345678901234567890123456789012345678, 1.25,
                '2024-02-29', '23:59:59.999999', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+00',
                '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": null}',
                '\\x00ff10', '{1,NULL,3}', '{\"x y\",NULL,\"\"}', 'happy', 'abc', 'ab', '10.0.0.1/8', 12.34, '10:00+02', 'x'),
               (2, NULL, -0.001, 0.000000000000000000001, -99999999999999999999999999999999999999, NULL,
                '0001-01-01', '00:00', '9999-12-31 23:59:59.999999', '1000-01-01 00:00+00',
                '-3 days', NULL, NULL, NULL, '\\x', '{}', NULL, 'sad', '', '', NULL, NULL, NULL, NULL),
               (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("GLAUX_TEST_PG_PASSWORD", PASSWORD);
    let engine = engine_with_pg(dir.path(), &pg, "env:GLAUX_TEST_PG_PASSWORD").await;
    let server = TestServer::start(engine).await;
    let (client, notices) = server.connect_with_notices().await;
    let mut report = Vec::new();
    for column in [
        "i2", "n", "n_big", "r", "d", "t", "ts", "tstz", "iv", "u", "j", "jb", "b", "ai", "at", "e", "vc", "bp",
        "inet", "ch",
    ] {
        let sql = format!("SELECT {column} FROM kinds ORDER BY id");
        let expected: Vec<Vec<String>> = source
            .simple_query(&sql)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(vec![r.get(0).unwrap_or("NULL").to_string()]),
                _ => None,
            })
            .collect();
        let glaux = client.simple_query(&format!("SELECT {column} FROM pg.public.kinds ORDER BY id")).await;
        let got: Result<Vec<Vec<String>>, String> = glaux
            .map(|messages| {
                messages
                    .into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some(vec![r.get(0).unwrap_or("NULL").to_string()])
                        }
                        _ => None,
                    })
                    .collect()
            })
            .map_err(|e| {
                format!(
                    "{:?} {}",
                    e.code().map(|c| c.code().to_string()),
                    e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default()
                )
            });
        if got.as_ref() != Ok(&expected) {
            report.push(format!("{column}: postgres {expected:?}\n      glaux {got:?}"));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));

    // Types glaux has: uuid and json reach the client as uuid and json.
    let typed = client.query("SELECT u, j, jb, ai FROM pg.public.kinds WHERE id = 1", &[]).await.unwrap();
    let types: Vec<String> = typed[0].columns().iter().map(|c| c.type_().name().to_string()).collect();
    assert_eq!(types, ["uuid", "json", "json", "_int4"]);
    // Unconstrained numeric reads as numeric(38,10); a value with more
    // places is an error naming the column, never a rounded value.
    assert_eq!(
        simple_rows(&client, "SELECT n_free FROM pg.public.kinds WHERE id = 1").await,
        vec![vec!["1.5000000000".to_string()]]
    );
    let (code, message) = failure(&client, "SELECT n_free FROM pg.public.kinds WHERE id = 2").await;
    assert_eq!(code, "HV000", "{message}");
    assert!(message.contains("column n_free") && message.contains("decimal(38,10)"), "{message}");
    // Types with no exact form are left out, and the client is told.
    notices.lock().unwrap().clear();
    let all = client.simple_query("SELECT * FROM pg.public.kinds WHERE id = 3").await.unwrap();
    let Some(tokio_postgres::SimpleQueryMessage::RowDescription(columns)) = all.first() else { panic!("{all:?}") };
    let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
    assert!(!names.contains(&"m") && !names.contains(&"ttz") && names.contains(&"ch"), "{names:?}");
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("pg.public.kinds is read without columns m (money), ttz (time with time zone)"), "{said}");
    let (code, _) = failure(&client, "SELECT m FROM pg.public.kinds").await;
    assert_eq!(code, "42703");

    // A client connected to the catalog sees each column with the type it
    // reads as, in pg_attribute and information_schema as in PostgreSQL's
    // own, and a view as a view.
    source.batch_execute("CREATE VIEW kinds_view AS SELECT id, u FROM kinds").await.unwrap();
    let inside = login(&server, "tester", None, "pg").await;
    let exact = "'id', 'i2', 'n', 'n_big', 'r', 'd', 't', 'ts', 'tstz', 'iv', 'u', 'j', 'b', 'ai', 'at', 'vc', 'bp'";
    for sql in [
        format!(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname = 'kinds' AND a.attnum > 0 AND a.attname IN ({exact})
             ORDER BY a.attnum"
        ),
        format!(
            "SELECT column_name::text, data_type::text, character_maximum_length::text, numeric_precision::text,
               numeric_scale::text
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'kinds'
               AND column_name IN ({exact}) ORDER BY ordinal_position"
        ),
        "SELECT table_name::text, table_type::text FROM information_schema.tables WHERE table_schema = 'public'
         ORDER BY 1"
            .to_string(),
        "SELECT c.relname::text, c.relkind::text FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"
            .to_string(),
    ] {
        assert_eq!(simple_rows(&inside, &sql).await, simple_rows(&source, &sql).await, "{sql}");
    }
}

#[tokio::test]
async fn sqlite_catalog_reads_exactly_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odd name's.db");
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch(
            "CREATE TABLE \"we'ird; --name\" (\"a\"\"b\" INTEGER, loose, shape GEOMETRY, d DATE, n NUMERIC(6,2));
             INSERT INTO \"we'ird; --name\" VALUES (1, 7, NULL, '2024-02-29', 1.5), (2, 'text', NULL, NULL, '0.25'),
               (3, 2.5, NULL, 'soon', 3);
             CREATE VIEW v AS SELECT \"a\"\"b\" AS k FROM \"we'ird; --name\";
             CREATE VIEW endless AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)
               SELECT w.\"a\"\"b\" AS k FROM \"we'ird; --name\" AS w, n;",
        )
        .unwrap();
    let server = TestServer::start(crate::common::engine_in(&dir.path().join("glaux")).await).await;
    let (client, notices) = server.connect_with_notices().await;
    let path = file.display().to_string().replace('\'', "''");
    client.batch_execute(&format!("CREATE CATALOG lite USING sqlite WITH (path = '{path}')")).await.unwrap();
    let (code, message) = failure(&client, "CREATE CATALOG gone USING sqlite WITH (path = '/nonexistent/x.db')").await;
    assert_eq!(code, "HV00N", "{message}");

    // Names with quotes, semicolons and comment markers reach SQLite
    // quoted; the integer filter is sent, the rest runs in glaux.
    let table = "lite.main.\"we'ird; --name\"";
    assert_eq!(
        simple_rows(&client, &format!("SELECT \"a\"\"b\", loose, n FROM {table} WHERE \"a\"\"b\" < 3 ORDER BY 1"))
            .await,
        vec![vec!["1".to_string(), "7".into(), "1.50".into()], vec!["2".to_string(), "text".into(), "0.25".into()]]
    );
    let plan = plan_text(&client, &format!("EXPLAIN SELECT loose FROM {table} WHERE \"a\"\"b\" < 3")).await;
    assert!(plan.contains("WHERE ((`a\"b` < 3))"), "{plan}");
    assert_eq!(
        simple_rows(&client, "SELECT k FROM lite.main.v ORDER BY k").await,
        vec![vec!["1"], vec!["2"], vec!["3"]]
    );

    // A value not of its column's type is an error naming the column; a
    // type glaux cannot read leaves its column out, with a NOTICE.
    let (code, message) = failure(&client, &format!("SELECT d FROM {table}")).await;
    assert_eq!(code, "HV000", "{message}");
    assert!(message.contains("column d holds") && message.contains("soon"), "{message}");
    notices.lock().unwrap().clear();
    simple_rows(&client, &format!("SELECT * FROM {table} WHERE \"a\"\"b\" = 1")).await;
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("without columns shape (GEOMETRY)"), "{said}");

    // A client connected to it as its database starts in `main`.
    let inside = {
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(server.addr.port()).user("tester").dbname("lite");
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    };
    assert_eq!(simple_rows(&inside, "SELECT count(*) FROM v").await, vec![vec!["3".to_string()]]);
    assert_eq!(
        simple_rows(
            &inside,
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        )
        .await,
        vec![
            vec!["endless".to_string(), "VIEW".into()],
            vec!["v".to_string(), "VIEW".into()],
            vec!["we'ird; --name".to_string(), "BASE TABLE".into()]
        ]
    );

    // A statement stopped in glaux (here by its timeout) is interrupted
    // at the source even inside one long step (the grouping, sent to
    // SQLite, reads 3e9 rows before its first row): its read lock goes,
    // so a writer gets the file.
    let grouped = "SELECT k, count(*) FROM lite.main.endless GROUP BY k";
    let plan = plan_text(&client, &format!("EXPLAIN {grouped}")).await;
    assert!(plan.contains("SqliteScan") && plan.contains("GROUP BY"), "{plan}");
    client.batch_execute("SET statement_timeout = 500").await.unwrap();
    let (code, message) = failure(&client, grouped).await;
    assert_eq!(code, "57014", "{message}");
    let written = tokio::task::spawn_blocking(move || {
        let writer = rusqlite::Connection::open(&file).unwrap();
        writer.busy_timeout(std::time::Duration::from_secs(20)).unwrap();
        writer.execute_batch("CREATE TABLE written (x)")
    })
    .await
    .unwrap();
    assert!(written.is_ok(), "SQLite still runs the statement: {written:?}");
}

/// A MariaDB server on a free loopback port (Debian's mariadb-server;
/// .ci/run installs it), its data directory thrown away on drop.
pub struct MariaDb {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MariaDb {
    /// `mysql://127.0.0.1:<port>/shop`.
    pub fn url(&self) -> String {
        format!("mysql://127.0.0.1:{}/shop", self.port)
    }

    /// What the mariadb client prints for `sql` run in `shop`.
    pub fn run(&self, sql: &str) -> String {
        let out = Command::new("mariadb")
            .args([
                "--no-defaults",
                "-N",
                "-h",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "-u",
                USER,
                "shop",
                "-e",
                sql,
            ])
            .env("MYSQL_PWD", PASSWORD)
            .output()
            .expect("the mariadb client runs");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// A string literal for MariaDB (whose strings take backslash escapes).
pub fn mariadb_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Starts MariaDB with the user [`USER`] (password [`PASSWORD`]), the
/// database `shop`, and `setup`: statements, one per line, run at start.
pub async fn start_mariadb(setup: &str) -> MariaDb {
    let dir = tempfile::Builder::new().prefix("glaux-maria").tempdir_in("/tmp").unwrap();
    let data = dir.path().join("data");
    let init = dir.path().join("init.sql");
    let mut script = format!(
        "SET NAMES utf8mb4;\nCREATE USER '{USER}'@'%' IDENTIFIED BY {};\nGRANT ALL ON *.* TO '{USER}'@'%';\nCREATE DATABASE shop;\nUSE shop;\n",
        mariadb_literal(PASSWORD)
    );
    script.push_str(setup);
    std::fs::write(&init, script).unwrap();
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .is_some_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")));
    if root {
        let _ = Command::new("chown").arg("-R").arg("mysql:mysql").arg(dir.path()).status();
    }
    let user = if root { vec!["--user=mysql"] } else { vec![] };
    let installed = Command::new("mariadb-install-db")
        .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
        .args(&user)
        .arg(format!("--datadir={}", data.display()))
        .output()
        .expect("mariadb-install-db runs (.ci/run installs mariadb-server)");
    assert!(installed.status.success(), "mariadb-install-db: {}", String::from_utf8_lossy(&installed.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("mariadbd")
        .arg("--no-defaults")
        .args(&user)
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", dir.path().join("sock").display()))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .arg(format!("--init-file={}", init.display()))
        .args(["--bind-address=127.0.0.1", "--skip-name-resolve", "--innodb-buffer-pool-size=16M"])
        .args(["--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"])
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd starts");
    let server = MariaDb { child, port, _dir: dir };
    for _ in 0..300 {
        let ping = Command::new("mariadb")
            .args(["--no-defaults", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", USER, "shop", "-e", "SELECT 1"])
            .env("MYSQL_PWD", PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if ping.is_ok_and(|s| s.success()) {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("MariaDB did not start on port {port}");
}

#[tokio::test]
async fn mysql_catalog_reads_exactly_or_says_why_not() {
    let maria = start_mariadb(
        "SET sql_mode = '';\n\
         CREATE TABLE kinds (id int, b tinyint(1), t tinyint, tu tinyint unsigned, su smallint unsigned, iu int unsigned, bu bigint unsigned, d38 decimal(38,10), d65 decimal(65,2), f float, db double, c char(3), vc varchar(10), e enum('x','y'), j json, bl blob, dt date, tm time(6), dtt datetime(6), ts timestamp(6) NULL, y year, bt bit(3), `we``ird` int);\n\
         INSERT INTO kinds VALUES (1, 1, -128, 255, 65535, 4294967295, 18446744073709551615, 1234567890123456789012345678.0123456789, 1.00, 1.5, 0.1, 'ab', 'é', 'y', '{\"a\": 1}', x'00ff', '2024-02-29', '23:59:59.5', '1000-01-01 00:00:00.000001', '2038-01-19 03:14:07.999999', 2024, b'101', 5);\n\
         INSERT INTO kinds VALUES (2, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '0000-00-00', '-01:00:00', NULL, NULL, NULL, NULL, 6);\n\
         INSERT INTO kinds (id) VALUES (3);\n\
         CREATE SQL SECURITY INVOKER VIEW kinds_view AS SELECT id FROM kinds;\n\
         CREATE SQL SECURITY INVOKER VIEW slow AS SELECT seq AS g, SLEEP(0.01) AS s FROM seq_1_to_100000;\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(crate::common::engine_in(dir.path()).await).await;
    let (client, notices) = server.connect_with_notices().await;
    let create = |name: &str, password: &str, url: &str| {
        format!(
            "CREATE CATALOG {name} USING mysql WITH (url = '{url}', user = '{USER}', password = '{}')",
            password.replace('\'', "''")
        )
    };
    let (code, message) = failure(&client, &create("bad", "wrong", &maria.url())).await;
    assert_eq!(code, "28P01", "{message}");
    assert!(!message.contains("wrong"), "{message}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, message) =
        failure(&client, &create("gone", PASSWORD, &format!("mysql://127.0.0.1:{closed}/shop"))).await;
    assert_eq!(code, "HV00N", "{message}");
    client.batch_execute(&create("maria", PASSWORD, &maria.url())).await.unwrap();

    notices.lock().unwrap().clear();
    assert_eq!(
        simple_rows(
            &client,
            "SELECT b, t, tu, su, iu, bu, d38, f, db, c, vc, e, j, bl, dt, tm, dtt, ts, y FROM maria.shop.kinds WHERE id = 1"
        )
        .await,
        vec![[
            "t",
            "-128",
            "255",
            "65535",
            "4294967295",
            "18446744073709551615",
            "1234567890123456789012345678.0123456789",
            "1.5",
            "0.1",
            "ab",
            "é",
            "y",
            "{\"a\": 1}",
            "\\x00ff",
            "2024-02-29",
            "23:59:59.5",
            "1000-01-01 00:00:00.000001",
            "2038-01-19 03:14:07.999999+00",
            "2024"
        ]
        .map(String::from)
        .to_vec()]
    );
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("maria.shop.kinds is read without columns d65 (decimal(65,2)), bt (bit(3))"), "{said}");
    // A quoted name in a filter sent to MariaDB.
    assert_eq!(
        simple_rows(&client, "SELECT id FROM maria.shop.kinds WHERE \"we`ird\" > 5 ORDER BY id").await,
        vec![vec!["2".to_string()]]
    );
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM maria.shop.kinds").await, vec![vec!["3".to_string()]]);
    // Values MySQL allows that have no exact form: errors naming the column.
    for (column, why) in [("b", "2, which is not a boolean"), ("dt", "not a date"), ("tm", "not a time of day")] {
        let (code, message) = failure(&client, &format!("SELECT {column} FROM maria.shop.kinds WHERE id = 2")).await;
        assert_eq!(code, "HV000", "{message}");
        assert!(message.contains(&format!("column {column} holds")) && message.contains(why), "{message}");
    }

    // A view is listed as one.
    let inside = login(&server, "tester", None, "maria").await;
    assert_eq!(
        simple_rows(
            &inside,
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY 1"
        )
        .await,
        vec![
            vec!["kinds".to_string(), "BASE TABLE".into()],
            vec!["kinds_view".to_string(), "VIEW".into()],
            vec!["slow".to_string(), "VIEW".into()]
        ]
    );

    // A connection the server kills mid-query: HV00N naming the table and
    // the server; the catalog answers the next statement.
    let lost = tokio::spawn(async move { failure(&inside, "SELECT max(s) FROM maria.shop.slow").await });
    let mut killed = false;
    for _ in 0..100 {
        let running = maria
            .run("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%slow%' AND ID <> CONNECTION_ID()");
        if let Some(id) = running.lines().next().filter(|l| !l.is_empty()) {
            maria.run(&format!("KILL {id}"));
            killed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(killed, "the query never reached MariaDB: {:?}", if lost.is_finished() { Some(lost.await) } else { None });
    let (code, message) = lost.await.unwrap();
    assert_eq!(code, "HV00N", "{message}");
    assert!(
        message.contains("reading maria.shop.slow")
            && message.contains(&format!("lost the connection to MySQL at 127.0.0.1:{}", maria.port)),
        "{message}"
    );
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM maria.shop.kinds").await, vec![vec!["3".to_string()]]);
}

/// A query glaux stops (here by its statement timeout) stops at the
/// source too, and other sessions are not held up meanwhile.
#[tokio::test]
async fn a_stopped_query_stops_at_the_source() {
    let pg = start_postgres().await;
    let source = pg.client().await.unwrap();
    // 100 000 rows, one every 10 ms: about 17 minutes to read whole.
    source
        .batch_execute(
            "CREATE VIEW slow AS SELECT g, pg_sleep(0.01) IS NULL AS slept FROM generate_series(1, 100000) AS g",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("GLAUX_TEST_PG_PASSWORD", PASSWORD);
    let server = TestServer::start(engine_with_pg(dir.path(), &pg, "env:GLAUX_TEST_PG_PASSWORD").await).await;
    let client = server.connect().await;
    let other = server.connect().await;
    let running = || async {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%slow%' AND state = 'active' AND pid <> pg_backend_pid()";
        source.query_one(sql, &[]).await.unwrap().get::<_, i64>(0)
    };
    let stops = || async {
        for _ in 0..100 {
            if running().await == 0 {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    };

    // The statement timeout cancels it at the source too; another
    // session answers meanwhile.
    client.batch_execute("SET statement_timeout = 1000").await.unwrap();
    let timed_out = tokio::spawn(async move { failure(&client, "SELECT count(*) FROM pg.public.slow").await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(simple_rows(&other, "SELECT count(*) FROM pg.public.slow WHERE g = 0 LIMIT 1").await.len(), 1);
    let (code, message) = timed_out.await.unwrap();
    assert_eq!(code, "57014", "{message}");
    let stopped = stops().await;
    let left: Vec<String> = source
        .query(
            "SELECT state || ': ' || query FROM pg_stat_activity WHERE query LIKE '%slow%' AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(stopped, "the source still runs the query after the statement timed out: {left:?}");

    // A session the source ends mid-query (here by an administrator):
    // HV00N naming the table and the server, and the catalog still
    // answers the next statement on a new connection.
    let client = server.connect().await;
    let lost = tokio::spawn(async move { failure(&client, "SELECT count(*) FROM pg.public.slow").await });
    let mut ended = 0;
    for _ in 0..100 {
        let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%slow%' AND state = 'active' AND pid <> pg_backend_pid()";
        ended = source.query_one(sql, &[]).await.unwrap().get::<_, i64>(0);
        if ended > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ended, 1);
    let (code, message) = lost.await.unwrap();
    assert_eq!(code, "HV00N", "{message}");
    assert!(
        message.contains("reading pg.public.slow")
            && message.contains(&format!("lost the connection to PostgreSQL at 127.0.0.1:{}", pg.port)),
        "{message}"
    );
    assert_eq!(simple_rows(&other, "SELECT count(*) FROM pg.public.slow WHERE g = 0").await, vec![vec!["0"]]);

    // A table dropped after a statement was prepared on it: an error
    // naming the table (the source's, HV000, or glaux's 42P01 when the
    // statement is planned again), not a crash or a wrong answer.
    source.batch_execute("CREATE TABLE doomed AS SELECT 1 AS x").await.unwrap();
    let prepared = other.prepare("SELECT x FROM pg.public.doomed").await.unwrap();
    source.batch_execute("DROP TABLE doomed").await.unwrap();
    let e = other.query(&prepared, &[]).await.unwrap_err();
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
    assert!(matches!(db.code().code(), "HV000" | "42P01"), "{db:?}");
    assert!(db.message().contains("doomed"), "{}", db.message());
}
