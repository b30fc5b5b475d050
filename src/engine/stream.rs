//! Result streams: queries run on their own runtime ([`execute_apart`]),
//! and an error that arrives while rows stream fails the open transaction
//! block, as any error does.

use crate::workgroup::Cutoff;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{FutureExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `stream`, raising `flag` if it yields an error.
pub fn fail_on_error(stream: SendableRecordBatchStream, flag: Arc<AtomicBool>) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let watched = stream.inspect(move |item| {
        if item.is_err() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, watched))
}

/// `stream`, ended with 57014 once `timeout_ms` (a statement timeout) has
/// passed since `started`; the query stops when its stream is dropped.
pub fn with_timeout(
    stream: SendableRecordBatchStream,
    started: tokio::time::Instant,
    timeout_ms: Option<u64>,
) -> SendableRecordBatchStream {
    let Some(ms) = timeout_ms else { return stream };
    let deadline = started + std::time::Duration::from_millis(ms);
    let schema = stream.schema();
    let timed = futures::stream::unfold(Some(stream), move |state| async move {
        let mut stream = state?;
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(deadline) => {
                let e = crate::error::Error::new(
                    crate::error::SqlState::QueryCanceled,
                    "canceling statement due to statement timeout",
                );
                Some((Err(e.into_datafusion()), None))
            }
            next = stream.next() => next.map(|item| (item, Some(stream))),
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, timed))
}

/// `stream` with its timestamptz columns in time zone `zone`: the same
/// instants, shown in the session's `TimeZone`.
pub fn in_time_zone(
    schema: datafusion::arrow::datatypes::SchemaRef,
    stream: SendableRecordBatchStream,
    zone: &str,
) -> (datafusion::arrow::datatypes::SchemaRef, SendableRecordBatchStream) {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let retimed = |t: &DataType| match t {
        DataType::Timestamp(unit, Some(tz)) if tz.as_ref() != zone => {
            Some(DataType::Timestamp(*unit, Some(zone.into())))
        }
        _ => None,
    };
    if !schema.fields().iter().any(|f| retimed(f.data_type()).is_some()) {
        return (schema, stream);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match retimed(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    let target = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let out = Arc::clone(&target);
    let batches = stream.map(move |batch| {
        let batch = batch?;
        let columns = batch
            .columns()
            .iter()
            .zip(out.fields())
            .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(datafusion::arrow::array::RecordBatch::try_new(Arc::clone(&out), columns)?)
    });
    (Arc::clone(&target), Box::pin(RecordBatchStreamAdapter::new(target, batches)))
}

/// The runtime queries execute on, apart from the one serving connections:
/// a CPU-bound query (a large join that never yields) must not starve the
/// accept loop, other sessions' I/O or the CancelRequest that would stop
/// it. Its threads compete with the server's only through the OS
/// scheduler.
fn query_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_stack_size(crate::THREAD_STACK_BYTES)
            .thread_name("glaux-query")
            .enable_all()
            .build()
            .expect("the query runtime starts")
    })
}

/// Plan `df` and start it: refused (53400) when its scan estimate is past
/// the query's cutoff and nothing could make it read less; every join's
/// output cooperative: a join
/// can produce batches for a long time without its inputs ever waiting
/// (a cross join), and only an operator that yields to the runtime lets
/// the task see that its client has gone and stop.
async fn start(
    df: datafusion::prelude::DataFrame,
    preflight: Option<Cutoff>,
    abandoned: Arc<AtomicBool>,
) -> datafusion::error::Result<SendableRecordBatchStream> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::physical_plan::{coop::CooperativeExec, ExecutionPlan};
    let context = crate::table::metered::query_context(Arc::new(df.task_ctx()))?;
    let plan = df.create_physical_plan().await?;
    if let Some(p) = preflight {
        // Refused up front only when nothing can make it read less.
        let estimate = crate::table::estimate::estimate(&plan, &context.runtime_env()).await?;
        if !estimate.may_read_less && estimate.bytes > p.bytes {
            let did = format!(
                "query refused before it ran: it would read {} (estimated from file sizes, Parquet footers and Iceberg manifests)",
                crate::workgroup::human_bytes(estimate.bytes)
            );
            let error = p.exceeded(&did);
            return Err(error.into_datafusion());
        }
    }
    let plan = plan
        .transform_up(|node: Arc<dyn ExecutionPlan>| {
            Ok(if is_join(node.as_ref()) {
                Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>)
            } else {
                Transformed::no(node)
            })
        })?
        .data;
    let plan = super::abandon::abandonable(plan, &abandoned)?;
    let plan = crate::table::named_errors::name_files(plan)?;
    datafusion::physical_plan::execute_stream(plan, context)
}

