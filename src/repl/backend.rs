//! Where the shell's statements run: an embedded session on the data dir,
//! or a glaux (or any Postgres) server over the wire.

use super::render::ResultSet;
use crate::engine::{split, Engine, Output, Session};
use crate::error::{Error, Result, SqlState};
use crate::pgtypes;
use datafusion::arrow::datatypes::DataType;
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::{CancelToken, Client, NoTls, SimpleQueryMessage};

/// Progress of a running statement, for the status line.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub elapsed: Duration,
    pub rows: usize,
    pub bytes: u64,
}

pub enum Backend {
    Embedded {
        engine: Engine,
        session: Box<Session>,
    },
    /// `notices`: the NOTICEs the server sent, not yet shown.
    Remote {
        client: Box<Client>,
        cancel: CancelToken,
        notices: Arc<Mutex<Vec<String>>>,
    },
}

impl Backend {
    pub async fn embedded(engine: Engine) -> Result<Backend> {
        let user = std::env::var("USER").unwrap_or_else(|_| "glaux".into());
        let mut session = engine.session(&user, None)?;
        // The shell on the data dir is its owner's: an admin.
        session.set_local();
        Ok(Backend::Embedded { engine, session: Box::new(session) })
    }

    pub async fn remote(url: &str) -> Result<Backend> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| Error::new(SqlState::IoError, format!("cannot connect to {url}: {}", remote_message(&e))))?;
        let notices: Arc<Mutex<Vec<String>>> = Arc::default();
        let received = Arc::clone(&notices);
        tokio::spawn(async move {
            let mut connection = connection;
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(tokio_postgres::AsyncMessage::Notice(notice)) => {
                        let text = match notice.severity() {
                            "NOTICE" => notice.message().to_string(),
                            severity => format!("{severity}: {}", notice.message()),
                        };
                        received.lock().unwrap_or_else(|p| p.into_inner()).push(text)
                    }
                    Ok(_) => {}
                    Err(e) => {
                        log::warn!("connection closed: {e}");
                        break;
                    }
                }
            }
        });
        let cancel = client.cancel_token();
        Ok(Backend::Remote { client: Box::new(client), cancel, notices })
    }

    /// Run a script, statement by statement, up to the first error; one
    /// result per statement that ran. `progress` is called about ten
    /// times a second while an embedded statement streams rows.
    pub async fn run(&mut self, sql: &str, progress: &mut dyn FnMut(Progress)) -> Ran {
        let mut ran = Ran::default();
        match self {
            Backend::Embedded { engine, session } => {
                let statements = match split(sql) {
                    Ok(s) => s,
                    Err(e) => return Ran { results: Vec::new(), error: Some(e) },
                };
                for stmt in statements {
                    let start = Instant::now();
                    let bytes_before = engine.bytes_read();
                    let result = match session.run(&stmt).await {
                        Ok(output) => collect(output, start, bytes_before, engine, progress).await,
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(r) => ran.results.push(r),
                        Err(e) => {
                            ran.error = Some(e);
                            break;
                        }
                    }
                }
            }
            Backend::Remote { client, .. } => run_remote(client, sql, &mut ran).await,
        }
        ran
    }

    /// Notices to show after a statement: what the last query scanned and
    /// cost (`scanned ..., cost $...`), when it read data, or whatever
    /// NOTICEs the server sent.
    pub fn take_notices(&self) -> Vec<String> {
        match self {
            Backend::Embedded { session, .. } => session.take_notices().iter().map(ToString::to_string).collect(),
            Backend::Remote { notices, .. } => std::mem::take(&mut *notices.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// Ask the server to cancel the running statement (remote only; an
    /// embedded statement is cancelled by dropping it).
    pub async fn cancel(&self) {
        if let Backend::Remote { cancel, .. } = self {
            let _ = cancel.cancel_query(NoTls).await;
        }
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

async fn collect(
    output: Output,
    start: Instant,
    bytes_before: u64,
    engine: &Engine,
    progress: &mut dyn FnMut(Progress),
) -> Result<ResultSet> {
    match output {
        Output::Done { tag } => Ok(ResultSet { tag: Some(tag.to_string()), ..Default::default() }),
        Output::Copy { schema, mut stream, format } => {
            let encoder = pgtypes::copy::CopyEncoder::new(&schema, format);
            let mut data = Vec::new();
            data.extend(encoder.start().unwrap_or_default());
            while let Some(batch) = stream.next().await {
                for row in encoder.rows(&batch?)? {
                    data.extend_from_slice(&row);
                }
            }
            data.extend(encoder.finish().unwrap_or_default());
            Ok(ResultSet { copy_data: Some(data), ..Default::default() })
        }
        Output::Rows { schema, mut stream, .. } => {
            let mut result = ResultSet {
                columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
                numeric: schema.fields().iter().map(|f| is_numeric(f.data_type())).collect(),
                ..Default::default()
            };
            // The status line ticks on a timer, so a query that produces
            // no rows until the end (an aggregate) still shows progress.
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    batch = stream.next() => match batch {
                        Some(batch) => result.rows.extend(pgtypes::text_rows(&batch?)?),
                        None => break,
                    },
                    _ = tick.tick() => progress(Progress {
                        elapsed: start.elapsed(),
                        rows: result.rows.len(),
                        bytes: engine.bytes_read().saturating_sub(bytes_before),
                    }),
                }
            }
            Ok(result)
        }
    }
}

fn remote_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// What a script did: the results of the statements that ran, and the
/// error that stopped it, if one did.
#[derive(Default)]
pub struct Ran {
    pub results: Vec<ResultSet>,
    pub error: Option<Error>,
}

/// A server's error as glaux's.
fn remote_error(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let state = crate::error::SqlState::from_code(db.code().code());
            let mut err = Error::new(state, db.message().to_string());
            if let Some(h) = db.hint() {
                err = err.with_hint(h);
            }
            err
        }
        None => Error::new(SqlState::IoError, format!("server connection: {e}")),
    }
}

async fn run_remote(client: &Client, sql: &str, ran: &mut Ran) {
    let messages = match client.simple_query_raw(sql).await {
        Ok(m) => m,
        Err(e) => {
            ran.error = Some(remote_error(e));
            return;
        }
    };
    futures::pin_mut!(messages);
    let mut current = ResultSet::default();
    while let Some(m) = messages.next().await {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                ran.error = Some(remote_error(e));
                return;
            }
        };
        match m {
            SimpleQueryMessage::RowDescription(cols) => {
                current.columns = cols.iter().map(|c| c.name().to_string()).collect();
            }
            SimpleQueryMessage::Row(row) => {
                if current.columns.is_empty() {
                    current.columns = row.columns().iter().map(|c| c.name().to_string()).collect();
                }
                current.rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
            }
            SimpleQueryMessage::CommandComplete(_) => {
                if current.columns.is_empty() {
                    current.tag = Some("OK".into());
                }
                current.numeric = vec![false; current.columns.len()];
                ran.results.push(std::mem::take(&mut current));
            }
            _ => {}
        }
    }
}
