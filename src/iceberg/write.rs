//! INSERT into an Iceberg table.
//!
//! iceberg-datafusion plans the write: it computes each row's partition
//! values with the table's current spec, writes Parquet data files (one
//! per partition per writer, rolled at `write.target-file-size-bytes`,
//! with the column metrics manifests carry) and appends them in one
//! commit, through glaux's catalog ([`super::commit`]). Its plan wants
//! the input with exactly the table's Arrow schema, where DataFusion's
//! insert plan may say a column cannot be null that the table lets be
//! null; [`AsTableSchema`] gives the input the table's schema, and a NULL
//! bound for a required column is 23502 naming it.

use super::commit::TableCatalog;
use crate::catalog::Metastore;
use crate::error::{Error, SqlState};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};
use futures::StreamExt;
use std::any::Any;
use std::sync::Arc;

/// The plan that appends `input`'s rows to `database.table` (`name` is
/// both, for messages), whose schema is `schema`.
pub async fn insert(
    state: &dyn Session,
    metastore: &Arc<dyn Metastore>,
    name: &str,
    schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
    op: InsertOp,
) -> Result<Arc<dyn ExecutionPlan>> {
    if op != InsertOp::Append {
        let why = format!("cannot overwrite Iceberg table {name}: INSERT appends rows");
        return Err(Error::new(SqlState::FeatureNotSupported, why).into_datafusion());
    }
    let (database, table) = name.split_once('.').unwrap_or(("", name));
    let stores = Arc::clone(&state.runtime_env().object_store_registry);
    let catalog = Arc::new(TableCatalog::new(Arc::clone(metastore), stores, database, table));
    let provider = catalog.provider().await.map_err(Error::into_datafusion)?;
    let input = Arc::new(AsTableSchema::new(input, schema, name.to_string()));
    provider.insert_into(state, input, op).await
}

/// Its input, with the table's schema (the same columns and types, with
/// the table's nullability).
#[derive(Debug)]
struct AsTableSchema {
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    table: String,
    properties: Arc<PlanProperties>,
}

impl AsTableSchema {
    fn new(input: Arc<dyn ExecutionPlan>, schema: SchemaRef, table: String) -> AsTableSchema {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            input.output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        AsTableSchema { input, schema, table, properties }
    }

    /// `batch` with the table's schema; a NULL in a required column is
    /// 23502.
    fn relabel(schema: &SchemaRef, table: &str, batch: RecordBatch) -> Result<RecordBatch> {
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            if !field.is_nullable() && column.null_count() > 0 {
                let why = format!(
                    "null value in column \"{}\" of Iceberg table {table}: the column is required",
                    field.name()
                );
                return Err(Error::new(SqlState::NotNullViolation, why).into_datafusion());
            }
        }
        Ok(RecordBatch::try_new(Arc::clone(schema), batch.columns().to_vec())?)
    }
}

impl DisplayAs for AsTableSchema {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "AsTableSchema: table={}", self.table)
    }
}

impl ExecutionPlan for AsTableSchema {
    fn name(&self) -> &str {
        "AsTableSchema"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("AsTableSchema has one input").into_datafusion())?;
        Ok(Arc::new(AsTableSchema::new(input, Arc::clone(&self.schema), self.table.clone())))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let (schema, table) = (Arc::clone(&self.schema), self.table.clone());
        let stream = self.input.execute(partition, context)?;
        let relabelled = stream.map(move |batch| AsTableSchema::relabel(&schema, &table, batch?));
        Ok(Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), relabelled)))
    }
}
