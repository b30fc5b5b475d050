//! A `PARTITIONED BY` table read through its partitions in the catalog, as
//! Athena reads one: only registered partitions exist, each at its own
//! location (by default `table_location/k=v/...`, but anywhere).
//!
//! At scan time the partition list is read from the catalog and the
//! query's conditions on partition columns (`=`, `IN`, ranges, `AND`/`OR`,
//! casts and functions of them) are evaluated against it, before any file
//! is listed: only the partitions kept are listed and read. Each is read
//! as an unpartitioned table over its location, conditions on data
//! columns pushed down to it (Parquet row-group and page pruning stay on),
//! with its partition values added as constant columns. A registered
//! partition whose local folder is missing is empty, with a NOTICE naming
//! it; a projected one is empty. With partition
//! projection on (see [`super::projection`]) the candidates are computed
//! instead of read from the catalog, and pruned the same way. A partition
//! with its own column list is mapped onto the table's (see [`super::drift`]).

use super::drift;
use super::projection::Projection;
use super::{external_table, store};
use crate::catalog::types::hive_to_arrow;
use crate::catalog::{KeyCondition, KeyTest, Metastore, Partition, Table};
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::logical_expr::utils::expr_to_columns;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::{CastExpr, Column as ColumnExpr, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;
use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

/// Hive's folder name for a NULL partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

#[derive(Debug)]
pub struct PartitionedTable {
    table: Table,
    catalog: Arc<dyn Metastore>,
    /// Data columns, then partition keys.
    schema: SchemaRef,
    data_columns: usize,
    /// Set when partitions are projected rather than registered.
    projection: Option<Projection>,
}

impl PartitionedTable {
    pub fn new(table: Table, catalog: Arc<dyn Metastore>) -> crate::error::Result<Self> {
        let data = super::table_schema(&table)?;
        let mut fields: Vec<Field> = data.fields().iter().map(|f| f.as_ref().clone()).collect();
        for key in &table.partition_keys {
            fields.push(Field::new(&key.name, hive_to_arrow(&key.data_type)?, true));
        }
        let data_columns = data.fields().len();
        let projection = Projection::of_table(&table)?;
        Ok(PartitionedTable { table, catalog, schema: Arc::new(Schema::new(fields)), data_columns, projection })
    }

    fn key_names(&self) -> HashSet<String> {
        self.table.partition_keys.iter().map(|k| k.name.clone()).collect()
    }

    /// Whether `filter` reads partition columns only.
    fn on_partitions(&self, filter: &Expr) -> bool {
        let mut columns = HashSet::new();
        if expr_to_columns(filter, &mut columns).is_err() || columns.is_empty() {
            return false;
        }
        let keys = self.key_names();
        columns.iter().all(|c| keys.contains(&c.name))
    }

    /// A condition on one string or integer key the catalog can apply:
    /// `key = literal`, `key IN (literals)`, an OR of equalities, or
    /// literal bounds (`<`, `<=`, `>`, `>=`, BETWEEN; applied inclusively,
    /// as the query's own conditions are applied again after).
    fn key_condition(&self, filter: &Expr) -> Option<KeyCondition> {
        let mut columns = HashSet::new();
        expr_to_columns(filter, &mut columns).ok()?;
        let [column] = columns.into_iter().collect::<Vec<_>>().try_into().ok()?;
        let name = column.name;
        let index = self.table.partition_keys.iter().position(|k| k.name == name)?;
        let key_type = self.schema.field(self.data_columns + index).data_type().clone();
        let integer = key_type.is_integer();
        if !integer && key_type != datafusion::arrow::datatypes::DataType::Utf8 {
            return None;
        }
        let text = |v: &ScalarValue| match v {
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s))
                if !integer =>
            {
                Some(s.clone())
            }
            v if integer && v.data_type().is_integer() && !v.is_null() => Some(v.to_string()),
            _ => None,
        };
        let test = match super::projection::equality_values(filter, &name) {
            Some(literals) => KeyTest::In(literals.iter().map(text).collect::<Option<Vec<_>>>()?),
            None => {
                let (low, high) = super::projection::bounds(&name, &[filter]);
                if low.is_none() && high.is_none() {
                    return None;
                }
                let low = match low {
                    Some(v) => Some(text(&v)?),
                    None => None,
                };
                let high = match high {
                    Some(v) => Some(text(&v)?),
                    None => None,
                };
                KeyTest::Range { low, high }
            }
        };
        Some(KeyCondition { index, integer, test })
    }

    /// The registered partitions the catalog returns for the conditions,
    /// with their typed values, and how many are registered in all.
    async fn registered(
        &self,
        partition_filters: &[&Expr],
    ) -> crate::error::Result<(Vec<(Partition, Vec<ScalarValue>)>, String)> {
        // `key = value` and `key IN (...)` conditions the catalog applies
        // itself, so the other partitions are not even read from it.
        let conditions: Vec<KeyCondition> = partition_filters.iter().filter_map(|f| self.key_condition(f)).collect();
        let (database, name) = (&self.table.database_name, &self.table.name);
        let partitions = if conditions.is_empty() {
            self.catalog.list_partitions(database, name).await?
        } else {
            self.catalog.list_partitions_where(database, name, &conditions).await?
        };
        let total = if conditions.is_empty() {
            Some(partitions.len())
        } else {
            self.catalog.count_partitions(database, name).await?
        };
        let with_values = partitions
            .into_iter()
            .map(|p| {
                let values = partition_values(&self.table, &p)?;
                Ok((p, values))
            })
            .collect::<crate::error::Result<Vec<_>>>()?;
        Ok((with_values, total.map_or_else(|| "? (the catalog does not count them)".to_string(), |n| n.to_string())))
    }

    /// The partitions every filter keeps.
    fn prune(
        &self,
        state: &dyn Session,
        partitions: Vec<(Partition, Vec<ScalarValue>)>,
        filters: &[&Expr],
    ) -> Result<Vec<(Partition, Vec<ScalarValue>)>> {
        if filters.is_empty() || partitions.is_empty() {
            return Ok(partitions);
        }
        let keys = &self.schema.fields()[self.data_columns..];
        let key_schema = Arc::new(Schema::new(keys.iter().map(|f| f.as_ref().clone()).collect::<Vec<_>>()));
        let columns = (0..keys.len())
            .map(|k| ScalarValue::iter_to_array(partitions.iter().map(|(_, v)| v[k].clone())))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let batch = RecordBatch::try_new(Arc::clone(&key_schema), columns)?;
        let df_schema = DFSchema::try_from(key_schema.as_ref().clone())?;
        let mut keep = vec![true; partitions.len()];
        for filter in filters {
            let predicate = state.create_physical_expr((*filter).clone(), &df_schema)?;
            let result = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
            // A NULL condition (`region = NULL`) keeps nothing.
            let result = datafusion::arrow::compute::cast(&result, &datafusion::arrow::datatypes::DataType::Boolean)?;
            let Some(mask) = result.as_any().downcast_ref::<BooleanArray>() else {
                return Err(datafusion::error::DataFusionError::Internal(
                    "a partition condition is not boolean".into(),
                ));
            };
            for (i, k) in keep.iter_mut().enumerate() {
                *k &= mask.is_valid(i) && mask.value(i);
            }
        }
        Ok(partitions.into_iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| p).collect())
    }
}

