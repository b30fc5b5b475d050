//! Results to protocol messages: a record-batch stream becomes a stream of
//! DataRows (encoded as each batch arrives, so rows reach the client while
//! the query runs), and glaux errors become ErrorResponses with their
//! SQLSTATE, position and hint.

use crate::engine::{self, Output};
use crate::error::{Error, SqlState};
use crate::pgtypes;
use crate::pgtypes::copy::{CopyEncoder, CopyFormat};
use datafusion::execution::SendableRecordBatchStream;
use futures::stream::{self, BoxStream, StreamExt};
use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use pgwire::messages::data::DataRow;
use pgwire::messages::PgWireBackendMessage;
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
        Output::Done { tag } => {
            let text = Tag::new(&tag.to_string());
            Ok(match tag {
                engine::Tag::Begin => Response::TransactionStart(text),
                engine::Tag::End(_) => Response::TransactionEnd(text),
                engine::Tag::Done(_) | engine::Tag::Changed { .. } => Response::Execution(text),
            })
        }
        Output::Rows { schema, stream, tag } => {
            let encoding = pgtypes::WireEncoding::new(&schema, format).map_err(|e| user_error(&e))?;
            let fields = Arc::clone(&encoding.fields);
            let rows = data_rows(stream, encoding, cancel);
            let mut response = QueryResponse::new(fields, rows);
            response.set_command_tag(tag);
            Ok(Response::Query(response))
        }
        Output::Copy { .. } => Err(user_error(&Error::not_supported(
            "COPY ... TO STDOUT in the extended query protocol (send it as a simple query)",
        ))),
    }
}

/// Send COPY ... TO STDOUT: CopyOutResponse, one CopyData per row,
/// CopyDone and `COPY n`. An error while rows stream ends the copy with an
/// ErrorResponse (returned), as PostgreSQL does.
pub async fn send_copy<C>(
    client: &mut C,
    schema: &datafusion::arrow::datatypes::Schema,
    mut stream: SendableRecordBatchStream,
    format: CopyFormat,
    cancel: CancellationToken,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let code = format.code();
    let columns = schema.fields().len();
    let encoder = CopyEncoder::new(schema, format);
    let response = CopyOutResponse::new(code, columns as i16, vec![i16::from(code); columns]);
    client.feed(PgWireBackendMessage::CopyOutResponse(response)).await?;
    // The binary signature travels with the first row, as PostgreSQL sends
    // it (clients parse the first CopyData as header plus row).
    let mut start = encoder.start();
    let mut rows = 0usize;
    loop {
        let batch = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(user_error(&cancelled())),
            next = stream.next() => match next {
                Some(batch) => batch.map_err(|e| user_error(&Error::from(e)))?,
                None => break,
            },
        };
        for row in encoder.rows(&batch).map_err(|e| user_error(&e))? {
            let payload = match start.take() {
                Some(head) => [head, row].concat().into(),
                None => row,
            };
            client.feed(PgWireBackendMessage::CopyData(CopyData::new(payload))).await?;
            rows += 1;
        }
    }
    let end = [start.take(), encoder.finish()].into_iter().flatten().collect::<Vec<_>>().concat();
    if !end.is_empty() {
        client.feed(PgWireBackendMessage::CopyData(CopyData::new(end.into()))).await?;
    }
    client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
    client.feed(PgWireBackendMessage::CommandComplete(Tag::new("COPY").with_rows(rows).into())).await?;
    Ok(())
}

/// The DataRows of a result, encoded a batch at a time; ended with 57014
/// when the query is cancelled (checked as each batch is taken, so a
/// cancel stops the rows within one batch) and after a batch that failed.
/// A batch that cannot be encoded yields its error in place of its rows
/// (the sender stops at the first error).
fn data_rows(
    batches: SendableRecordBatchStream,
    mut encoding: pgtypes::WireEncoding,
    token: CancellationToken,
) -> BoxStream<'static, PgWireResult<DataRow>> {
    let batches = stream::unfold(Some(batches), move |state| {
        let token = token.clone();
        async move {
            let mut batches = state?;
            tokio::select! {
                biased;
                _ = token.cancelled() => Some((Err(cancelled()), None)),
                next = batches.next() => match next {
                    Some(Err(e)) => Some((Err(Error::from(e)), None)),
                    Some(Ok(batch)) => Some((Ok(batch), Some(batches))),
                    None => None,
                },
            }
        }
    });
    batches
        .flat_map(move |batch| -> BoxStream<'static, PgWireResult<DataRow>> {
            match batch.and_then(|b| encoding.encode(&b)) {
                Ok(rows) => stream::iter(rows.into_iter().map(Ok)).boxed(),
                Err(e) => stream::once(async move { Err(user_error(&e)) }).boxed(),
            }
        })
        .boxed()
}
