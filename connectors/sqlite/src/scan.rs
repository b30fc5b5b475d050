//! A SQLite table read by glaux: the SELECT it runs (the columns read,
//! the filters glaux decided to send, written by DataFusion's unparser in
//! SQLite's dialect, and a LIMIT), run on a blocking thread of its own,
//! whose rows become Arrow batches column type by column type
//! (`columns`), exactly or not at all. A reader dropped early (the query
//! cancelled, timed out or stopped by its cutoff) interrupts the
//! statement, even within one long step (an aggregate over a large
//! table yields no row until it is done).

use crate::columns::{quote, Column, Kind};
use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder,
    RecordBatch, RecordBatchOptions, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::unparser::dialect::SqliteDialect;
use glaux_connector::{sql, values, Error, SqlState};
use rusqlite::types::ValueRef;
use std::path::PathBuf;
use std::sync::Arc;

/// Rows per Arrow batch.
const BATCH_ROWS: usize = 8192;

/// A table of a SQLite file.
#[derive(Debug)]
pub struct SqliteTable {
    path: PathBuf,
    catalog: String,
    /// The table's quoted name, or a passthrough query as a derived
    /// table.
    from: String,
    /// Whether `from` names a table.
    named: bool,
    columns: Vec<Column>,
    schema: SchemaRef,
}

impl SqliteTable {
    pub fn new(path: PathBuf, catalog: String, table: &str, columns: Vec<Column>) -> Self {
        SqliteTable { named: true, ..SqliteTable::reading(path, catalog, quote(table), columns) }
    }

    /// The rows of a passthrough query, read as a derived table.
    pub fn query(path: PathBuf, catalog: String, sql: &str, columns: Vec<Column>) -> Self {
        SqliteTable::reading(
            path,
            catalog,
            sql::passthrough_from(sql, glaux_connector::pushdown::Dialect::Sqlite),
            columns,
        )
    }

    fn reading(path: PathBuf, catalog: String, from: String, columns: Vec<Column>) -> Self {
        let schema = Arc::new(Schema::new(columns.iter().map(Column::field).collect::<Vec<_>>()));
        SqliteTable { path, catalog, from, named: false, columns, schema }
    }