/// A partition's values as typed scalars (22P02 naming the partition when
/// one does not parse as its key's type).
pub fn partition_values(table: &Table, partition: &Partition) -> crate::error::Result<Vec<ScalarValue>> {
    if partition.values.len() != table.partition_keys.len() {
        return Err(Error::new(
            SqlState::DataCorrupted,
            format!(
                "partition {:?} of {}.{} has {} values for {} partition keys",
                partition.values,
                table.database_name,
                table.name,
                partition.values.len(),
                table.partition_keys.len()
            ),
        ));
    }
    table
        .partition_keys
        .iter()
        .zip(&partition.values)
        .map(|(key, value)| {
            let t = hive_to_arrow(&key.data_type)?;
            if value == DEFAULT_PARTITION {
                return Ok(ScalarValue::try_from(&t)?);
            }
            ScalarValue::Utf8(Some(value.clone())).cast_to(&t).map_err(|_| {
                Error::new(
                    SqlState::InvalidTextRepresentation,
                    format!(
                        "partition value {value:?} of {}.{} is not a {} (partition key {})",
                        table.database_name, table.name, key.data_type, key.name
                    ),
                )
            })
        })
        .collect()
}

/// The unpartitioned table over one partition's location, or `None`
/// when its local folder does not exist: empty, as in Athena. For a
/// registered partition (not a projected one) the client is told with a
/// NOTICE naming it, so a missing folder is never a silent zero. (Object
/// stores have no folders: a prefix without objects is empty.)
fn partition_table(
    table: &Table,
    partition: &Partition,
    registered: bool,
    config: &datafusion::prelude::SessionConfig,
) -> crate::error::Result<Option<Table>> {
    let Some(location) = table.partition_location(partition) else { return Ok(None) };
    let url = store::listing_url(&location)?;
    if store::local_path(&url).is_some_and(|p| !p.exists()) {
        if registered {
            let names: Vec<String> =
                table.partition_keys.iter().zip(&partition.values).map(|(k, v)| format!("{}={v}", k.name)).collect();
            super::ScanNotices::notify(
                config,
                format!(
                    "partition ({}) of table {}.{} is registered at {location}, which does not exist: it reads as empty",
                    names.join(", "),
                    table.database_name,
                    table.name
                ),
            );
        }
        return Ok(None);
    }
    let mut t = table.clone();
    t.partition_keys.clear();
    t.storage_descriptor.location = Some(location);
    // A partition with its own column list is read with it (schema drift).
    if !partition.storage_descriptor.columns.is_empty() {
        t.storage_descriptor.columns = partition.storage_descriptor.columns.clone();
    }
    Ok(Some(t))
}

