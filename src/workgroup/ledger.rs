//! The ledger: every query glaux runs, whatever its end, kept durably in
//! SQLite (`data_dir/ledger.db`), with its user, workgroup, SQL, state,
//! SQLSTATE, times, rows, bytes scanned, bytes written, billed bytes and
//! cost. It is
//! shown as `system.query_history` and summed per workgroup per hour and
//! per day as `system.workgroup_usage`; workgroup budgets read the same
//! sums.
//!
//! A query's end is written before its client receives the result (the
//! statement's last message waits on it), so a kill -9 loses no record of
//! a statement whose client got its answer. Its submission is kept in
//! memory ([`Ledger::submit`]) and written within [`FLUSH_EVERY`] by the
//! flusher, or together with its end when it ends sooner: a quick query
//! costs one SQLite write, and one that was running when the server
//! stopped is found at the next start and marked FAILED. Reads of the
//! ledger write the pending submissions first, so they see every query.

use crate::catalog::sqlite::StoreResult;
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use rusqlite::{params, Connection, OptionalExtension};
use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queries (
    id        TEXT PRIMARY KEY,
    user      TEXT NOT NULL,
    workgroup TEXT NOT NULL,
    sql       TEXT NOT NULL,
    state     TEXT NOT NULL,
    sqlstate  TEXT,
    error     TEXT,
    submitted INTEGER NOT NULL,
    started   INTEGER,
    ended     INTEGER,
    rows      INTEGER NOT NULL DEFAULT 0,
    bytes     INTEGER NOT NULL DEFAULT 0,
    billed    INTEGER NOT NULL DEFAULT 0,
    cost      REAL NOT NULL DEFAULT 0,
    written   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queries_by_workgroup ON queries (workgroup, submitted);
";

/// How a query ended (or where it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl QueryState {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryState::Queued => "QUEUED",
            QueryState::Running => "RUNNING",
            QueryState::Succeeded => "SUCCEEDED",
            QueryState::Failed => "FAILED",
            QueryState::Cancelled => "CANCELLED",
        }
    }
}

/// How a query ended, for [`Ledger::finish`].
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: QueryState,
    pub sqlstate: Option<String>,
    pub error: Option<String>,
    pub rows: u64,
    pub bytes: u64,
    /// Bytes the statement wrote (data, delete, manifest and metadata
    /// files); never billed.
    pub written: u64,
    pub billed: u64,
    pub cost: f64,
}

/// How long a submitted query may stay unwritten: the flusher writes the
/// submissions still pending this often.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Debug)]
pub struct Ledger {
    conn: Mutex<Connection>,
    /// Submitted queries not yet written, by id. Written (and removed)
    /// only while `conn` is locked, so a query's end never overtakes
    /// its submission.
    pending: Mutex<HashMap<String, Submission>>,
}

/// A submitted query's row before it is written.
#[derive(Debug)]
struct Submission {
    user: String,
    workgroup: String,
    sql: String,
    state: QueryState,
    submitted: i64,
    started: Option<i64>,
}

const INSERT: &str =
    "INSERT INTO queries (id, user, workgroup, sql, state, submitted, started) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Insert `pending`'s rows in one transaction.
