//! A PostgreSQL table read by glaux: the SQL it sends (the columns read,
//! the filters glaux decided to send, written by DataFusion's unparser in
//! PostgreSQL's dialect, and a LIMIT), and the rows that come back in
//! PostgreSQL's binary format, decoded by `decode` into Arrow batches.
//!
//! Which filters are offered here is glaux's decision (its pushdown
//! rules, applied where glaux wraps this table); this table takes every
//! filter it is given as Exact and sends each one, or fails planning.

use crate::columns::{quote, Column, Kind};
use crate::decode;
use datafusion::arrow::array::{ArrayBuilder, ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::unparser::dialect::PostgreSqlDialect;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::postgresconn::PostgresConnection;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;
use datafusion_table_providers::sql::db_connection_pool::DbConnectionPool;
use futures::{FutureExt, StreamExt};
use glaux_connector::error::{Error, SqlState};
use glaux_connector::sql;
use std::sync::Arc;

/// Rows per Arrow batch.
const BATCH_ROWS: usize = 8192;

/// `schema.table` at the source, with the columns glaux reads.
#[derive(Debug)]
pub struct PostgresTable {
    /// `"schema"."table"`, quoted, or a passthrough query as a derived
    /// table.
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
    pub pool: Arc<PostgresConnectionPool>,
    pub host: Arc<str>,
}

impl PostgresTable {
    pub fn new(schema: &str, table: &str, columns: Vec<Column>, server: Server) -> Self {
        PostgresTable {
            named: true,
            ..PostgresTable::reading(format!("{}.{}", quote(schema), quote(table)), columns, server)
        }
    }

    /// The rows of a passthrough query, read as a derived table.
    pub fn query(sql: &str, columns: Vec<Column>, server: Server) -> Self {
        PostgresTable::reading(
            sql::passthrough_from(sql, glaux_connector::pushdown::Dialect::Postgres),
            columns,
            server,
        )
    }

    fn reading(from: String, columns: Vec<Column>, server: Server) -> Self {
        let fields: Vec<_> = columns.iter().map(Column::field).collect();
        PostgresTable { from, named: false, schema: Arc::new(Schema::new(fields)), columns, server }
    }

    /// The SELECT that reads `projection` of the rows passing `filters`
    /// (no column at all for none: PostgreSQL allows an empty list).
    fn sql(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<String> {
        let select: Vec<String> = projection.iter().map(|i| self.columns[*i].select()).collect();
        sql::select(&select.join(", "), &self.from, filters, limit, &PostgreSqlDialect {})
    }
}

impl sql::Source for PostgresTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn plan(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let sql = self.sql(projection, filters, limit)?;
        let columns: Vec<Column> = projection.iter().map(|i| self.columns[*i].clone()).collect();
        let schema = Arc::new(self.schema.project(projection)?);
        let reader = Arc::new(PostgresReader { columns, server: self.server.clone() });
        Ok(Arc::new(sql::SourceScan::new("PostgresScan", sql, schema, reader)))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn relation(&self) -> Option<&str> {
        self.named.then_some(self.from.as_str())
    }

    fn select_column(&self, alias: &str, index: usize) -> String {
        let column = &self.columns[index];
        column.expression(&format!("{alias}.{}", quote(&column.name)))
    }

    fn plan_query(&self, sql: String, outputs: &[sql::Output], schema: SchemaRef) -> Result<Arc<dyn ExecutionPlan>> {
        let columns = outputs.iter().map(query_column).collect::<Result<Vec<_>>>()?;
        let reader = Arc::new(PostgresReader { columns, server: self.server.clone() });
        Ok(Arc::new(sql::SourceScan::new("PostgresScan", sql, schema, reader)))
    }
}

/// How a column of a SELECT glaux wrote is decoded: as the table's
/// column it reads, or as the type the SELECT cast its value to.
fn query_column(output: &sql::Output) -> Result<Column> {
    use datafusion::arrow::datatypes::DataType;
    let kind = match output {
        sql::Output::Column(table, index) => {
            return match table.as_any().downcast_ref::<PostgresTable>() {
                Some(table) => Ok(table.columns[*index].clone()),
                None => Err(DataFusionError::Internal("a query over PostgreSQL names another source's table".into())),
            };
        }
        sql::Output::Value(DataType::Int64) => Kind::Int8,
        sql::Output::Value(DataType::Decimal128(precision, scale)) => {
            Kind::Numeric { precision: *precision, scale: *scale }
        }
        sql::Output::Value(other) => {
            return Err(DataFusionError::Internal(format!("PostgreSQL values of type {other} are not read")));
        }
    };
    Ok(Column { name: "?column?".to_string(), kind, as_text: false, declared: None })
}

impl Server {
    /// The error of a connection the pool could not give (HV00N).
    fn unreachable(&self, e: &dyn std::fmt::Display) -> DataFusionError {
        let message = format!("cannot connect to PostgreSQL at {}: {}", self.host, crate::one_line(e));
        Error::new(SqlState::FdwUnableToEstablishConnection, message).into_datafusion()
    }
}

/// An error while a statement runs: a connection that broke or that the
/// server ended (a closed socket, class 08, or the session terminated by
/// an administrator, a crash or a shutdown: 57P01-57P03) is HV00N naming
/// the server; anything else the source said is passed on as text (glaux
/// makes it HV000 naming the table).
fn read_error(host: &str, e: tokio_postgres::Error) -> DataFusionError {
    let code = e.code().map(|c| c.code());
    let lost = e.is_closed()
        || code.is_some_and(|c| c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03"))
        || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if lost {
        let message = format!("lost the connection to PostgreSQL at {host}: {}", crate::one_line(&e));
        return Error::new(SqlState::FdwUnableToEstablishConnection, message).into_datafusion();
    }
    DataFusionError::Execution(e.to_string())
}

/// Runs a SELECT at the source and decodes its rows.
#[derive(Debug)]
struct PostgresReader {
    columns: Vec<Column>,
    server: Server,
}

impl sql::Reader for PostgresReader {
    fn read(&self, sql: &str, schema: SchemaRef) -> Result<SendableRecordBatchStream> {
        let (server, sql, columns) = (self.server.clone(), sql.to_string(), self.columns.clone());
        let stream_schema = Arc::clone(&schema);
        let host = Arc::clone(&self.server.host);
        let batches = futures::stream::once(async move {
            let connection = server.pool.connect().await.map_err(|e| server.unreachable(&e))?;
            let (rows, cancel) = {
                let Some(pg) = connection.as_any().downcast_ref::<PostgresConnection>() else {
                    return Err(DataFusionError::Execution("the pool gave a connection of another kind".into()));
                };
                // Armed before the statement starts: its first answer may
                // come only with its first rows, long after.
                let cancel = Cancel(Some(pg.conn.cancel_token()));
                (pg.conn.query_raw(sql.as_str(), std::iter::empty::<i32>()).await, cancel)
            };
            let rows = rows.map_err(|e| read_error(&server.host, e))?;
            // The connection stays with the rows, so the pool does not
            // hand it out while they are still arriving.
            let reading = Reading { rows: Box::pin(rows), cancel, _connection: connection };
            let chunks = futures::stream::unfold(reading, |mut reading| async move {
                // The rows that have arrived, up to BATCH_ROWS: a slow
                // source's first rows are not held back for more.
                // The rows ended (the stream must not be polled again).
                reading.cancel.0.as_ref()?;
                let mut chunk = Vec::new();
                while chunk.len() < BATCH_ROWS {
                    let next = if chunk.is_empty() {
                        reading.rows.next().await
                    } else {
                        match reading.rows.next().now_or_never() {
                            Some(next) => next,
                            None => break,
                        }
                    };
                    match next {
                        Some(row) => chunk.push(row),
                        None => {
                            reading.cancel.0 = None;
                            break;
                        }
                    }
                }
                (!chunk.is_empty()).then_some((chunk, reading))
            })
            .map(move |chunk| {
                let rows = chunk.into_iter().collect::<std::result::Result<Vec<_>, _>>();
                let rows = rows.map_err(|e| read_error(&host, e))?;
                to_batch(&rows, &columns, &schema)
            });
            Ok(chunks)
        })
        .map(|made| match made {
            Ok(chunks) => chunks.boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(stream_schema, batches)))
    }
}

/// A query's rows being read on a pooled connection.
struct Reading<C> {
    rows: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    /// Dropped before the connection.
    cancel: Cancel,
    _connection: C,
}

/// Cancels a statement at the source when dropped while it may still
/// run (a LIMIT met, the query cancelled or timed out, the client gone),
/// as the source would otherwise go on producing rows nobody reads.
/// Emptied once the last row has arrived.
struct Cancel(Option<tokio_postgres::CancelToken>);

impl Drop for Cancel {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = token.cancel_query(tokio_postgres::NoTls).await;
                });
            }
        }
    }
}

/// Rows as one batch of `schema`.
fn to_batch(rows: &[tokio_postgres::Row], columns: &[Column], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut builders: Vec<Box<dyn ArrayBuilder>> =
        columns.iter().map(|c| decode::builder(&c.kind, rows.len())).collect();
    for row in rows {
        for (i, (column, builder)) in columns.iter().zip(builders.iter_mut()).enumerate() {
            let raw: Option<Raw> = row.try_get(i).map_err(|e| DataFusionError::Execution(e.to_string()))?;
            decode::append(builder.as_mut(), &column.kind, raw.as_ref().map(|r| r.0))
                .map_err(|why| DataFusionError::Execution(format!("column {} holds {why}", column.name)))?;
        }
    }
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)?)
}

/// A value's bytes as the server sent them, whatever its type.
struct Raw<'a>(&'a [u8]);

impl<'a> postgres_types::FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &postgres_types::Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &postgres_types::Type) -> bool {
        true
    }
}
