//! SQL cursors: DECLARE ... CURSOR FOR query, FETCH, CLOSE. A cursor holds
//! its query's running stream and hands out rows as FETCH asks, so psql's
//! FETCH_COUNT, psycopg's named cursors and psqlODBC's declare/fetch mode
//! read large results in pieces. Cursors without HOLD live until their
//! transaction ends, as in PostgreSQL.

use crate::error::{Error, Result, SqlState};
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
    hold: bool,
}

/// A session's open cursors, by name.
#[derive(Default)]
pub struct Cursors {
    open: HashMap<String, Cursor>,
}

impl Cursors {
    pub fn declare(&mut self, name: &str, schema: SchemaRef, stream: SendableRecordBatchStream, hold: bool) -> Result<()> {
        if self.open.contains_key(name) {
            return Err(Error::new(SqlState::DuplicateCursor, format!("cursor \"{name}\" already exists")));
        }
        self.open.insert(name.to_string(), Cursor { schema, stream: std::sync::Mutex::new(stream), pending: None, hold });
        Ok(())
    }

    /// The result columns of cursor `name`.
    pub fn schema(&self, name: &str) -> Result<SchemaRef> {
        self.open.get(name).map(|c| c.schema.clone()).ok_or_else(|| missing(name))
    }

    /// The next `count` rows (all that remain for `None`).
    pub async fn fetch(&mut self, name: &str, count: Option<usize>) -> Result<Vec<RecordBatch>> {
        let cursor = self.open.get_mut(name).ok_or_else(|| missing(name))?;
        let mut wanted = count.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        while wanted > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None => match cursor.stream.get_mut().unwrap_or_else(|e| e.into_inner()).next().await {
                    Some(b) => b?,
                    None => break,
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
        self.open.retain(|_, c| c.hold);
    }
}

fn missing(name: &str) -> Error {
    Error::new(SqlState::InvalidCursorName, format!("cursor \"{name}\" does not exist"))
}
