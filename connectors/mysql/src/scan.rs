//! A MySQL table read by glaux: the SELECT it sends (the columns read,
//! the filters glaux decided to send, written by DataFusion's unparser in
//! MySQL's dialect, and a LIMIT), run as a prepared statement so values
//! arrive in the binary protocol's types, by a task of its own that sends
//! the rows on as Arrow batches; each value converted exactly or the
//! query fails naming the column.

use crate::columns::{quote, Column, Kind};
use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int16Builder, Int32Builder, Int64Builder, RecordBatch, RecordBatchOptions, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::unparser::dialect::MySqlDialect;
use glaux_connector::{sql, values, Error, SqlState};
use mysql_async::prelude::Queryable;
use mysql_async::{Pool, Value};
use std::sync::Arc;

/// Rows per Arrow batch.
const BATCH_ROWS: usize = 8192;

/// A table of the server.
#[derive(Debug)]
pub struct MySqlTable {
    /// `` `schema`.`table` ``, or a passthrough query as a derived table.
    from: String,
    /// Whether `from` names a table.
    named: bool,
    columns: Vec<Column>,
    schema: SchemaRef,
    server: Server,
}

/// Where a table's rows come from: the catalog's pool of connections,
/// and the server's `host:port` for messages.
#[derive(Debug, Clone)]
pub struct Server {
    pub pool: Pool,
    pub host: Arc<str>,
}

impl MySqlTable {
    pub fn new(schema: &str, table: &str, columns: Vec<Column>, server: Server) -> Self {
        MySqlTable {
            named: true,
            ..MySqlTable::reading(format!("{}.{}", quote(schema), quote(table)), columns, server)
        }
    }

    /// The rows of a passthrough query, read as a derived table.
    pub fn query(sql: &str, columns: Vec<Column>, server: Server) -> Self {
        MySqlTable::reading(sql::passthrough_from(sql, glaux_connector::pushdown::Dialect::MySql), columns, server)
    }

    fn reading(from: String, columns: Vec<Column>, server: Server) -> Self {
        let arrow = Arc::new(Schema::new(columns.iter().map(Column::field).collect::<Vec<_>>()));
        MySqlTable { from, named: false, columns, schema: arrow, server }
    }
}

impl sql::Source for MySqlTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn plan(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let select: Vec<String> = projection.iter().map(|i| quote(&self.columns[*i].name)).collect();
        // MySQL needs at least one column; an empty projection reads a constant.
        let select = if select.is_empty() { "1".to_string() } else { select.join(", ") };
        let sql = sql::select(&select, &self.from, filters, limit, &MySqlDialect {})?;
        let schema = Arc::new(self.schema.project(projection)?);
        let columns = projection.iter().map(|i| self.columns[*i].clone()).collect();
        let reader = Arc::new(MySqlReader { columns, server: self.server.clone() });
        Ok(Arc::new(sql::SourceScan::new("MySqlScan", sql, schema, reader)))
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
        let reader = Arc::new(MySqlReader { columns, server: self.server.clone() });
        Ok(Arc::new(sql::SourceScan::new("MySqlScan", sql, schema, reader)))
    }
}

/// How a column of a SELECT glaux wrote is decoded: as the table's
/// column it reads, or as the type the SELECT cast its value to.
fn query_column(output: &sql::Output) -> Result<Column> {
    use datafusion::arrow::datatypes::DataType;
    let kind = match output {
        sql::Output::Column(table, index) => {
            return match table.as_any().downcast_ref::<MySqlTable>() {
                Some(table) => Ok(table.columns[*index].clone()),
                None => Err(DataFusionError::Internal("a query over MySQL names another source's table".into())),
            };
        }
        sql::Output::Value(DataType::Int64) => Kind::Int64,
        sql::Output::Value(DataType::Decimal128(precision, scale)) => {
            Kind::Decimal { precision: *precision, scale: *scale }
        }
        sql::Output::Value(other) => {
            return Err(DataFusionError::Internal(format!("MySQL values of type {other} are not read")));
        }
    };
    Ok(Column { name: "?column?".to_string(), kind })
}

/// Runs a SELECT on a pooled connection, in a task of its own.
#[derive(Debug)]
struct MySqlReader {
    columns: Vec<Column>,
    server: Server,
}

