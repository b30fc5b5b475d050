//! A PostgreSQL table read by glaux: the SQL it sends (the columns read,
//! the filters glaux decided to send, written by DataFusion's unparser in
//! PostgreSQL's dialect, and a LIMIT), and the rows that come back in
//! PostgreSQL's binary format, decoded by `decode` into Arrow batches.
//!
//! Which filters are offered here is glaux's decision (its pushdown
//! rules, applied where glaux wraps this table); this table takes every
//! filter it is given as Exact and sends each one, or fails planning.

use crate::columns::{quote, Column};
use crate::decode;
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayBuilder, ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column as ColumnRef, Result};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::sql::unparser::dialect::PostgreSqlDialect;
use datafusion::sql::unparser::Unparser;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::postgresconn::PostgresConnection;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;
use datafusion_table_providers::sql::db_connection_pool::DbConnectionPool;
use futures::StreamExt;
use std::any::Any;
use std::sync::Arc;

/// Rows per Arrow batch.
const BATCH_ROWS: usize = 8192;

/// `schema.table` at the source, with the columns glaux reads.
#[derive(Debug)]
pub struct PostgresTable {
    /// `"schema"."table"`, quoted.
    from: String,
    columns: Vec<Column>,
    schema: SchemaRef,
    pool: Arc<PostgresConnectionPool>,
}

impl PostgresTable {
    pub fn new(schema: &str, table: &str, columns: Vec<Column>, pool: Arc<PostgresConnectionPool>) -> Self {
        let fields: Vec<_> = columns.iter().map(Column::field).collect();
        let from = format!("{}.{}", quote(schema), quote(table));
        PostgresTable { from, schema: Arc::new(Schema::new(fields)), columns, pool }
    }

    /// The SELECT that reads `projection` of the rows passing `filters`.
    fn sql(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<String> {
        let select: Vec<String> = projection.iter().map(|i| self.columns[*i].select()).collect();
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), self.from);
        let unparser = Unparser::new(&PostgreSqlDialect {});
        let mut conditions = Vec::new();
        for filter in filters {
            // Columns by their name alone: the source knows no glaux names.
            let filter = filter.clone().transform(|e| match e {
                Expr::Column(c) => Ok(Transformed::yes(Expr::Column(ColumnRef::new_unqualified(c.name)))),
                other => Ok(Transformed::no(other)),
            })?;
            conditions.push(format!("({})", unparser.expr_to_sql(&filter.data)?));
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        if let Some(limit) = limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(sql)
    }
}

#[async_trait]
impl TableProvider for PostgresTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Exact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.columns.len()).collect(),
        };
        let sql = self.sql(&projection, filters, limit)?;
        let columns: Vec<Column> = projection.iter().map(|i| self.columns[*i].clone()).collect();
        let schema = Arc::new(self.schema.project(&projection)?);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(PostgresScan { sql, columns, schema, pool: Arc::clone(&self.pool), properties }))
    }
}

/// Runs one SELECT at the source and decodes its rows.
#[derive(Debug)]
pub struct PostgresScan {
    sql: String,
    columns: Vec<Column>,
    schema: SchemaRef,
    pool: Arc<PostgresConnectionPool>,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for PostgresScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "sql={}", self.sql)
    }
}

impl ExecutionPlan for PostgresScan {
    fn name(&self) -> &str {
        "PostgresScan"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, _partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let (pool, sql, columns, schema) =
            (Arc::clone(&self.pool), self.sql.clone(), self.columns.clone(), Arc::clone(&self.schema));
        let batches = futures::stream::once(async move {
            let connection = pool.connect().await.map_err(|e| DataFusionError::Execution(e.to_string()))?;
            let rows = {
                let Some(pg) = connection.as_any().downcast_ref::<PostgresConnection>() else {
                    return Err(DataFusionError::Execution("the pool gave a connection of another kind".into()));
                };
                pg.conn.query_raw(sql.as_str(), std::iter::empty::<i32>()).await
            };
            let rows = rows.map_err(|e| DataFusionError::Execution(e.to_string()))?;
            // The connection stays with the stream, so the pool does not
            // hand it out while its rows are still arriving.
            let chunks = rows.chunks(BATCH_ROWS).map(move |chunk| {
                let _held = &connection;
                let rows = chunk.into_iter().collect::<std::result::Result<Vec<_>, _>>();
                let rows = rows.map_err(|e| DataFusionError::Execution(e.to_string()))?;
                to_batch(&rows, &columns, &schema)
            });
            Ok(chunks)
        })
        .map(|made| match made {
            Ok(chunks) => chunks.boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), batches)))
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
