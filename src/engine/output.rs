//! What a statement produces ([`Output`]) and its command tag ([`Tag`]),
//! as the frontends (server, shell) receive them.

use crate::error::Result;
use crate::pgtypes::copy::CopyFormat;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::memory::MemoryStream;
use std::sync::Arc;

/// What a statement produced.
pub enum Output {
    /// Rows, streamed. `tag` is the command tag's verb ("SELECT", "SHOW");
    /// the frontend appends the number of rows it sent.
    Rows { schema: SchemaRef, stream: SendableRecordBatchStream, tag: &'static str },
    /// A command that returns no rows, with its command tag.
    Done { tag: Tag },
    /// COPY ... TO STDOUT: rows to send as COPY data in `format`.
    Copy { schema: SchemaRef, stream: SendableRecordBatchStream, format: CopyFormat },
}

impl Output {
    /// A command that completed with `tag` and no rows.
    pub fn done(verb: &'static str) -> Output {
        Output::Done { tag: Tag::Done(verb) }
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Rows { schema, tag, .. } => write!(f, "Rows({tag}, {} columns)", schema.fields().len()),
            Output::Done { tag } => write!(f, "Done({tag})"),
            Output::Copy { format, .. } => write!(f, "Copy({:?})", format.kind),
        }
    }
}

/// A command tag, as PostgreSQL writes it in CommandComplete. Typed, so a
/// frontend decides by its variant (a transaction starting or ending),
/// never by its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// A command that reports no row count: `CREATE TABLE`, `SET`.
    Done(&'static str),
    /// BEGIN or START TRANSACTION: a transaction block starts.
    Begin,
    /// COMMIT or ROLLBACK: the block ends. The verb is what PostgreSQL
    /// reports (`ROLLBACK` for a COMMIT of a failed block).
    End(&'static str),
    /// A data-changing statement and the rows it changed: `INSERT 0 n`,
    /// `DELETE n`, `UPDATE n`, `MERGE n`, and `SELECT n` for CREATE TABLE
    /// AS.
    Changed { verb: Changed, rows: u64 },
}

/// The statements whose tag counts changed rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Insert,
    Delete,
    Update,
    Merge,
    CreateTableAs,
    /// UNLOAD's rows written (`UNLOAD n`).
    Unload,
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tag::Done(verb) | Tag::End(verb) => f.write_str(verb),
            Tag::Begin => f.write_str("BEGIN"),
            // The 0 is the OID PostgreSQL once reported for one-row inserts.
            Tag::Changed { verb: Changed::Insert, rows } => write!(f, "INSERT 0 {rows}"),
            Tag::Changed { verb: Changed::Delete, rows } => write!(f, "DELETE {rows}"),
            Tag::Changed { verb: Changed::Update, rows } => write!(f, "UPDATE {rows}"),
            Tag::Changed { verb: Changed::Merge, rows } => write!(f, "MERGE {rows}"),
            Tag::Changed { verb: Changed::CreateTableAs, rows } => write!(f, "SELECT {rows}"),
            Tag::Changed { verb: Changed::Unload, rows } => write!(f, "UNLOAD {rows}"),
        }
    }
}

/// An empty schema, for commands that return no rows.
pub(crate) fn no_columns() -> SchemaRef {
    Arc::new(Schema::empty())
}

/// A schema of nullable text columns named `names`.
pub(crate) fn utf8_schema(names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>()))
}

/// One batch of `columns` as rows tagged `tag`.
pub(crate) fn tagged_rows(schema: SchemaRef, columns: Vec<ArrayRef>, tag: &'static str) -> Result<Output> {
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(datafusion::error::DataFusionError::from)?;
    let stream = MemoryStream::try_new(vec![batch], Arc::clone(&schema), None)?;
    Ok(Output::Rows { schema, stream: Box::pin(stream), tag })
}

/// The rows of a glaux command that answers with text columns (a
/// column of `String` or of `Option<String>` each).
pub(crate) fn text_rows<T>(schema: SchemaRef, columns: Vec<Vec<T>>, tag: &'static str) -> Result<Output>
where
    StringArray: From<Vec<T>>,
{
    tagged_rows(schema, columns.into_iter().map(|c| Arc::new(StringArray::from(c)) as ArrayRef).collect(), tag)
}
