//! The `glaux` binary as a user runs it: `serve` on a data dir, a client,
//! SIGTERM, a restart that finds everything again, SIGKILL in the middle of
//! DDL, `-c` scripts, and the interactive shell in a terminal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const GLAUX: &str = env!("CARGO_BIN_EXE_glaux");

/// Start `glaux serve --port 0` and return it with the port it printed.
fn serve(data_dir: &std::path::Path) -> (Child, u16) {
    let mut child = Command::new(GLAUX)
        .args(["--data-dir", data_dir.to_str().unwrap(), "serve", "--port", "0"])
        // Not the test's stdout: a server left running by a failed test
        // must not keep the test run's output open.
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start glaux serve");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split_whitespace().nth(3).unwrap_or_else(|| panic!("unexpected banner: {line}"));
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    (child, port)
}

async fn connect(port: u16) -> tokio_postgres::Client {
    let url = format!("host=127.0.0.1 port={port} user=me dbname=glaux");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

fn terminate(mut child: Child) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "glaux exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("glaux did not stop on SIGTERM");
}

#[tokio::test]
async fn serve_stops_on_sigterm_and_a_restart_keeps_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve(dir.path());
    let client = connect(port).await;
    client.batch_execute("CREATE DATABASE kept; CREATE VIEW kept.v AS SELECT 1 AS one").await.unwrap();
    drop(client);
    terminate(child);

    let (child, port) = serve(dir.path());
    let client = connect(port).await;
    let row = client.query_one("SELECT one FROM kept.v", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    drop(client);
    terminate(child);
}

#[test]
fn command_flag_runs_a_script_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        let out = Command::new(GLAUX)
            .args(["--data-dir", dir.path().to_str().unwrap(), "--format", format, "-c"])
            .arg("CREATE DATABASE IF NOT EXISTS s; SELECT 1 AS a, 'x,y' AS b, NULL AS c")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("csv"), "a,b,c\n1,\"x,y\",\n");
    assert_eq!(run("json"), "{\"a\":\"1\",\"b\":\"x,y\",\"c\":null}\n");
    let table = run("table");
    assert!(table.lines().nth(3).is_some_and(|row| row.contains("1 | x,y |")), "{table}");
    assert!(table.ends_with("(1 row)\n"), "{table}");

    // A failing statement stops the script; what ran before it is shown.
    let out = Command::new(GLAUX)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--format",
            "csv",
            "-c",
            "SELECT 1 AS a; SELECT * FROM missing; SELECT 2 AS b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n1\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("42P01"));
}