fn insert_all(conn: &mut Connection, pending: &HashMap<String, Submission>) -> Result<()> {
    let tx = conn.transaction().store()?;
    {
        let mut insert = tx.prepare_cached(INSERT).store()?;
        for (id, s) in pending {
            insert
                .execute(params![id, s.user, s.workgroup, s.sql, s.state.as_str(), s.submitted, s.started])
                .store()?;
        }
    }
    tx.commit().store()
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

impl Ledger {
    /// Open (creating if needed) the ledger at `path`; queries a stopped
    /// server left unfinished are marked FAILED.
    pub fn open(path: &Path) -> Result<Ledger> {
        let conn = Connection::open(path).store()?;
        conn.pragma_update(None, "journal_mode", "WAL").store()?;
        // WAL with NORMAL sync survives a crash of the process; each query
        // costs no fsync.
        conn.pragma_update(None, "synchronous", "NORMAL").store()?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).store()?;
        Ledger::init(conn)
    }

    /// A ledger that lives as long as the process (engines without a data dir).
    pub fn in_memory() -> Result<Ledger> {
        Ledger::init(Connection::open_in_memory().store()?)
    }

    fn init(conn: Connection) -> Result<Ledger> {
        conn.execute_batch(SCHEMA).store()?;
        // A ledger from before bytes written were kept gains the column.
        let has_written: bool = conn
            .query_row("SELECT COUNT(*) > 0 FROM pragma_table_info('queries') WHERE name = 'written'", [], |r| r.get(0))
            .store()?;
        if !has_written {
            if let Err(e) = conn.execute_batch("ALTER TABLE queries ADD COLUMN written INTEGER NOT NULL DEFAULT 0") {
                // Another process opening the same ledger may have added it.
                let added: bool = conn
                    .query_row(
                        "SELECT COUNT(*) > 0 FROM pragma_table_info('queries') WHERE name = 'written'",
                        [],
                        |r| r.get(0),
                    )
                    .store()?;
                if !added {
                    return Err(e).store();
                }
            }
        }
        conn.execute(
            "UPDATE queries SET state = 'FAILED', sqlstate = '57P01', error = 'the server stopped while the query ran',
             ended = COALESCE(ended, submitted) WHERE state IN ('QUEUED', 'RUNNING')",
            [],
        )
        .store()?;
        Ok(Ledger { conn: Mutex::new(conn), pending: Mutex::default() })
    }

    /// Start the thread that writes pending submissions every
    /// [`FLUSH_EVERY`]; it ends once the ledger is dropped.
    pub fn start_flusher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("glaux-ledger".into()).spawn(move || loop {
            std::thread::sleep(FLUSH_EVERY);
            let Some(ledger) = weak.upgrade() else { return };
            let flushed = ledger.flush(&mut ledger.lock());
            if let Err(e) = flushed {
                log::error!("cannot record submitted queries: {e}");
            }
        });
        if let Err(e) = spawned {
            log::error!("cannot start the ledger's flusher (queries are written when they end): {e}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Submission>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write the pending submissions, in one transaction; `conn` is the
    /// locked connection. If that fails they stay pending.
    fn flush(&self, conn: &mut Connection) -> Result<()> {
        let pending = std::mem::take(&mut *self.lock_pending());
        if pending.is_empty() {
            return Ok(());
        }
        let written = insert_all(conn, &pending);
        if written.is_err() {
            let mut still = self.lock_pending();
            for (id, submission) in pending {
                still.entry(id).or_insert(submission);
            }
        }
        written
    }

    /// Record a submitted query (written within [`FLUSH_EVERY`], or with
    /// its end).
    pub fn submit(&self, id: &str, user: &str, workgroup: &str, sql: &str, state: QueryState) -> Result<()> {
        let now = now_micros();
        let started = (state == QueryState::Running).then_some(now);
        let submission = Submission {
            user: user.into(),
            workgroup: workgroup.into(),
            sql: sql.into(),
            state,
            submitted: now,
            started,
        };
        self.lock_pending().insert(id.to_string(), submission);
        Ok(())
    }

    /// Record that a queued query started running.
    pub fn start(&self, id: &str) -> Result<()> {
        let conn = self.lock();
        if let Some(s) = self.lock_pending().get_mut(id) {
            s.state = QueryState::Running;
            s.started = Some(now_micros());
            return Ok(());
        }
        conn.prepare_cached("UPDATE queries SET state = 'RUNNING', started = ?2 WHERE id = ?1")
            .store()?
            .execute(params![id, now_micros()])
            .store()?;
        Ok(())
    }

    /// Record how a query ended, durably before this returns.
    pub fn finish(&self, id: &str, o: &Outcome) -> Result<()> {
        let conn = self.lock();
        let ended = now_micros();
        let (rows, bytes, billed, written) = (o.rows as i64, o.bytes as i64, o.billed as i64, o.written as i64);
        // Still pending: written once, with its end.
        let pending = self.lock_pending().remove(id);
        if let Some(s) = pending {
            conn.prepare_cached(
                "INSERT INTO queries (id, user, workgroup, sql, state, sqlstate, error, submitted, started, ended, rows,
                 bytes, billed, cost, written) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .store()?
            .execute(params![
                id,
                s.user,
                s.workgroup,
                s.sql,
                o.state.as_str(),
                o.sqlstate,
                o.error,
                s.submitted,
                s.started.unwrap_or(ended),
                ended,
                rows,
                bytes,
                billed,
                o.cost,
                written
            ])
            .store()?;
            return Ok(());
        }
        conn.prepare_cached(
            "UPDATE queries SET state = ?2, sqlstate = ?3, error = ?4, ended = ?5, rows = ?6, bytes = ?7, billed = ?8,
             cost = ?9, written = ?10, started = COALESCE(started, ?5) WHERE id = ?1",
        )
        .store()?
        .execute(params![id, o.state.as_str(), o.sqlstate, o.error, ended, rows, bytes, billed, o.cost, written])
        .store()?;
        Ok(())
    }

    /// Bytes a workgroup's queries scanned since `since` (microseconds).
    pub fn scanned_since(&self, workgroup: &str, since: i64) -> Result<u64> {
        let n: Option<i64> = self
            .lock()
            .prepare_cached("SELECT SUM(bytes) FROM queries WHERE workgroup = ?1 AND submitted >= ?2")
            .store()?
            .query_row(params![workgroup, since], |r| r.get(0))
            .optional()
            .store()?
            .flatten();
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// `system.query_history`: every query, newest first.
    pub fn history(&self) -> Result<RecordBatch> {
        let mut conn = self.lock();
        self.flush(&mut conn)?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, user, workgroup, sql, state, sqlstate, error, submitted, started, ended, rows, bytes, billed, cost,
             written FROM queries ORDER BY submitted DESC, id DESC",
        ).store()?;
        let mut columns: (Vec<String>, Vec<String>, Vec<String>, Vec<String>, Vec<String>) = Default::default();
        let mut errors: (Vec<Option<String>>, Vec<Option<String>>) = Default::default();
        let mut times: (Vec<i64>, Vec<Option<i64>>, Vec<Option<i64>>, Vec<Option<i64>>) = Default::default();
        let mut figures: (Vec<i64>, Vec<i64>, Vec<i64>, Vec<f64>, Vec<i64>) = Default::default();
        let mut rows = stmt.query([]).store()?;
        while let Some(r) = rows.next().store()? {
            columns.0.push(r.get(0).store()?);
            columns.1.push(r.get(1).store()?);
            columns.2.push(r.get(2).store()?);
            columns.3.push(r.get(3).store()?);
            columns.4.push(r.get(4).store()?);
            errors.0.push(r.get(5).store()?);
            errors.1.push(r.get(6).store()?);
            let (submitted, started, ended): (i64, Option<i64>, Option<i64>) =
                (r.get(7).store()?, r.get(8).store()?, r.get(9).store()?);
            times.0.push(submitted);
            times.1.push(started);
            times.2.push(ended);
            times.3.push(started.map(|s| (s - submitted).max(0) / 1000));
            figures.0.push(r.get(10).store()?);
            figures.1.push(r.get(11).store()?);
            figures.2.push(r.get(12).store()?);
            figures.3.push(r.get(13).store()?);
            figures.4.push(r.get(14).store()?);
        }
        let ts = |v: Vec<Option<i64>>| Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")) as ArrayRef;
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(columns.0)),
            Arc::new(StringArray::from(columns.1)),
            Arc::new(StringArray::from(columns.2)),
            Arc::new(StringArray::from(columns.3)),
            Arc::new(StringArray::from(columns.4)),
            Arc::new(StringArray::from(errors.0)),
            Arc::new(StringArray::from(errors.1)),
            ts(times.0.into_iter().map(Some).collect()),
            ts(times.1),
            ts(times.2),
            Arc::new(Int64Array::from(times.3)),
            Arc::new(Int64Array::from(figures.0)),
            Arc::new(Int64Array::from(figures.1)),
            Arc::new(Int64Array::from(figures.4)),
            Arc::new(Int64Array::from(figures.2)),
            Arc::new(Float64Array::from(figures.3)),
        ];
        RecordBatch::try_new(history_schema(), arrays).map_err(|e| Error::internal(format!("query history: {e}")))
    }

    /// `system.workgroup_usage`: per workgroup, per hour and per day.
    pub fn usage(&self) -> Result<RecordBatch> {
        let mut conn = self.lock();
        self.flush(&mut conn)?;
        let mut stmt = conn.prepare_cached(
            "SELECT workgroup, period, start, COUNT(*), SUM(bytes), SUM(billed), SUM(cost) FROM (
                 SELECT workgroup, 'hour' AS period, submitted / 3600000000 * 3600000000 AS start, bytes, billed, cost FROM queries
                 UNION ALL
                 SELECT workgroup, 'day', submitted / 86400000000 * 86400000000, bytes, billed, cost FROM queries)
             GROUP BY workgroup, period, start ORDER BY workgroup, period, start",
        ).store()?;
        let mut out: (Vec<String>, Vec<String>, Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>, Vec<f64>) = Default::default();
        let mut rows = stmt.query([]).store()?;
        while let Some(r) = rows.next().store()? {
            out.0.push(r.get(0).store()?);
            out.1.push(r.get(1).store()?);
            out.2.push(r.get(2).store()?);
            out.3.push(r.get(3).store()?);
            out.4.push(r.get(4).store()?);
            out.5.push(r.get(5).store()?);
            out.6.push(r.get(6).store()?);
        }
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(out.0)),
            Arc::new(StringArray::from(out.1)),
            Arc::new(TimestampMicrosecondArray::from(out.2).with_timezone("UTC")),
            Arc::new(Int64Array::from(out.3)),
            Arc::new(Int64Array::from(out.4)),
            Arc::new(Int64Array::from(out.5)),
            Arc::new(Float64Array::from(out.6)),
        ];
        RecordBatch::try_new(usage_schema(), arrays).map_err(|e| Error::internal(format!("workgroup usage: {e}")))
    }
}

