//! Who may connect: SCRAM-SHA-256 users, the trust rule for a first run,
//! TLS (SSLRequest with psql, direct TLS with ALPN), `require_tls`, and the
//! connection limit.

use crate::common::TestServer;
use glaux::config::Config;
use glaux::engine::Engine;
use std::path::Path;
use std::process::{Command, Stdio};

pub async fn server_with(dir: &Path, settings: &[(&str, &str)]) -> TestServer {
    let mut config = Config::for_data_dir(dir);
    for (key, value) in settings {
        config.set(key, value).unwrap();
    }
    TestServer::start(Engine::open(config).await.expect("open engine")).await
}

/// Connect with tokio-postgres; the SQLSTATE of a refusal.
pub async fn login(server: &TestServer, user: &str, password: Option<&str>) -> Result<tokio_postgres::Client, String> {
    let mut url = server.url(user);
    if let Some(p) = password {
        url.push_str(&format!(" password='{p}'"));
    }
    match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(client)
        }
        Err(e) => {
            Err(e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{} {}", d.code().code(), d.message())))
        }
    }
}

/// Run psql with a libpq connection string; (stdout, stderr).
async fn psql(conninfo: String, password: Option<&str>, sql: &str) -> (String, String) {
    let password = password.map(str::to_string);
    let sql = sql.to_string();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new("psql");
        command.args(["-X", "-A", "-t", &conninfo, "-c", &sql]).stdin(Stdio::null()).env_remove("PGPASSWORD");
        if let Some(p) = password {
            command.env("PGPASSWORD", p);
        }
        let out = command.output().expect("psql (postgresql-client) runs");
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn scram_users_log_in_with_their_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), &[]).await;

    // No user yet: a loopback client needs no password (the first run).
    let first = login(&server, "tester", None).await.expect("trusted first connection");
    first.batch_execute("CREATE USER alice WITH PASSWORD 'correct horse'").await.unwrap();
    let e = first.batch_execute("CREATE USER alice PASSWORD 'x'").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42710"), "{e}");

    // The catalog keeps a SCRAM verifier, never the password.
    let stored = server.engine.security().get_user("alice").await.unwrap().expect("alice stored");
    assert!(stored.verifier.starts_with("SCRAM-SHA-256$4096:"), "{}", stored.verifier);
    assert!(!stored.verifier.contains("horse"));

    // Now every client authenticates.
    let alice = login(&server, "alice", Some("correct horse")).await.expect("alice logs in");
    let who: String = alice.query_one("SELECT current_user", &[]).await.unwrap().get(0);
    assert_eq!(who, "alice");
    let wrong = login(&server, "alice", Some("wrong")).await.expect_err("wrong password refused");
    assert_eq!(wrong, "28P01 password authentication failed for user \"alice\"");
    let unknown = login(&server, "mallory", Some("wrong")).await.expect_err("unknown user refused");
    assert_eq!(unknown, "28P01 password authentication failed for user \"mallory\"", "same answer as a wrong password");
    assert!(login(&server, "tester", None).await.is_err(), "no more trust once a user exists");

    // libpq (psql) speaks the same SCRAM.
    let (out, err) = psql(server.url("alice"), Some("correct horse"), "SELECT 1 + 1").await;
    assert_eq!(out.trim(), "2", "{err}");
    let (_, err) = psql(server.url("alice"), Some("nope"), "SELECT 1").await;
    assert!(err.contains("password authentication failed for user \"alice\""), "{err}");

    // ALTER USER changes the password; DROP USER removes the user.
    alice.batch_execute("ALTER USER alice PASSWORD 'battery staple'").await.unwrap();
    assert!(login(&server, "alice", Some("correct horse")).await.is_err());
    let again = login(&server, "alice", Some("battery staple")).await.expect("new password");
    again.batch_execute("CREATE USER bob PASSWORD 'b'; DROP USER bob; DROP USER IF EXISTS bob").await.unwrap();
    let e = again.batch_execute("DROP USER bob").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42704"), "{e}");
    assert!(login(&server, "bob", Some("b")).await.is_err());

    // Once an admin exists only admins manage users, and a user still
    // changes its own password (each command declares what it needs).
    again.batch_execute("CREATE USER root WITH PASSWORD 'r' SUPERUSER").await.unwrap();
    for sql in ["CREATE USER eve PASSWORD 'e'", "ALTER USER alice SUPERUSER", "DROP USER root"] {
        let e = again.batch_execute(sql).await.unwrap_err();
        let db = e.as_db_error().expect("server error");
        assert_eq!(db.code().code(), "42501", "{sql}: {e:?}");
        assert_eq!(db.message(), "permission denied to manage users: alice is not an admin", "{sql}");
    }
    again.batch_execute("ALTER USER alice PASSWORD 'third'").await.unwrap();
    assert!(login(&server, "alice", Some("third")).await.is_ok());
    let root = login(&server, "root", Some("r")).await.expect("root logs in");
    root.batch_execute("CREATE USER eve PASSWORD 'e'; DROP USER eve").await.unwrap();
}

#[tokio::test]
async fn scram_mode_asks_even_the_first_loopback_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), &[("server.auth", "scram")]).await;
    let refused = login(&server, "tester", Some("anything")).await.expect_err("no users, scram: refused");
    assert!(refused.starts_with("28P01"), "{refused}");
}

/// A self-signed certificate and key for localhost, made by openssl.
pub fn certificate(dir: &Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (cert.display().to_string(), key.display().to_string())
}

#[tokio::test]
async fn tls_after_sslrequest_or_direct_and_plaintext_refused_when_required() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = server_with(
        &dir.path().join("lake"),
        &[("server.tls_cert", &cert), ("server.tls_key", &key), ("server.require_tls", "true")],
    )
    .await;
    let port = server.addr.port();

    // psql negotiates TLS with SSLRequest and checks the certificate.
    let conninfo =
        format!("host=localhost port={port} user=tester dbname=glaux sslmode=verify-full sslrootcert={cert}");
    let (out, err) = psql(conninfo, None, "SELECT 'encrypted'").await;
    assert_eq!(out.trim(), "encrypted", "{err}");

    // Plaintext is refused with 28000.
    let (_, err) =
        psql(format!("host=127.0.0.1 port={port} user=tester dbname=glaux sslmode=disable"), None, "SELECT 1").await;
    assert!(err.contains("accepts only TLS"), "{err}");

    // Direct TLS (no SSLRequest): the handshake completes with ALPN "postgresql".
    let out = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-alpn", "postgresql"])
            .stdin(Stdio::null())
            .output()
            .expect("openssl s_client runs")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ALPN protocol: postgresql"), "{text}");
}

#[tokio::test]
async fn a_client_beyond_max_connections_gets_53300() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), &[("server.max_connections", "2")]).await;
    let a = login(&server, "tester", None).await.expect("first");
    let _b = login(&server, "tester", None).await.expect("second");
    let refused = login(&server, "tester", None).await.expect_err("third refused");
    assert_eq!(refused, "53300 sorry, too many clients already");
    drop(a);
    // A freed slot is usable again.
    let mut admitted = false;
    for _ in 0..50 {
        if login(&server, "tester", None).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(admitted, "a slot frees when a client leaves");
}
