//! Runs every `sql/**/*.slt` file twice: embedded (an in-process Session)
//! and over the wire (an in-process server and a real Postgres client).
//! Both modes must produce the same output; errors render as
//! `<SQLSTATE> <message>`. Each file gets a fresh engine, catalog and
//! scratch directory, with the fixtures of `common::fixtures` in `${DATA}`.
//!
//! `cargo test --test sqllogictests [substring]` runs the matching files;
//! `cargo test --test sqllogictests [substring] -- --complete` rewrites
//! their expected results from glaux's answers (then checks them over the
//! wire), as DataFusion's runner does.

mod common;

use async_trait::async_trait;
use common::{engine_in, fixtures, TestServer};
use futures::StreamExt;
use glaux::engine::{Engine, Output, Session};
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug)]
struct SqlError(String);

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SqlError {}

fn cell(v: Option<String>) -> String {
    match v {
        None => "NULL".to_string(),
        Some(s) if s.is_empty() => "(empty)".to_string(),
        Some(s) => s,
    }
}

struct Embedded {
    session: Session,
    data: String,
}

#[async_trait]
impl sqllogictest::AsyncDB for Embedded {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SqlError> {
        let sql = sql.replace("${DATA}", &self.data);
        let err = |e: glaux::error::Error| SqlError(format!("{} {}", e.sqlstate(), e));
        let mut last = DBOutput::StatementComplete(0);
        for output in self.session.run_script(&sql).await.map_err(err)? {
            last = match output {
                Output::Done { .. } => DBOutput::StatementComplete(0),
                // COPY TO STDOUT: one row per line of text/CSV output.
                Output::Copy { schema, mut stream, format } => {
                    let encoder = glaux::pgtypes::copy::CopyEncoder::new(&schema, format);
                    let mut text = String::from_utf8_lossy(&encoder.start().unwrap_or_default()).into_owned();
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(|e| err(e.into()))?;
                        for row in encoder.rows(&batch).map_err(err)? {
                            text.push_str(&String::from_utf8_lossy(&row));
                        }
                    }
                    let rows = text.lines().map(|l| vec![l.to_string()]).collect();
                    DBOutput::Rows { types: vec![DefaultColumnType::Any], rows }
                }
                Output::Rows { schema, mut stream, .. } => {
                    let mut rows = Vec::new();
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(|e| err(e.into()))?;
                        for row in glaux::pgtypes::text_rows(&batch).map_err(err)? {
                            rows.push(row.into_iter().map(cell).collect());
                        }
                    }
                    let types = vec![DefaultColumnType::Any; schema.fields().len()];
                    DBOutput::Rows { types, rows }
                }
            };
        }
        Ok(last)
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "embedded"
    }
}

struct Wire {
    client: tokio_postgres::Client,
    data: String,
}

#[async_trait]
impl sqllogictest::AsyncDB for Wire {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SqlError> {
        use tokio_postgres::SimpleQueryMessage;
        let sql = sql.replace("${DATA}", &self.data);
        let messages = self.client.simple_query(&sql).await.map_err(|e| match e.as_db_error() {
            Some(db) => SqlError(format!("{} {}", db.code().code(), db.message())),
            None => SqlError(format!("connection error: {e}")),
        })?;
        let mut columns: Option<usize> = None;
        let mut rows = Vec::new();
        let mut last = DBOutput::StatementComplete(0);
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => columns = Some(cols.len()),
                SimpleQueryMessage::Row(row) => {
                    rows.push((0..row.len()).map(|i| cell(row.get(i).map(str::to_string))).collect());
                }
                SimpleQueryMessage::CommandComplete(_) => {
                    last = match columns.take() {
                        Some(n) => {
                            DBOutput::Rows { types: vec![DefaultColumnType::Any; n], rows: std::mem::take(&mut rows) }
                        }
                        None => DBOutput::StatementComplete(0),
                    };
                }
                _ => {}
            }
        }
        Ok(last)
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "wire"
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Embedded,
    Wire,
}

/// Run one file; with `complete`, rewrite its expected results with what
/// glaux answers instead (embedded; the wire run then checks them).
async fn run_file(path: &Path, mode: Mode, complete: bool) -> Result<(), String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = fixtures::generate(&scratch.path().join("data")).await.display().to_string();
    let engine: Engine = engine_in(&scratch.path().join("glaux")).await;
    match mode {
        Mode::Embedded => {
            let mut runner = sqllogictest::Runner::new(move || {
                let session = engine.session("tester", None).expect("session");
                let data = data.clone();
                async move { Ok(Embedded { session, data }) }
            });
            if complete {
                return runner
                    .update_test_file(
                        path,
                        " ",
                        sqllogictest::default_validator,
                        sqllogictest::default_normalizer,
                        sqllogictest::default_column_validator,
                    )
                    .await
                    .map_err(|e| e.to_string());
            }
            runner.run_file_async(path).await.map_err(|e| e.display(true).to_string())
        }
        Mode::Wire => {
            let server = TestServer::start(engine).await;
            let url = server.url("tester");
            let mut runner = sqllogictest::Runner::new(move || {
                let (url, data) = (url.clone(), data.clone());
                async move {
                    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                        .await
                        .map_err(|e| SqlError(format!("connect: {e}")))?;
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok(Wire { client, data })
                }
            });
            let result = runner.run_file_async(path).await.map_err(|e| e.display(true).to_string());
            server.stop().await;
            result
        }
    }
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    // `--complete`: rewrite the files' expected results from glaux's
    // answers (review the diff before committing it).
    let complete = std::env::args().any(|a| a == "--complete");
    let mut files = Vec::new();
    slt_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sql"), &mut files);
    files.sort();
    files.retain(|f| filters.is_empty() || filters.iter().any(|s| f.to_string_lossy().contains(s.as_str())));
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        for mode in [Mode::Embedded, Mode::Wire] {
            let name =
                format!("{} ({mode:?})", file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display());
            match run_file(file, mode, complete).await {
                Ok(()) => {
                    passed += 1;
                    println!("ok      {name}");
                }
                Err(e) => {
                    failed += 1;
                    println!("FAILED  {name}\n{e}\n");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