#[async_trait::async_trait]
impl TableProvider for PartitionedTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// INSERT: new files in each partition's folder, new partitions
    /// registered (`super::write`).
    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: datafusion::logical_expr::dml::InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        super::write::insert(self.table.clone(), Some(Arc::clone(&self.catalog)), self.schema(), input, op)
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if self.on_partitions(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all);
        let projected = Arc::new(self.schema.project(projection)?);
        let (partition_filters, data_filters): (Vec<&Expr>, Vec<&Expr>) =
            filters.iter().partition(|f| self.on_partitions(f));
        let data_filters: Vec<Expr> = data_filters.into_iter().cloned().collect();
        let (candidates, total) = match &self.projection {
            Some(projection) => {
                let candidates =
                    projection.candidates(&self.table, &partition_filters).map_err(Error::into_datafusion)?;
                let total = projection.total().map_or("?".to_string(), |n| n.to_string());
                (candidates, format!("{total} projected"))
            }
            None => self.registered(&partition_filters).await.map_err(Error::into_datafusion)?,
        };
        let kept = self.prune(state, candidates, &partition_filters)?;
        let kept_count = kept.len();

        let data_projection: Vec<usize> = projection.iter().copied().filter(|i| *i < self.data_columns).collect();
        let config = state.config().clone();
        let bytes: Arc<super::store::ByteCounter> = Arc::default();
        let metered =
            if super::metered::enabled() { Some(super::metered::metered_state(state, &bytes)?) } else { None };
        let scan_state: &dyn Session = match &metered {
            Some(m) => m,
            None => state,
        };
        let mut plans: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        for (partition, values) in kept {
            let registered = self.projection.is_none();
            let found =
                partition_table(&self.table, &partition, registered, &config).map_err(Error::into_datafusion)?;
            let Some(table) = found else { continue };
            let layout = drift::layout(&self.table, &partition).map_err(Error::into_datafusion)?;
            let provider = external_table(&table, &config).map_err(Error::into_datafusion)?;
            // The partition's own columns that the query reads, and the
            // conditions on columns it holds with the table's type.
            let read: Vec<usize> = data_projection.iter().filter_map(|&i| layout[i].position()).collect();
            let filters: Vec<Expr> =
                data_filters.iter().filter(|f| drift::applies(f, &self.table, &layout)).cloned().collect();
            let input = provider.scan(scan_state, Some(&read), &filters, limit).await?;
            let input = super::selective::pushdown_if_selective(input, &filters, state)?;
            let mut exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = Vec::with_capacity(projection.len());
            for &i in projection {
                let field = self.schema.field(i);
                let name = field.name().clone();
                let expr: Arc<dyn PhysicalExpr> = if i < self.data_columns {
                    match layout[i] {
                        drift::Source::Missing => Arc::new(Literal::new(ScalarValue::try_from(field.data_type())?)),
                        drift::Source::Same(j) | drift::Source::Widened(j) => {
                            let at = read.iter().position(|r| *r == j).unwrap_or_default();
                            let column: Arc<dyn PhysicalExpr> =
                                Arc::new(ColumnExpr::new(input.schema().field(at).name(), at));
                            if matches!(layout[i], drift::Source::Widened(_)) {
                                Arc::new(CastExpr::new(column, field.data_type().clone(), None))
                            } else {
                                column
                            }
                        }
                    }
                } else {
                    Arc::new(Literal::new(values[i - self.data_columns].clone()))
                };
                exprs.push((expr, name));
            }
            plans.push(Arc::new(ProjectionExec::try_new(exprs, input)?));
        }
        let input = if plans.is_empty() { Arc::new(EmptyExec::new(projected)) } else { UnionExec::try_new(plans)? };
        let table = format!("{}.{}", self.table.database_name, self.table.name);
        Ok(Arc::new(PartitionsScan { table, kept: kept_count, total, input, bytes, context: Default::default() }))
    }
}