/// Whether `node` is one of DataFusion's joins, which can produce batches
/// for a long time without yielding.
fn is_join(node: &dyn datafusion::physical_plan::ExecutionPlan) -> bool {
    use datafusion::physical_plan::joins::{
        CrossJoinExec, HashJoinExec, NestedLoopJoinExec, PiecewiseMergeJoinExec, SortMergeJoinExec,
        SymmetricHashJoinExec,
    };
    let any = node.as_any();
    any.is::<HashJoinExec>()
        || any.is::<NestedLoopJoinExec>()
        || any.is::<CrossJoinExec>()
        || any.is::<SortMergeJoinExec>()
        || any.is::<SymmetricHashJoinExec>()
        || any.is::<PiecewiseMergeJoinExec>()
}

/// Start `df` on the query runtime; its batches arrive through a small
/// channel, so a slow client holds back the query. Dropping the returned
/// stream stops the query (the producing task ends at its next send).
pub fn execute_apart(df: datafusion::prelude::DataFrame, preflight: Option<Cutoff>) -> SendableRecordBatchStream {
    let schema = Arc::new(df.schema().as_arrow().clone());
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    let on_panic = sender.clone();
    // Raised when the returned stream is dropped.
    let abandoned = super::abandon::Abandoned::default();
    let flag = abandoned.flag();
    let produce = async move {
        let mut stream = match start(df, preflight, flag).await {
            Ok(s) => s,
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        };
        loop {
            tokio::select! {
                _ = sender.closed() => return,
                next = stream.next() => match next {
                    Some(item) => {
                        if sender.send(item).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
            }
        }
    };
    // A panic inside the engine fails the query; it must never end the
    // stream as if every row had been sent.
    query_runtime().spawn(async move {
        if let Err(panic) = std::panic::AssertUnwindSafe(produce).catch_unwind().await {
            let _ = on_panic.send(Err(panicked(panic.as_ref()).into_datafusion())).await;
        }
    });
    // Fused: a cursor may be fetched from again after its last row.
    let batches = futures::stream::unfold((receiver, abandoned), |(mut r, abandoned)| async move {
        r.recv().await.map(|item| (item, (r, abandoned)))
    })
    .fuse();
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

/// The error for a query whose execution panicked (a bug in glaux or
/// DataFusion), with the panic's message.
fn panicked(payload: &(dyn std::any::Any + Send)) -> crate::error::Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    crate::error::Error::internal(format!("the query failed inside the engine: {what}"))
}

/// `stream` followed by one more row of text columns (EXPLAIN's scan
/// estimate).
pub fn then_row(stream: SendableRecordBatchStream, row: Vec<String>) -> SendableRecordBatchStream {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    let schema = stream.schema();
    let columns: Vec<ArrayRef> = row.into_iter().map(|v| Arc::new(StringArray::from(vec![v])) as ArrayRef).collect();
    let extra = datafusion::arrow::record_batch::RecordBatch::try_new(Arc::clone(&schema), columns)
        .map_err(datafusion::error::DataFusionError::from);
    Box::pin(RecordBatchStreamAdapter::new(schema, stream.chain(futures::stream::once(async move { extra }))))
}