/// The first column of every row of a simple query.
async fn first_column(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn killing_the_server_mid_ddl_leaves_no_half_made_object() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(files.join("p=x")).unwrap();
    std::fs::write(files.join("p=x/data.csv"), "1,one\n2,two\n").unwrap();
    let (mut child, port) = serve(dir.path());
    let client = connect(port).await;
    // Each round makes a database with a partitioned table and a view on
    // it, and drops the round before's database with CASCADE; the server
    // is killed (SIGKILL) while this runs.
    let location = files.display().to_string();
    let ddl = tokio::spawn(async move {
        let mut acknowledged: Vec<String> = Vec::new();
        for i in 0.. {
            let statements = [
                format!("CREATE DATABASE d{i}"),
                format!(
                    "CREATE EXTERNAL TABLE d{i}.t (a int, b string) PARTITIONED BY (p string) \
                     ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{location}'"
                ),
                format!("CREATE VIEW d{i}.v AS SELECT a, b FROM d{i}.t"),
                format!("DROP DATABASE IF EXISTS d{} CASCADE", i.max(1) - 1),
            ];
            for sql in statements {
                if client.batch_execute(&sql).await.is_err() {
                    return acknowledged;
                }
                acknowledged.push(sql);
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let acknowledged = ddl.await.unwrap();
    assert!(acknowledged.len() > 8, "too few statements ran before the kill: {acknowledged:?}");

    let (child, port) = serve(dir.path());
    let client = connect(port).await;
    let databases = first_column(&client, "SHOW DATABASES").await;
    for db in databases.iter().filter(|d| d.starts_with('d')) {
        let tables = first_column(&client, &format!("SHOW TABLES IN {db}")).await;
        if tables.iter().any(|t| t == "t") {
            let columns = first_column(&client, &format!("DESCRIBE {db}.t")).await;
            assert_eq!(columns, ["a", "b", "p"], "{db}.t");
        }
        if tables.iter().any(|t| t == "v") {
            assert!(tables.iter().any(|t| t == "t"), "{db}.v outlived its table");
            assert_eq!(first_column(&client, &format!("SELECT count(*) FROM {db}.v")).await.len(), 1);
        }
    }
    // Everything acknowledged before the kill is still there.
    let last_db = acknowledged.iter().rev().find_map(|s| s.strip_prefix("CREATE DATABASE ")).unwrap();
    assert!(databases.iter().any(|d| d == last_db), "{last_db} missing from {databases:?}");
    let conn = rusqlite::Connection::open(dir.path().join("catalog.db")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    drop(client);
    terminate(child);
}

#[test]
fn repl_ctrl_c_cancels_the_running_query_and_the_shell_goes_on() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    // `script` gives the shell a terminal, as a user's would be; Ctrl-C is
    // the byte 0x03 typed into it.
    // `exec`: no shell stays between `script` and glaux to be killed by the
    // SIGINT the terminal sends (dash, a common /bin/sh, would be).
    let command = format!("exec {GLAUX} --data-dir {} shell", dir.path().display());
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs the shell in a terminal");
    let output = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let collected = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            collected.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    // Wait for `needle` in what the shell printed after byte `from`.
    let wait_for = |needle: &str, from: usize| {
        for _ in 0..600 {
            if output.lock().unwrap()[from..].contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {needle:?} in the shell's output:\n{}", output.lock().unwrap());
    };
    let mut stdin = child.stdin.take().unwrap();
    let printed = || output.lock().unwrap().len();
    wait_for("glaux", 0);
    stdin.write_all(b"SELECT count(*) FROM generate_series(1, 20000000000) AS a(x) WHERE x % 7 = 3;\n").unwrap();
    wait_for(" rows ", 0);
    stdin.write_all(b"\x03").unwrap();
    wait_for("57014", 0);
    let from = printed();
    stdin.write_all(b"SELECT 6 * 7 AS answer;\n").unwrap();
    wait_for("(1 row)", from);
    assert!(output.lock().unwrap()[from..].contains("42"));
    // Backslash commands, a statement over several lines, \timing.
    // Lines are typed one at a time, each after the shell has answered the
    // one before, as a person types them.
    let steps: [(&[u8], &str); 8] = [
        (b"\\?\n", "glaux shell commands"),
        (b"CREATE DATABASE shop;\n", "CREATE DATABASE\r"),
        (b"CREATE VIEW shop.totals AS\n", "glaux-> "),
        (b"SELECT 7 AS amount;\n", "CREATE VIEW\r"),
        (b"\\l\n", "shop"),
        (b"\\dt shop\n", "totals"),
        (b"\\d shop.totals\n", "amount"),
        (b"\\timing\n", "Timing is on."),
    ];
    for (input, expected) in steps {
        let from = printed();
        stdin.write_all(input).unwrap();
        wait_for(expected, from);
    }
    let from = printed();
    stdin.write_all(b"SELECT amount\n").unwrap();
    wait_for("glaux-> ", from);
    stdin.write_all(b"FROM shop.totals;\n").unwrap();
    wait_for("Time:", from);
    stdin.write_all(b"\\q\n").unwrap();
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "shell exited with {status}:\n{}", output.lock().unwrap());
            // History persists in the data dir, multi-line statements whole.
            let history = std::fs::read_to_string(dir.path().join("history")).unwrap();
            assert!(history.contains("SELECT 6 * 7 AS answer;"), "{history}");
            assert!(history.contains("FROM shop.totals;"), "{history}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the shell did not exit on \\q:\n{}", output.lock().unwrap());
}

#[tokio::test]
async fn shell_connects_to_a_running_server_and_runs_files() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve(&dir.path().join("server"));
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "CREATE DATABASE remote;\nCREATE VIEW remote.v AS SELECT 'r' AS side;\nSELECT side FROM remote.v;\n",
    )
    .unwrap();
    let url = format!("postgres://me@127.0.0.1:{port}/glaux");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(GLAUX)
            .args([
                "--data-dir",
                dir.path().join("local").to_str().unwrap(),
                "shell",
                "--connect",
                &url,
                "--format",
                "csv",
                "-f",
            ])
            .arg(&script)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "side\nr\n");
    // The view was made on the server, not in the local data dir.
    let client = connect(port).await;
    assert_eq!(first_column(&client, "SELECT side FROM remote.v").await, ["r"]);
    drop(client);
    terminate(child);
}

#[test]
fn admin_statements_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve(dir.path());
    let url = format!("postgres://me@127.0.0.1:{port}/glaux");
    let admin = |words: &[&str]| {
        Command::new(GLAUX).args(["admin", "--connect", &url, "--format", "csv"]).args(words).output().unwrap()
    };
    let out = admin(&["CREATE", "WORKGROUP", "bi", "WITH", "(bytes_scanned_cutoff_per_query = '10GB')"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = admin(&["SHOW WORKGROUPS"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "workgroup,state,description,bytes_scanned_cutoff_per_query,hourly_limit,daily_limit,price_per_tb\n\
         bi,ENABLED,,10.00 GB,,,5.00\nprimary,ENABLED,,,,,5.00\n"
    );
    // The server's NOTICEs (what a query scanned and cost) reach the shell.
    let table = dir.path().join("t");
    std::fs::create_dir_all(&table).unwrap();
    std::fs::write(table.join("a.csv"), "1,2\n").unwrap();
    let create = format!(
        "CREATE EXTERNAL TABLE t (a int, b int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}'",
        table.display()
    );
    assert!(admin(&[&create]).status.success());
    let out = admin(&["SELECT sum(b) FROM t"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sum\n2\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "scanned 4 B, cost $0.0000477\n");
    // And its WARNINGs, marked as such.
    assert!(admin(&["CREATE WORKGROUP lax WITH (hourly_limit = '1B', limit_action = warn)"]).status.success());
    let out = admin(&["SET workgroup = 'lax'; SELECT sum(b) FROM t; SELECT sum(b) FROM t"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\nWARNING: workgroup lax has used its hourly budget (4 B of 1 B) until "), "{stderr}");
    let out = admin(&["SELECT 1 AS a; DROP WORKGROUP nope; SELECT 2 AS b"]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n1\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("42704: workgroup nope does not exist"));
    terminate(child);
}

#[test]
fn the_shell_refuses_an_update_of_a_hive_table_and_the_history_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    std::fs::create_dir_all(&table).unwrap();
    std::fs::write(table.join("a.csv"), "1,2\n").unwrap();
    let data = dir.path().join("data");
    let shell = |sql: &str| {
        let script = dir.path().join("script.sql");
        std::fs::write(&script, sql).unwrap();
        Command::new(GLAUX)
            .args(["--data-dir", data.to_str().unwrap(), "shell", "--format", "csv", "-f"])
            .arg(&script)
            .output()
            .unwrap()
    };
    let create = format!(
        "CREATE EXTERNAL TABLE t (a int, b int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}';\n",
        table.display()
    );
    let out = shell(&format!("{create}UPDATE t SET b = 4;\n"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0A000: cannot update table t: it is an external (Hive) table"), "{stderr}");
    let out = shell(
        "SELECT count(*) AS n FROM t;\n\
         SELECT state, sqlstate, error FROM system.query_history WHERE query LIKE 'UPDATE%';\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "n\n1\nstate,sqlstate,error\nFAILED,0A000,\"cannot update table t: it is an external (Hive) table, \
         to which glaux only appends (INSERT INTO)\"\n"
    );
}

/// DataFusion's own settings can be given like glaux's (`--set`, the
/// config file): every session plans with them; a setting DataFusion
/// does not know, or a bad value, stops glaux at start, naming it.
#[test]
fn datafusion_settings_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let run = |setting: &str| {
        Command::new(GLAUX)
            .args(["--data-dir", dir.path().to_str().unwrap(), "--format", "csv", "--set", setting, "-c"])
            .arg("EXPLAIN SELECT a, count(*) FROM (VALUES (1), (2), (3)) t(a) GROUP BY a")
            .output()
            .unwrap()
    };
    for partitions in ["3", "5"] {
        let out = run(&format!("datafusion.execution.target_partitions={partitions}"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let plan = String::from_utf8_lossy(&out.stdout);
        assert!(plan.contains(&format!("Hash([a@0], {partitions})")), "{plan}");
    }
    for bad in ["datafusion.execution.no_such_thing=1", "datafusion.execution.target_partitions=many"] {
        let out = run(bad);
        assert!(!out.status.success(), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(bad.split('=').next().unwrap()), "{bad}: {stderr}");
    }
}
