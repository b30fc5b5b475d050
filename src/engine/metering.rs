//! One query's run under its workgroup: the checks before it starts
//! (workgroup enabled and granted, hourly and daily budgets), its meter
//! (bytes read, the per-query cutoff), its ledger entry from submission to
//! end, and the stream wrapper that records how it ended: SUCCEEDED when
//! the rows are all sent, FAILED with the SQLSTATE, CANCELLED when the
//! client cancelled, timed out or went away.
//!
//! [`ActiveQueries`] is the engine's list of queries queued or running
//! (SHOW QUERIES, CANCEL QUERY) and each workgroup's gate for
//! `max_concurrent_queries`: a query past the limit waits, QUEUED, up to
//! the workgroup's queue timeout.

use super::notices::{Notices, Severity};
use crate::catalog::{LimitAction, SecurityStore, Workgroup};
use crate::error::{Error, Result, SqlState};
use crate::workgroup::ledger::{now_micros, over_budget, utc_text, Ledger, Outcome, QueryState};
use crate::workgroup::limits::SessionLimits;
use crate::workgroup::{billed_bytes, cost, human_bytes, Cutoff, Meter};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::Stream;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The queries queued or running now, and the workgroups' concurrency gates.
#[derive(Debug, Default)]
pub struct ActiveQueries {
    queries: Mutex<HashMap<String, Active>>,
    /// workgroup -> (its limit when the gate was made, the gate)
    gates: Mutex<HashMap<String, (u32, Arc<Semaphore>)>>,
}

/// A query as SHOW QUERIES lists it.
#[derive(Debug, Clone)]
pub struct Active {
    pub id: String,
    pub user: String,
    pub workgroup: String,
    pub sql: String,
    pub submitted: i64,
    pub state: QueryState,
    pub meter: Arc<Meter>,
    cancel: CancellationToken,
}

impl ActiveQueries {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.queries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The queries queued or running, oldest first.
    pub fn list(&self) -> Vec<Active> {
        let mut all: Vec<Active> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| (a.submitted, &a.id).cmp(&(b.submitted, &b.id)));
        all
    }

    /// Cancel query `id` on behalf of `user` (`admin`: any query);
    /// 42704 if there is no such query, 42501 if it is someone else's.
    pub fn cancel(&self, id: &str, user: &str, admin: bool) -> Result<()> {
        let queries = self.lock();
        let Some(q) = queries.get(id) else {
            return Err(Error::new(
                SqlState::UndefinedObject,
                format!("query {id} is not queued or running (SHOW QUERIES lists them)"),
            ));
        };
        if q.user != user && !admin {
            return Err(Error::new(
                SqlState::InsufficientPrivilege,
                format!("query {id} belongs to {}; only its owner or an admin may cancel it", q.user),
            ));
        }
        q.cancel.cancel();
        Ok(())
    }

    fn set_state(&self, id: &str, state: QueryState) {
        if let Some(q) = self.lock().get_mut(id) {
            q.state = state;
        }
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The gate of a workgroup with a concurrency limit.
    fn gate(&self, workgroup: &str, limit: u32) -> Arc<Semaphore> {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        match gates.get(workgroup) {
            Some((l, gate)) if *l == limit => Arc::clone(gate),
            _ => {
                let gate = Arc::new(Semaphore::new(limit as usize));
                gates.insert(workgroup.to_string(), (limit, Arc::clone(&gate)));
                gate
            }
        }
    }
}

/// A query being run: its ledger id, workgroup and meter.
#[derive(Debug)]
pub struct QueryRun {
    pub id: String,
    pub workgroup: Workgroup,
    pub meter: Arc<Meter>,
    ledger: Arc<Ledger>,
    active: Arc<ActiveQueries>,
    cancel: CancellationToken,
    /// Its place under the workgroup's concurrency limit, held to the end.
    _permit: Option<OwnedSemaphorePermit>,
    /// Where the session finds "scanned ..., cost ..." once it succeeded.
    notices: Notices,
}

/// A new query id: time-ordered and unique within the process.
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{:x}-{:04x}", now_micros(), NEXT.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

/// The workgroup a session's queries run in: its choice (SET workgroup),
/// else the user's default, else `primary`; 42704 if it does not exist,
/// 42501 if the user may not use it.
pub async fn workgroup_for(
    catalog: &dyn SecurityStore,
    user: &str,
    chosen: Option<&str>,
    local: bool,
) -> Result<Workgroup> {
    let name = match chosen {
        Some(w) => w.to_string(),
        None => {
            catalog.get_user(user).await?.and_then(|u| u.workgroup).unwrap_or_else(|| Workgroup::PRIMARY.to_string())
        }
    };
    let wg = crate::catalog::require_workgroup(catalog, &name).await?;
    if !wg.admits(user) && !super::privileges::is_admin(catalog, user, local).await? {
        return Err(Error::new(
            SqlState::InsufficientPrivilege,
            format!("permission denied for workgroup {}: {user} was not granted its use", wg.name),
        )
        .with_hint(format!("an admin can run GRANT USAGE ON WORKGROUP {} TO {user}", wg.name)));
    }
    Ok(wg)
}