fn history_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("query_id", DataType::Utf8, false),
        Field::new("user_name", DataType::Utf8, false),
        Field::new("workgroup", DataType::Utf8, false),
        Field::new("query", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("sqlstate", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
        Field::new("submitted", ts.clone(), false),
        Field::new("started", ts.clone(), true),
        Field::new("ended", ts, true),
        Field::new("queue_ms", DataType::Int64, true),
        Field::new("rows", DataType::Int64, false),
        Field::new("bytes_scanned", DataType::Int64, false),
        Field::new("bytes_written", DataType::Int64, false),
        Field::new("billed_bytes", DataType::Int64, false),
        Field::new("cost_usd", DataType::Float64, false),
    ]))
}

fn usage_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("workgroup", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("period_start", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new("queries", DataType::Int64, false),
        Field::new("bytes_scanned", DataType::Int64, false),
        Field::new("billed_bytes", DataType::Int64, false),
        Field::new("cost_usd", DataType::Float64, false),
    ]))
}

/// The `system` schema: the ledger's tables, read when a query names them.
#[derive(Debug)]
pub struct SystemTables {
    pub ledger: Arc<Ledger>,
}

#[async_trait::async_trait]
impl SchemaProvider for SystemTables {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        vec!["query_history".into(), "workgroup_usage".into()]
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let batch = match name {
            "query_history" => self.ledger.history(),
            "workgroup_usage" => self.ledger.usage(),
            _ => return Ok(None),
        }
        .map_err(Error::into_datafusion)?;
        Ok(Some(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        matches!(name, "query_history" | "workgroup_usage")
    }
}

/// 53400 for a workgroup over its hourly or daily budget.
pub fn over_budget(workgroup: &str, window: &str, used: u64, limit: u64, resets: i64) -> Error {
    let at = utc_text(resets);
    Error::new(
        SqlState::ResourceLimit,
        format!(
            "workgroup {workgroup} has used its {window} budget ({} of {}); new queries are blocked until {at}",
            super::human_bytes(used),
            super::human_bytes(limit)
        ),
    )
    .with_hint(format!(
        "the {window} limit of workgroup {workgroup} resets at {at}; an admin can raise it with ALTER WORKGROUP"
    ))
}

/// A time (microseconds since the epoch) as messages give it:
/// `2026-11-21 16:00 UTC`.
pub fn utc_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