/// What a walk of a table's LOCATION found: the partitions its `k=v/`
/// folders hold (values in key order), and what does not fit the layout.
#[derive(Debug, Default)]
pub struct Discovered {
    pub partitions: Vec<Vec<String>>,
    pub problems: Vec<String>,
}

/// Find the Hive-style partitions under a table's LOCATION.
pub async fn discover(table: &Table, state: &dyn Session) -> crate::error::Result<Discovered> {
    let url = super::table_url(table)?;
    super::check_local_location(table, &url)?;
    let prefix = url.prefix().as_ref().trim_end_matches('/').to_string();
    // Every file under the location (DataFusion's own listing skips
    // subfolders that are not `k=v`, which are exactly what to report).
    let store = state.runtime_env().object_store(url.object_store())?;
    let listed: Vec<object_store::ObjectMeta> = store
        .list(Some(url.prefix()))
        .try_collect()
        .await
        .map_err(|e| Error::new(SqlState::IoError, format!("cannot list {url}: {e}")))?;
    let files = listed.into_iter().filter(|f| f.size > 0);
    let keys: Vec<&str> = table.partition_keys.iter().map(|k| k.name.as_str()).collect();
    let mut found = Discovered::default();
    let mut seen = HashSet::new();
    for file in files {
        let path = file.location.as_ref();
        let relative = path.strip_prefix(prefix.as_str()).unwrap_or(path).trim_start_matches('/');
        let folders: Vec<&str> = relative.split('/').collect();
        let folders = &folders[..folders.len().saturating_sub(1)];
        if folders.len() < keys.len() {
            found.problems.push(format!("{relative}: not inside {} folders", layout(&keys)));
            continue;
        }
        let mut values = Vec::with_capacity(keys.len());
        for (folder, key) in folders.iter().zip(&keys) {
            match folder.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case(key) => values.push(unescape(v)),
                _ => break,
            }
        }
        if values.len() != keys.len() {
            found.problems.push(format!("{relative}: folders are not {}", layout(&keys)));
            continue;
        }
        if !seen.insert(values.clone()) {
            continue;
        }
        let candidate = Partition { values: values.clone(), ..Partition::default() };
        match partition_values(table, &candidate) {
            Ok(_) => found.partitions.push(values),
            Err(e) => found.problems.push(format!("{}: {e}", folders[..keys.len()].join("/"))),
        }
    }
    found.partitions.sort();
    Ok(found)
}

fn layout(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("{k}=<value>")).collect::<Vec<_>>().join("/")
}

/// A folder-name value with Hive's `%XX` escapes decoded.
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = value.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A partitioned table's scan, as EXPLAIN shows it: how many of the
/// registered partitions the query's conditions kept.
#[derive(Debug)]
struct PartitionsScan {
    table: String,
    kept: usize,
    /// The partitions there are: registered, or `N projected`.
    total: String,
    input: Arc<dyn ExecutionPlan>,
    /// Bytes its partitions' scans read (EXPLAIN ANALYZE).
    bytes: Arc<super::store::ByteCounter>,
    context: super::metered::ScanContext,
}

impl datafusion::physical_plan::DisplayAs for PartitionsScan {
    fn fmt_as(&self, _: datafusion::physical_plan::DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let files = super::metered::files_in(&self.input);
        write!(f, "PartitionsScan: table={}, partitions={} of {}, files={files}", self.table, self.kept, self.total)
    }
}

impl ExecutionPlan for PartitionsScan {
    fn name(&self) -> &str {
        "PartitionsScan"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<datafusion::physical_plan::PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.pop().ok_or_else(|| datafusion::error::DataFusionError::Internal("no input".into()))?;
        Ok(Arc::new(PartitionsScan {
            table: self.table.clone(),
            kept: self.kept,
            total: self.total.clone(),
            input,
            bytes: Arc::clone(&self.bytes),
            context: Default::default(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<datafusion::execution::TaskContext>,
    ) -> Result<datafusion::execution::SendableRecordBatchStream> {
        if !super::metered::enabled() {
            return self.input.execute(partition, context);
        }
        self.input.execute(partition, self.context.get(&context, &self.bytes)?)
    }

    fn metrics(&self) -> Option<datafusion::physical_plan::metrics::MetricsSet> {
        Some(super::metered::bytes_metric(&self.bytes))
    }

    super::metered::pass_through_plan!();
}
