//! Wrappers of result streams: noticing an error that arrives while rows
//! stream (it fails the open transaction block, as any error does).

use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
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