/// Who runs a query, and from where.
pub struct Submitter<'a> {
    pub user: &'a str,
    /// The workgroup the session chose (SET workgroup), if any.
    pub chosen: Option<&'a str>,
    /// The local shell, always an admin.
    pub local: bool,
    /// The limits the session set for itself.
    pub limits: SessionLimits,
    pub notices: &'a Notices,
}

/// Start a query: record it, then check its workgroup lets it run (a
/// refusal is recorded as FAILED too). The run's workgroup carries the
/// limits that hold for it: the workgroup's, with the session's applied.
pub async fn begin(
    catalog: &dyn SecurityStore,
    ledger: &Arc<Ledger>,
    active: &Arc<ActiveQueries>,
    by: Submitter<'_>,
    sql: &str,
) -> Result<QueryRun> {
    let Submitter { user, chosen, local, limits, notices } = by;
    let id = new_id();
    let workgroup = workgroup_for(catalog, user, chosen, local).await;
    let name = match &workgroup {
        Ok(w) => w.name.clone(),
        Err(_) => chosen.unwrap_or(Workgroup::PRIMARY).to_string(),
    };
    let checked = workgroup.and_then(|wg| {
        admit(ledger, &wg, notices)?;
        Ok(wg)
    });
    let mut workgroup = match checked {
        Ok(wg) => wg,
        Err(e) => {
            ledger.submit(&id, user, &name, sql, QueryState::Running)?;
            ledger.finish(&id, &failed(&e, 0, 0, 0, 0.0))?;
            return Err(e);
        }
    };
    // Past the workgroup's concurrency limit the query waits, QUEUED.
    let gate = workgroup.max_concurrent_queries.map(|n| active.gate(&workgroup.name, n));
    let permit = gate.as_ref().and_then(|g| Arc::clone(g).try_acquire_owned().ok());
    let queued = gate.is_some() && permit.is_none();
    let state = if queued { QueryState::Queued } else { QueryState::Running };
    ledger.submit(&id, user, &name, sql, state)?;
    let own_cutoff = workgroup.bytes_scanned_cutoff_per_query;
    limits.apply(&mut workgroup);
    let cutoff = workgroup.bytes_scanned_cutoff_per_query.map(|bytes| Cutoff {
        bytes,
        workgroup: workgroup.name.clone(),
        by_session: Some(bytes) != own_cutoff,
    });
    let meter = Arc::new(Meter::with_cutoff(cutoff));
    let cancel = CancellationToken::new();
    let entry = Active {
        id: id.clone(),
        user: user.to_string(),
        workgroup: name.clone(),
        sql: sql.to_string(),
        submitted: now_micros(),
        state,
        meter: Arc::clone(&meter),
        cancel: cancel.clone(),
    };
    active.lock().insert(id.clone(), entry);
    let mut run = QueryRun {
        id,
        workgroup,
        meter,
        ledger: Arc::clone(ledger),
        active: Arc::clone(active),
        cancel,
        _permit: permit,
        notices: notices.clone(),
    };
    if let (true, Some(gate)) = (queued, gate) {
        run = run.wait_in_queue(gate).await?;
    }
    Ok(run)
}

impl QueryRun {
    /// Wait, QUEUED, for a place under the workgroup's concurrency limit,
    /// at most its queue_timeout, or until CANCEL QUERY.
    async fn wait_in_queue(mut self, gate: Arc<tokio::sync::Semaphore>) -> Result<QueryRun> {
        let wait = std::time::Duration::from_millis(self.workgroup.queue_timeout_ms);
        let waited = tokio::select! {
            permit = tokio::time::timeout(wait, gate.acquire_owned()) => match permit {
                Ok(Ok(p)) => Ok(p),
                _ => Err(Error::new(
                    SqlState::ResourceLimit,
                    format!(
                        "query waited {} ms in the queue of workgroup {} and did not start; {} queries may run at once",
                        self.workgroup.queue_timeout_ms,
                        self.workgroup.name,
                        self.workgroup.max_concurrent_queries.unwrap_or_default()
                    ),
                )
                .with_hint(format!("max_concurrent_queries and queue_timeout of workgroup {} set this", self.workgroup.name))),
            },
            _ = self.cancel.cancelled() => Err(Error::new(SqlState::QueryCanceled, "canceling statement due to CANCEL QUERY while it was queued")),
        };
        match waited {
            Ok(permit) => {
                self._permit = Some(permit);
                self.ledger.start(&self.id)?;
                self.active.set_state(&self.id, QueryState::Running);
                Ok(self)
            }
            Err(e) => {
                self.finish(&Err(Error::new(e.sqlstate(), e.to_string())), 0);
                Err(e)
            }
        }
    }
}

