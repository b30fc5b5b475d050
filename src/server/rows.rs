//! Results to protocol messages: a record-batch stream becomes a stream of
//! DataRows (encoded as each batch arrives, so rows reach the client while
//! the query runs), and glaux errors become ErrorResponses with their
//! SQLSTATE, position and hint.

use crate::engine::Output;
use crate::error::{Error, SqlState};
use crate::pgtypes;
use datafusion::execution::SendableRecordBatchStream;
use futures::stream::{self, BoxStream, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The ErrorResponse fields for a glaux error.
pub fn error_info(e: &Error) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".to_string(), e.sqlstate().code().to_string(), e.to_string());
    info.position = e.position().map(|p| p.to_string());
    info.hint = e.hint().map(str::to_string);
    info
}

pub fn user_error(e: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

pub fn cancelled() -> Error {
    Error::new(SqlState::QueryCanceled, "canceling statement due to user request")
}

/// The protocol response for a statement's output.
pub fn response(output: Output, format: &Format, cancel: CancellationToken) -> PgWireResult<Response> {
    match output {
        Output::Done { tag } => Ok(match tag.as_str() {
            "BEGIN" => Response::TransactionStart(Tag::new(&tag)),
            "COMMIT" | "ROLLBACK" => Response::TransactionEnd(Tag::new(&tag)),
            _ => Response::Execution(Tag::new(&tag)),
        }),
        Output::Rows { schema, stream, tag } => {
            let encoding = pgtypes::WireEncoding::new(&schema, format).map_err(|e| user_error(&e))?;
            let fields = Arc::clone(&encoding.fields);
            let rows = data_rows(stream, encoding);
            let mut response = QueryResponse::new(fields, cancellable(rows, cancel));
            response.set_command_tag(tag);
            Ok(Response::Query(response))
        }
    }
}

fn data_rows(batches: SendableRecordBatchStream, encoding: pgtypes::WireEncoding) -> BoxStream<'static, PgWireResult<DataRow>> {
    batches
        .flat_map(move |batch| -> BoxStream<'static, PgWireResult<DataRow>> {
            match batch.map_err(Error::from).and_then(|b| encoding.encode(&b)) {
                Ok(rows) => stream::iter(rows.into_iter().map(Ok)).boxed(),
                Err(e) => stream::once(async move { Err(user_error(&e)) }).boxed(),
            }
        })
        .boxed()
}

/// End the stream with 57014 when the query is cancelled; stop after the
/// first error.
fn cancellable(
    rows: BoxStream<'static, PgWireResult<DataRow>>,
    token: CancellationToken,
) -> BoxStream<'static, PgWireResult<DataRow>> {
    stream::unfold(Some(rows), move |state| {
        let token = token.clone();
        async move {
            let mut rows = state?;
            tokio::select! {
                biased;
                _ = token.cancelled() => Some((Err(user_error(&cancelled())), None)),
                next = rows.next() => match next {
                    Some(Err(e)) => Some((Err(e), None)),
                    Some(ok) => Some((ok, Some(rows))),
                    None => None,
                },
            }
        }
    })
    .boxed()
}
