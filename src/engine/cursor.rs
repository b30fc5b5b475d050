//! SQL cursors: DECLARE ... CURSOR FOR query, FETCH, CLOSE. A cursor holds
//! its query's running stream and hands out rows as FETCH asks, so psql's
//! FETCH_COUNT, psycopg's named cursors and psqlODBC's declare/fetch mode
//! read large results in pieces. Cursors without HOLD live until their
//! transaction ends, as in PostgreSQL.

use crate::error::{Error, Result, SqlState};
use crate::pgcatalog::CursorInfo;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use std::collections::HashMap;

struct Cursor {
    schema: SchemaRef,
    /// In a mutex only so the session stays `Sync`; FETCH has `&mut` access.
    stream: std::sync::Mutex<SendableRecordBatchStream>,
    /// Rows of a batch a FETCH did not take.
    pending: Option<RecordBatch>,
    /// The stream has ended (it is not polled again).
    done: bool,
    info: CursorInfo,
}

/// A session's open cursors, by name.
#[derive(Default)]
pub struct Cursors {
    open: HashMap<String, Cursor>,
}

impl Cursors {
    /// Open cursor `info.name` over `stream`.
    pub fn declare(&mut self, info: CursorInfo, schema: SchemaRef, stream: SendableRecordBatchStream) -> Result<()> {
        if self.open.contains_key(&info.name) {
            return Err(Error::new(SqlState::DuplicateCursor, format!("cursor \"{}\" already exists", info.name)));
        }
        let cursor = Cursor { schema, stream: std::sync::Mutex::new(stream), pending: None, done: false, info };
        self.open.insert(cursor.info.name.clone(), cursor);
        Ok(())
    }

    /// The open cursors, for pg_cursors.
    pub fn list(&self) -> Vec<CursorInfo> {
        self.open.values().map(|c| c.info.clone()).collect()
    }

    /// The result columns of cursor `name`.
    pub fn schema(&self, name: &str) -> Result<SchemaRef> {
        self.open.get(name).map(|c| std::sync::Arc::clone(&c.schema)).ok_or_else(|| missing(name))
    }

    /// The next `count` rows (all that remain for `None`).
    pub async fn fetch(&mut self, name: &str, count: Option<usize>) -> Result<Vec<RecordBatch>> {
        let cursor = self.open.get_mut(name).ok_or_else(|| missing(name))?;
        let mut wanted = count.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        while wanted > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None if cursor.done => break,
                None => match cursor.stream.get_mut().unwrap_or_else(|e| e.into_inner()).next().await {
                    Some(b) => b?,
                    None => {
                        cursor.done = true;
                        break;
                    }
                },
            };
            if batch.num_rows() > wanted {
                out.push(batch.slice(0, wanted));
                cursor.pending = Some(batch.slice(wanted, batch.num_rows() - wanted));
                wanted = 0;
            } else {
                wanted -= batch.num_rows();
                out.push(batch);
            }
        }
        Ok(out)
    }

    /// Close one cursor, or all of them (`None`).
    pub fn close(&mut self, name: Option<&str>) -> Result<()> {
        match name {
            Some(n) => self.open.remove(n).map(|_| ()).ok_or_else(|| missing(n)),
            None => {
                self.open.clear();
                Ok(())
            }
        }
    }

    /// A transaction ended: cursors declared without HOLD close.
    pub fn end_transaction(&mut self) {
        self.open.retain(|_, c| c.info.holdable);
    }
}

fn missing(name: &str) -> Error {
    Error::new(SqlState::InvalidCursorName, format!("cursor \"{name}\" does not exist"))
}