/// Whether a workgroup takes new queries: enabled, and (when its action
/// is block) under its hourly and daily budgets. Over a budget whose
/// action is warn, the query runs and its client gets a WARNING.
fn admit(ledger: &Ledger, wg: &Workgroup, notices: &Notices) -> Result<()> {
    if !wg.enabled {
        return Err(Error::new(SqlState::InsufficientPrivilege, format!("workgroup {} is disabled", wg.name))
            .with_hint(format!("an admin can run ALTER WORKGROUP {} ENABLE, or SET workgroup to another", wg.name)));
    }
    const HOUR: i64 = 3_600_000_000;
    const DAY: i64 = 24 * HOUR;
    let now = now_micros();
    for (window, limit, length) in [("hourly", wg.hourly_limit_bytes, HOUR), ("daily", wg.daily_limit_bytes, DAY)] {
        let Some(limit) = limit else { continue };
        let start = now / length * length;
        let used = ledger.scanned_since(&wg.name, start)?;
        if used >= limit {
            match wg.limit_action {
                LimitAction::Block => return Err(over_budget(&wg.name, window, used, limit, start + length)),
                LimitAction::Warn => {
                    let text = format!(
                        "workgroup {} has used its {window} budget ({} of {}) until {}; the query runs because its limit_action is warn",
                        wg.name,
                        human_bytes(used),
                        human_bytes(limit),
                        utc_text(start + length),
                    );
                    log::info!("{text}");
                    notices.push(Severity::Warning, text);
                }
            }
        }
    }
    Ok(())
}

/// What a client is told after a statement that read or wrote data:
/// `scanned 1.21 GB, cost $0.0059`, with `wrote 310.50 MB` between when
/// it wrote files.
fn summary(bytes: u64, written: u64, cost: f64) -> String {
    let price = if cost >= 0.0001 { format!("{cost:.4}") } else { format!("{cost:.7}") };
    let wrote = if written > 0 { format!(", wrote {}", human_bytes(written)) } else { String::new() };
    format!("scanned {}{wrote}, cost ${price}", human_bytes(bytes))
}

fn failed(e: &Error, bytes: u64, written: u64, billed: u64, cost: f64) -> Outcome {
    let code = e.sqlstate().code();
    let state = if code == "57014" { QueryState::Cancelled } else { QueryState::Failed };
    let error = Some(e.to_string());
    Outcome { state, sqlstate: Some(code.to_string()), error, rows: 0, bytes, written, billed, cost }
}

impl QueryRun {
    /// What the query read so far, billed: nothing when it read nothing
    /// from storage, else the workgroup's minimum rounded up to the MB.
    pub fn bill(&self) -> (u64, u64, f64) {
        let bytes = self.meter.get();
        if bytes == 0 {
            return (0, 0, 0.0);
        }
        let billed = billed_bytes(bytes, self.workgroup.minimum_billed_bytes);
        (bytes, billed, cost(billed, self.workgroup.price_per_tb))
    }

    /// Record the end of a query that produced no stream.
    pub fn finish(self, result: &Result<()>, rows: u64) {
        self.active.remove(&self.id);
        let (bytes, billed, cost) = self.bill();
        let written = self.meter.written();
        let outcome = match result {
            Ok(()) => Outcome {
                state: QueryState::Succeeded,
                sqlstate: None,
                error: None,
                rows,
                bytes,
                written,
                billed,
                cost,
            },
            Err(e) => failed(e, bytes, written, billed, cost),
        };
        if result.is_ok() && (bytes > 0 || written > 0) {
            self.notices.push(Severity::Notice, summary(bytes, written, cost));
        }
        if let Err(e) = self.ledger.finish(&self.id, &outcome) {
            log::error!("cannot record the end of query {}: {e}", self.id);
        }
    }

    /// `stream`, recording the query's end when it ends.
    pub fn record(self, stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
        let cancelled = Box::pin(self.cancel.clone().cancelled_owned());
        Box::pin(Recorded { schema: stream.schema(), inner: stream, run: Some(self), rows: 0, cancelled })
    }
}