    fn sql(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<String> {
        let select: Vec<String> = projection.iter().map(|i| quote(&self.columns[*i].name)).collect();
        // SQLite needs at least one column; an empty projection reads a constant.
        let select = if select.is_empty() { "1".to_string() } else { select.join(", ") };
        sql::select(&select, &self.from, filters, limit, &SqliteDialect {})
    }
}

impl sql::Source for SqliteTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn plan(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let sql = self.sql(projection, filters, limit)?;
        let schema = Arc::new(self.schema.project(projection)?);
        let reader = Arc::new(SqliteReader {
            path: self.path.clone(),
            catalog: self.catalog.clone(),
            columns: projection.iter().map(|i| self.columns[*i].clone()).collect(),
        });
        Ok(Arc::new(sql::SourceScan::new("SqliteScan", sql, schema, reader)))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn relation(&self) -> Option<&str> {
        self.named.then_some(self.from.as_str())
    }

    fn select_column(&self, alias: &str, index: usize) -> String {
        format!("{alias}.{}", quote(&self.columns[index].name))
    }

    fn plan_query(&self, sql: String, outputs: &[sql::Output], schema: SchemaRef) -> Result<Arc<dyn ExecutionPlan>> {
        let columns = outputs.iter().map(query_column).collect::<Result<Vec<_>>>()?;
        let reader = Arc::new(SqliteReader { path: self.path.clone(), catalog: self.catalog.clone(), columns });
        Ok(Arc::new(sql::SourceScan::new("SqliteScan", sql, schema, reader)))
    }
}

/// How a column of a SELECT glaux wrote is decoded: as the table's
/// column it reads, or as the type of the value (a count or a sum of
/// integers, which SQLite keeps an integer).
fn query_column(output: &sql::Output) -> Result<Column> {
    use datafusion::arrow::datatypes::DataType;
    match output {
        sql::Output::Column(table, index) => match table.as_any().downcast_ref::<SqliteTable>() {
            Some(table) => Ok(table.columns[*index].clone()),
            None => Err(DataFusionError::Internal("a query over SQLite names another source's table".into())),
        },
        sql::Output::Value(DataType::Int64) => Ok(Column { name: "?column?".to_string(), kind: Kind::Int }),
        sql::Output::Value(other) => {
            Err(DataFusionError::Internal(format!("SQLite values of type {other} are not read")))
        }
    }
}

/// Runs a SELECT on the file, on a blocking thread of its own.
#[derive(Debug)]
struct SqliteReader {
    path: PathBuf,
    catalog: String,
    columns: Vec<Column>,
}

impl sql::Reader for SqliteReader {
    fn read(&self, sql: &str, schema: SchemaRef) -> Result<SendableRecordBatchStream> {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let (path, catalog, sql, columns) =
            (self.path.clone(), self.catalog.clone(), sql.to_string(), self.columns.clone());
        let batch_schema = Arc::clone(&schema);
        // Opened here (a file open, no statement yet) so the stream holds
        // the handle that interrupts it.
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = rusqlite::Connection::open_with_flags(&path, flags).map_err(|e| {
            let message = format!("catalog {catalog} cannot open SQLite file {}: {e}", path.display());
            Error::new(SqlState::FdwUnableToEstablishConnection, message).into_datafusion()
        })?;
        let interrupt = Interrupt(connection.get_interrupt_handle());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = read(&connection, &sql, &columns, &batch_schema, &sender) {
                let message = format!("catalog {catalog} (SQLite {}): {e}", path.display());
                let _ = sender.blocking_send(Err(DataFusionError::Execution(message)));
            }
        });
        let batches = futures::stream::unfold((receiver, interrupt), |(mut receiver, interrupt)| async move {
            receiver.recv().await.map(|batch| (batch, (receiver, interrupt)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

/// Interrupts the statement of its connection when dropped (nothing when
/// the statement is done or the connection closed).
struct Interrupt(rusqlite::InterruptHandle);

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.0.interrupt();
    }
}

/// Run `sql` and send its rows as batches; stops when the receiver is gone.
fn read(
    connection: &rusqlite::Connection,
    sql: &str,
    columns: &[Column],
    schema: &SchemaRef,
    sender: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> std::result::Result<(), String> {
    let mut statement = connection.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = statement.query([]).map_err(|e| e.to_string())?;
    let mut batch = Batch::new(columns);
    loop {
        let row = rows.next().map_err(|e| e.to_string())?;
        if let Some(row) = row {
            for (i, column) in columns.iter().enumerate() {
                let value = row.get_ref(i).map_err(|e| e.to_string())?;
                batch.push(i, column, value).map_err(|why| format!("column {} holds {why}", column.name))?;
            }
            batch.rows += 1;
        }
        if batch.rows == BATCH_ROWS || (row.is_none() && batch.rows > 0) {
            let done = std::mem::replace(&mut batch, Batch::new(columns));
            if sender.blocking_send(done.finish(schema)).is_err() {
                return Ok(());
            }
        }
        if row.is_none() {
            return Ok(());
        }
    }
}

/// One batch being built: a builder per column.
struct Batch {
    builders: Vec<Builder>,
    rows: usize,
}

enum Builder {
    Int(Int64Builder),
    Text(StringBuilder),
    Blob(BinaryBuilder),
    Real(Float64Builder),
    Decimal(Decimal128Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Batch {
    fn new(columns: &[Column]) -> Batch {
        let builders = columns
            .iter()
            .map(|c| match c.kind {
                Kind::Int => Builder::Int(Int64Builder::new()),
                Kind::Text | Kind::Any => Builder::Text(StringBuilder::new()),
                Kind::Blob => Builder::Blob(BinaryBuilder::new()),
                Kind::Real => Builder::Real(Float64Builder::new()),
                Kind::Decimal { precision, scale } => Builder::Decimal(
                    Decimal128Builder::new().with_precision_and_scale(precision, scale).unwrap_or_default(),
                ),
                Kind::Bool => Builder::Bool(BooleanBuilder::new()),
                Kind::Date => Builder::Date(Date32Builder::new()),
                Kind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            })
            .collect();
        Batch { builders, rows: 0 }
    }

    /// Append `value` to column `i`, exactly as the column's type holds it.
    fn push(&mut self, i: usize, column: &Column, value: ValueRef) -> std::result::Result<(), String> {
        let what = |v: &ValueRef| match v {
            ValueRef::Null => "NULL".to_string(),
            ValueRef::Integer(i) => format!("the integer {i}"),
            ValueRef::Real(r) => format!("the real {r:?}"),
            ValueRef::Text(_) => "text".to_string(),
            ValueRef::Blob(_) => "a blob".to_string(),
        };
        let not = |v: &ValueRef, of: &str| format!("{}, which is not {of}", what(v));
        macro_rules! put {
            ($builder:expr, $convert:expr) => {
                match value {
                    ValueRef::Null => $builder.append_null(),
                    v => $builder.append_value($convert(v)?),
                }
            };
        }
        match (&mut self.builders[i], column.kind) {
            (Builder::Int(b), _) => put!(b, |v| match v {
                ValueRef::Integer(i) => Ok(i),
                v => Err(not(&v, "an integer")),
            }),
            (Builder::Text(b), Kind::Any) => put!(b, |v| match v {
                ValueRef::Text(t) => text(t),
                ValueRef::Integer(i) => Ok(i.to_string()),
                ValueRef::Real(r) => Ok(format!("{r:?}")),
                v => Err(not(&v, "text or a number")),
            }),
            (Builder::Text(b), _) => put!(b, |v| match v {
                ValueRef::Text(t) => text(t),
                v => Err(not(&v, "text")),
            }),
            (Builder::Blob(b), _) => put!(b, |v| match v {
                ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
                v => Err(not(&v, "a blob")),
            }),
            (Builder::Real(b), _) => put!(b, |v| match v {
                ValueRef::Real(r) => Ok(r),
                ValueRef::Integer(i) if (i as f64) as i64 == i => Ok(i as f64),
                v => Err(not(&v, "a double precision value")),
            }),
            (Builder::Decimal(b), Kind::Decimal { precision, scale }) => put!(b, |v| match v {
                ValueRef::Integer(i) => values::decimal(&i.to_string(), precision, scale),
                ValueRef::Real(r) => values::decimal(&format!("{r:?}"), precision, scale),
                ValueRef::Text(t) => values::decimal(&text(t)?, precision, scale),
                v => Err(not(&v, "a number")),
            }),
            (Builder::Bool(b), _) => put!(b, |v| match v {
                ValueRef::Integer(0) => Ok(false),
                ValueRef::Integer(1) => Ok(true),
                v => Err(not(&v, "a boolean (0 or 1)")),
            }),
            (Builder::Date(b), _) => put!(b, |v| match v {
                ValueRef::Text(t) => date(&text(t)?).ok_or_else(|| format!("{:?}, which is not a date", text(t))),
                v => Err(not(&v, "a date (YYYY-MM-DD)")),
            }),
            (Builder::Timestamp(b), _) => put!(b, |v| match v {
                ValueRef::Text(t) => {
                    timestamp(&text(t)?).ok_or_else(|| format!("{:?}, which is not a timestamp", text(t)))
                }
                v => Err(not(&v, "a timestamp (YYYY-MM-DD HH:MM:SS)")),
            }),
            (Builder::Decimal(_), _) => return Err("a value of another type".to_string()),
        }
        Ok(())
    }

    fn finish(self, schema: &SchemaRef) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .into_iter()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Int(mut b) => Arc::new(b.finish()),
                    Builder::Text(mut b) => Arc::new(b.finish()),
                    Builder::Blob(mut b) => Arc::new(b.finish()),
                    Builder::Real(mut b) => Arc::new(b.finish()),
                    Builder::Decimal(mut b) => Arc::new(b.finish()),
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Date(mut b) => Arc::new(b.finish()),
                    Builder::Timestamp(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        Ok(RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)?)
    }
}

fn text(bytes: &[u8]) -> std::result::Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "text that is not UTF-8".to_string())
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn date(text: &str) -> Option<i32> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if text.len() != 10 || !(1..=12).contains(&month) || day < 1 || day > values::days_in_month(year, month) {
        return None;
    }
    i32::try_from(values::days_from_civil(year, month, day)).ok()
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with `T`) as microseconds since 1970.
fn timestamp(text: &str) -> Option<i64> {
    let (day, time) = text.split_at_checked(10)?;
    let days = date(day)? as i64;
    let time = time.strip_prefix([' ', 'T'])?;
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = clock.split(':');
    let hour: i64 = parts.next()?.parse().ok()?;
    let minute: i64 = parts.next()?.parse().ok()?;
    let second: i64 = parts.next().unwrap_or("0").parse().ok()?;
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 || fraction.len() > 6 {
        return None;
    }
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let micros: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<6}").parse().ok()? };
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
}
