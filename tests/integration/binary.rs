//! The `glaux` binary as a user runs it: `serve` on a data dir, a client,
//! SIGTERM, a restart that finds everything again, and `-c` scripts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const GLAUX: &str = env!("CARGO_BIN_EXE_glaux");

/// Start `glaux serve --port 0` and return it with the port it printed.
fn serve(data_dir: &std::path::Path) -> (Child, u16) {
    let mut child = Command::new(GLAUX)
        .args(["--data-dir", data_dir.to_str().unwrap(), "serve", "--port", "0"])
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

    let out = Command::new(GLAUX)
        .args(["--data-dir", dir.path().to_str().unwrap(), "-c", "SELECT * FROM missing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("42P01"));
}