struct Recorded {
    schema: SchemaRef,
    inner: SendableRecordBatchStream,
    run: Option<QueryRun>,
    rows: u64,
    /// Ready once CANCEL QUERY names this query.
    cancelled: Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
}

impl Stream for Recorded {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.run.is_some() && self.cancelled.as_mut().poll(cx).is_ready() {
            let error = Error::new(SqlState::QueryCanceled, "canceling statement due to CANCEL QUERY");
            if let Some(run) = self.run.take() {
                run.finish(&Err(Error::new(SqlState::QueryCanceled, error.to_string())), self.rows);
            }
            return Poll::Ready(Some(Err(error.into_datafusion())));
        }
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => self.rows += batch.num_rows() as u64,
            Poll::Ready(Some(Err(e))) => {
                let error = Error::new(crate::error::classify_datafusion(e), crate::error::datafusion_message(e));
                if let Some(run) = self.run.take() {
                    run.finish(&Err(error), 0);
                }
            }
            Poll::Ready(None) => {
                let rows = self.rows;
                if let Some(run) = self.run.take() {
                    run.finish(&Ok(()), rows);
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl RecordBatchStream for Recorded {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        // Dropped before its end: the client cancelled or went away.
        if let Some(run) = self.run.take() {
            run.active.remove(&run.id);
            let (bytes, billed, cost) = run.bill();
            let outcome = Outcome {
                state: QueryState::Cancelled,
                sqlstate: Some("57014".into()),
                error: Some("the query was cancelled before it finished".into()),
                rows: self.rows,
                bytes,
                written: run.meter.written(),
                billed,
                cost,
            };
            if let Err(e) = run.ledger.finish(&run.id, &outcome) {
                log::error!("cannot record the end of query {}: {e}", run.id);
            }
        }
    }
}

impl QueryRun {
    /// A statement's result, recording the query's end: when its rows
    /// are all sent, or now for a result without rows or an error.
    pub fn recording(self, result: Result<super::output::Output>) -> Result<super::output::Output> {
        use super::output::Output;
        match result {
            Ok(Output::Rows { schema, stream, tag }) => Ok(Output::Rows { schema, stream: self.record(stream), tag }),
            Ok(Output::Copy { schema, stream, format }) => {
                Ok(Output::Copy { schema, stream: self.record(stream), format })
            }
            Ok(done) => {
                self.finish(&Ok(()), 0);
                Ok(done)
            }
            Err(e) => {
                self.finish(&Err(Error::new(e.sqlstate(), e.to_string())), 0);
                Err(e)
            }
        }
    }

    /// The cutoff its plan is checked against before it runs.
    pub fn preflight(&self) -> Option<Cutoff> {
        self.meter.cutoff().cloned()
    }
}

/// EXPLAIN's `scan_estimate` line for `plan`: what it would read (from
/// file sizes, Parquet footers and Iceberg manifests) and cost in the run's workgroup.
pub async fn explain_line(
    state: &datafusion::execution::session_state::SessionState,
    plan: &datafusion::logical_expr::LogicalPlan,
    run: Option<&QueryRun>,
) -> Result<String> {
    let physical = state.create_physical_plan(plan).await?;
    let runtime = crate::table::metered::query_runtime(state.config(), state.runtime_env())?;
    let estimate = crate::table::estimate::estimate(&physical, &runtime).await?;
    let (workgroup, minimum, price) = match run {
        Some(r) => (r.workgroup.name.clone(), r.workgroup.minimum_billed_bytes, r.workgroup.price_per_tb),
        None => (Workgroup::PRIMARY.to_string(), 0, 0.0),
    };
    let (billed, cost) = if estimate.bytes == 0 {
        (0, 0.0)
    } else {
        let billed = billed_bytes(estimate.bytes, minimum);
        (billed, cost(billed, price))
    };
    Ok(format!(
        "{}{} (from file sizes, Parquet footers and Iceberg manifests), billed {}, cost ${cost:.7} in workgroup {workgroup}",
        if estimate.may_read_less { "at most " } else { "" },
        crate::workgroup::human_bytes(estimate.bytes),
        crate::workgroup::human_bytes(billed),
    ))
}

/// `workgroup` or `glaux.workgroup`: the session's workgroup.
pub fn is_workgroup_setting(name: &str) -> bool {
    name.eq_ignore_ascii_case("workgroup") || name.eq_ignore_ascii_case("glaux.workgroup")
}

/// The `-c name=value` (or `--name=value`) pairs of a start-up `options`.
pub fn command_line_options(options: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let pair = match word {
            "-c" => words.next(),
            w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--")),
        };
        if let Some((k, v)) = pair.and_then(|p| p.split_once('=')) {
            out.push((k.replace('-', "_"), v.to_string()));
        }
    }
    out
}
