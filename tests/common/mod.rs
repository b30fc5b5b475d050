//! Shared by the test binaries: fixtures and an in-process server.
#![allow(dead_code)]

pub mod fixtures;

use glaux::config::Config;
use glaux::engine::Engine;
use std::net::SocketAddr;
use std::path::Path;
use tokio::sync::oneshot;

/// A glaux server on 127.0.0.1:<free port>, stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub engine: Engine,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(engine: Engine) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = engine.clone();
        let task = tokio::spawn(async move {
            glaux::server::run(listener, serving, async {
                let _ = stopped.await;
            })
            .await
            .expect("server run");
        });
        TestServer { addr, engine, stop: Some(stop), task: Some(task) }
    }

    /// A libpq-style connection string for `user` on database glaux.
    pub fn url(&self, user: &str) -> String {
        format!("host=127.0.0.1 port={} user={user} dbname=glaux", self.addr.port())
    }

    pub async fn connect(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.url("tester"), tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// A client whose NOTICEs are kept, in the order they came.
    pub async fn connect_with_notices(
        &self,
    ) -> (tokio_postgres::Client, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let (client, mut connection) =
            tokio_postgres::connect(&self.url("tester"), tokio_postgres::NoTls).await.expect("connect");
        let notices = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&notices);
        tokio::spawn(async move {
            while let Some(Ok(message)) = futures::future::poll_fn(|cx| connection.poll_message(cx)).await {
                if let tokio_postgres::AsyncMessage::Notice(n) = message {
                    kept.lock().unwrap().push(n.message().to_string());
                }
            }
        });
        (client, notices)
    }

    /// Stop accepting and wait for the server task to end.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A server on a fresh embedded catalog under `dir`, with the fixtures
/// written to `dir/data`; returns the server and the fixtures' folder.
pub async fn server_with_fixtures(dir: &Path) -> (TestServer, std::path::PathBuf) {
    let data = fixtures::generate(&dir.join("data")).await;
    (TestServer::start(engine_in(&dir.join("lake")).await).await, data)
}

/// A fresh engine on an embedded catalog in `dir`.
pub async fn engine_in(dir: &Path) -> Engine {
    Engine::open(Config::for_data_dir(dir)).await.expect("open engine")
}

/// All rows of a script's last output in an embedded session, as text
/// (None for NULL).
pub async fn session_rows(session: &mut glaux::engine::Session, sql: &str) -> Vec<Vec<Option<String>>> {
    use futures::StreamExt;
    let outputs = session.run_script(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = Vec::new();
    if let Some(glaux::engine::Output::Rows { mut stream, .. }) = outputs.into_iter().last() {
        while let Some(batch) = stream.next().await {
            out.extend(glaux::pgtypes::text_rows(&batch.expect("batch")).expect("text"));
        }
    }
    out
}

/// A statement's rows as text, through the simple query protocol (NULL as
/// `NULL`).
pub async fn simple_rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<String>> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    messages
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect())
            }
            _ => None,
        })
        .collect()
}

/// EXPLAIN's plan text (the second column, lines joined).
pub async fn plan_text(client: &tokio_postgres::Client, sql: &str) -> String {
    let rows = client.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    rows.iter().map(|r| r.get::<_, String>(1)).collect::<Vec<_>>().join("\n")
}

/// Every file under `dir`, sorted.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}