impl sql::Reader for MySqlReader {
    fn read(&self, sql: &str, schema: SchemaRef) -> Result<SendableRecordBatchStream> {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let (server, sql, columns) = (self.server.clone(), sql.to_string(), self.columns.clone());
        let batch_schema = Arc::clone(&schema);
        tokio::spawn(async move {
            if let Err(e) = read(&server, &sql, &columns, &batch_schema, &sender).await {
                let _ = sender.send(Err(e)).await;
            }
        });
        let batches = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|batch| (batch, receiver))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

impl Server {
    /// An error while a statement runs: a broken connection (the
    /// driver's I/O and protocol errors, a session killed, a server
    /// shutting down) or one not made is HV00N naming the server, refused
    /// credentials 28P01; anything else the server said is passed on as
    /// text (glaux makes it HV000 naming the table).
    fn error(&self, e: mysql_async::Error) -> DataFusionError {
        // ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED
        let lost = e.is_fatal() || matches!(&e, mysql_async::Error::Server(s) if s.code == 1053 || s.code == 1927);
        if lost {
            let message = format!("lost the connection to MySQL at {}: {e}", self.host);
            return Error::new(SqlState::FdwUnableToEstablishConnection, message).into_datafusion();
        }
        // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR (a password
        // changed since the catalog connected)
        if matches!(&e, mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1044) {
            let message = format!("MySQL at {} refused the credentials: {e}", self.host);
            return Error::new(SqlState::InvalidPassword, message).into_datafusion();
        }
        DataFusionError::Execution(e.to_string())
    }
}

/// Run `sql` and send its rows as batches. When the receiver is gone the
/// connection is closed rather than drained.
async fn read(
    server: &Server,
    sql: &str,
    columns: &[Column],
    schema: &SchemaRef,
    sender: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let mut conn = server.pool.get_conn().await.map_err(|e| server.error(e))?;
    let mut abandoned = false;
    {
        let mut result = conn.exec_iter(sql, ()).await.map_err(|e| server.error(e))?;
        let mut batch = Batch::new(columns);
        loop {
            // A reader gone while rows are awaited: stop now, not at the
            // next row, which a slow statement may take minutes to send.
            let row = tokio::select! {
                row = result.next() => row.map_err(|e| server.error(e))?,
                _ = sender.closed() => {
                    abandoned = true;
                    break;
                }
            };
            let end = row.is_none();
            if let Some(row) = row {
                for (i, (column, value)) in columns.iter().zip(row.unwrap()).enumerate() {
                    batch
                        .push(i, column, value)
                        .map_err(|why| DataFusionError::Execution(format!("column {} holds {why}", column.name)))?;
                }
                batch.rows += 1;
            }
            if batch.rows == BATCH_ROWS || (end && batch.rows > 0) {
                let done = std::mem::replace(&mut batch, Batch::new(columns));
                if sender.send(done.finish(schema)).await.is_err() {
                    abandoned = true;
                    break;
                }
            }
            if end {
                break;
            }
        }
    }
    if abandoned {
        let _ = conn.disconnect().await;
    }
    Ok(())
}

struct Batch {
    builders: Vec<Builder>,
    rows: usize,
}

enum Builder {
    Bool(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Decimal(Decimal128Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Batch {
    fn new(columns: &[Column]) -> Batch {
        let builders = columns
            .iter()
            .map(|c| match c.kind {
                Kind::Bool => Builder::Bool(BooleanBuilder::new()),
                Kind::Int16 => Builder::Int16(Int16Builder::new()),
                Kind::Int32 => Builder::Int32(Int32Builder::new()),
                Kind::Int64 => Builder::Int64(Int64Builder::new()),
                Kind::Decimal { precision, scale } => Builder::Decimal(
                    Decimal128Builder::new().with_precision_and_scale(precision, scale).unwrap_or_default(),
                ),
                Kind::Float32 => Builder::Float32(Float32Builder::new()),
                Kind::Float64 => Builder::Float64(Float64Builder::new()),
                Kind::Text | Kind::Json => Builder::Text(StringBuilder::new()),
                Kind::Binary => Builder::Binary(BinaryBuilder::new()),
                Kind::Date => Builder::Date(Date32Builder::new()),
                Kind::Time => Builder::Time(Time64MicrosecondBuilder::new()),
                Kind::Datetime => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
                Kind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            })
            .collect();
        Batch { builders, rows: 0 }
    }

    /// Append `value` to column `i` as its type holds it, exactly.
    fn push(&mut self, i: usize, column: &Column, value: Value) -> std::result::Result<(), String> {
        let not = |v: &Value, of: &str| format!("{}, which is not {of}", v.as_sql(true));
        macro_rules! put {
            ($builder:expr, $convert:expr) => {
                match value {
                    Value::NULL => $builder.append_null(),
                    v => $builder.append_value($convert(v)?),
                }
            };
        }
        let int = |v: &Value| -> Option<i128> {
            match v {
                Value::Int(i) => Some(*i as i128),
                Value::UInt(u) => Some(*u as i128),
                _ => None,
            }
        };
        match (&mut self.builders[i], column.kind) {
            (Builder::Bool(b), _) => put!(b, |v: Value| match int(&v) {
                Some(0) => Ok(false),
                Some(1) => Ok(true),
                _ => Err(not(&v, "a boolean (0 or 1)")),
            }),
            (Builder::Int16(b), _) => {
                put!(b, |v: Value| int(&v).and_then(|i| i16::try_from(i).ok()).ok_or_else(|| not(&v, "a smallint")))
            }
            (Builder::Int32(b), _) => {
                put!(b, |v: Value| int(&v).and_then(|i| i32::try_from(i).ok()).ok_or_else(|| not(&v, "an integer")))
            }
            (Builder::Int64(b), _) => {
                put!(b, |v: Value| int(&v).and_then(|i| i64::try_from(i).ok()).ok_or_else(|| not(&v, "a bigint")))
            }
            (Builder::Decimal(b), Kind::Decimal { precision, scale }) => put!(b, |v: Value| match &v {
                Value::Bytes(text) => values::decimal(&String::from_utf8_lossy(text), precision, scale),
                Value::Int(_) | Value::UInt(_) => {
                    values::decimal(&int(&v).unwrap_or_default().to_string(), precision, scale)
                }
                _ => Err(not(&v, "a decimal")),
            }),
            (Builder::Float32(b), _) => put!(b, |v: Value| match v {
                Value::Float(f) => Ok(f),
                v => Err(not(&v, "a real")),
            }),
            (Builder::Float64(b), _) => put!(b, |v: Value| match v {
                Value::Double(f) => Ok(f),
                Value::Float(f) => Ok(f as f64),
                v => Err(not(&v, "a double")),
            }),
            (Builder::Text(b), _) => put!(b, |v: Value| match v {
                Value::Bytes(bytes) => String::from_utf8(bytes).map_err(|_| "text that is not UTF-8".to_string()),
                v => Err(not(&v, "text")),
            }),
            (Builder::Binary(b), _) => put!(b, |v: Value| match v {
                Value::Bytes(bytes) => Ok(bytes),
                v => Err(not(&v, "bytes")),
            }),
            (Builder::Date(b), _) => put!(b, |v: Value| match v {
                Value::Date(year, month, day, 0, 0, 0, 0) if month >= 1 && day >= 1 => {
                    Ok(values::days_from_civil(year as i64, month as u32, day as u32) as i32)
                }
                v => Err(not(&v, "a date")),
            }),
            (Builder::Time(b), _) => put!(b, |v: Value| match v {
                Value::Time(false, 0, h, m, s, us) => {
                    Ok(((h as i64 * 60 + m as i64) * 60 + s as i64) * 1_000_000 + us as i64)
                }
                v => Err(not(&v, "a time of day (from 00:00:00 to 23:59:59.999999)")),
            }),
            (Builder::Timestamp(b), _) => put!(b, |v: Value| match v {
                Value::Date(year, month, day, h, m, s, us) if month >= 1 && day >= 1 => {
                    let days = values::days_from_civil(year as i64, month as u32, day as u32);
                    Ok(((days * 24 + h as i64) * 60 + m as i64) * 60_000_000 + s as i64 * 1_000_000 + us as i64)
                }
                v => Err(not(&v, "a timestamp")),
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
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Int16(mut b) => Arc::new(b.finish()),
                    Builder::Int32(mut b) => Arc::new(b.finish()),
                    Builder::Int64(mut b) => Arc::new(b.finish()),
                    Builder::Decimal(mut b) => Arc::new(b.finish()),
                    Builder::Float32(mut b) => Arc::new(b.finish()),
                    Builder::Float64(mut b) => Arc::new(b.finish()),
                    Builder::Text(mut b) => Arc::new(b.finish()),
                    Builder::Binary(mut b) => Arc::new(b.finish()),
                    Builder::Date(mut b) => Arc::new(b.finish()),
                    Builder::Time(mut b) => Arc::new(b.finish()),
                    Builder::Timestamp(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        Ok(RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)?)
    }
}
