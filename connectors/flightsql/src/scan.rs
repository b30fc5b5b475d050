//! A Flight SQL table read by glaux: the SELECT it sends (the columns
//! read, the filters glaux decided to send, written by DataFusion's
//! unparser in standard SQL, and a LIMIT) as a Flight SQL statement, and
//! the batches of its endpoints, each column checked to be of the type
//! the server described (a server that sends another type fails the
//! query, naming the column, rather than being converted loosely).

use crate::client::Client;
use crate::quote;
use arrow_flight::error::FlightError;
use arrow_flight::sql::CommandStatementQuery;
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use futures::{StreamExt, TryStreamExt};
use glaux_connector::pushdown::Dialect;
use glaux_connector::{sql, Error};
use std::sync::Arc;

/// A table of the server (or a passthrough query).
#[derive(Debug)]
pub struct FlightSqlTable {
    /// `"schema"."table"`, or a passthrough query as a derived table.
    from: String,
    /// Whether `from` names a table.
    named: bool,
    schema: SchemaRef,
    client: Client,
}

impl FlightSqlTable {
    pub fn new(from: String, named: bool, fields: Vec<Field>, client: Client) -> Self {
        FlightSqlTable { from, named, schema: Arc::new(Schema::new(fields)), client }
    }
}

impl sql::Source for FlightSqlTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn plan(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let select: Vec<String> = projection.iter().map(|i| quote(self.schema.field(*i).name())).collect();
        // A SELECT needs a column; an empty projection reads a constant.
        let select = if select.is_empty() { "1".to_string() } else { select.join(", ") };
        let dialect = sql::unparser_dialect(Dialect::FlightSql);
        let sql = sql::select(&select, &self.from, filters, limit, dialect)?;
        let schema = Arc::new(self.schema.project(projection)?);
        Ok(Arc::new(sql::SourceScan::new("FlightSqlScan", sql, schema, Arc::new(self.reader()))))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn relation(&self) -> Option<&str> {
        self.named.then_some(self.from.as_str())
    }

    fn select_column(&self, alias: &str, index: usize) -> String {
        format!("{alias}.{}", quote(self.schema.field(index).name()))
    }

    /// The columns arrive in Arrow: each is checked against `schema`.
    fn plan_query(&self, sql: String, _outputs: &[sql::Output], schema: SchemaRef) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(sql::SourceScan::new("FlightSqlScan", sql, schema, Arc::new(self.reader()))))
    }
}

impl FlightSqlTable {
    fn reader(&self) -> FlightSqlReader {
        FlightSqlReader { client: self.client.clone() }
    }
}

/// Runs a statement on the server and reads its endpoints' batches.
#[derive(Debug)]
struct FlightSqlReader {
    client: Client,
}

impl sql::Reader for FlightSqlReader {
    fn read(&self, sql: &str, schema: SchemaRef) -> Result<SendableRecordBatchStream> {
        let (client, sql) = (self.client.clone(), sql.to_string());
        let expected = Arc::clone(&schema);
        let batches = futures::stream::once(async move {
            let statement = CommandStatementQuery { query: sql, transaction_id: None };
            let info = client.info(&statement).await.map_err(|s| status_error(&client.url, &s))?;
            let elsewhere = info.endpoint.iter().flat_map(|e| &e.location).find(|l| !l.uri.starts_with(REUSE));
            if let Some(location) = elsewhere {
                return Err(DataFusionError::Execution(format!(
                    "the server sends rows from another location ({}), which glaux does not follow yet",
                    location.uri
                )));
            }
            let url = Arc::clone(&client.url);
            Ok(client.rows(info).map_err(move |e| match e {
                FlightError::Tonic(status) => status_error(&url, &status),
                other => DataFusionError::Execution(format!("reading rows: {other}")),
            }))
        })
        .try_flatten()
        .map(move |batch| conform(batch?, &expected));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

/// A server's refusal while a statement runs, with its SQLSTATE
/// (`client::classify`), naming the server.
fn status_error(url: &str, status: &tonic::Status) -> DataFusionError {
    let (state, what) = crate::client::classify(status);
    Error::new(state, format!("Flight SQL at {url} {what}: {}", status.message())).into_datafusion()
}

/// The location that means "this same server".
const REUSE: &str = "arrow-flight-reuse-connection:";

/// `batch` as a batch of `schema`: the same number of columns, each of
/// its expected type.
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    if schema.fields().is_empty() {
        return Ok(RecordBatch::try_new_with_options(Arc::clone(schema), vec![], &options)?);
    }
    if batch.num_columns() != schema.fields().len() {
        return Err(DataFusionError::Execution(format!(
            "the server sent {} columns, not the {} asked for",
            batch.num_columns(),
            schema.fields().len()
        )));
    }
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if field.data_type() != column.data_type() {
            return Err(DataFusionError::Execution(format!(
                "column {} arrived as {}, not as {}, the type the server described",
                field.name(),
                column.data_type(),
                field.data_type()
            )));
        }
    }
    Ok(RecordBatch::try_new_with_options(Arc::clone(schema), batch.columns().to_vec(), &options)?)
}
