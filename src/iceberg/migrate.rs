//! Converting a Hive table to Iceberg in place (`ALTER TABLE t CONVERT
//! TO ICEBERG`, `CALL system.migrate('t')`): no data file is copied or
//! moved.
//!
//! - The Iceberg schema is the table's columns then its partition keys
//!   (`tinyint` and `smallint` become `int`, as Iceberg has no narrower
//!   integer), partitioned by identity on each partition key.
//! - The data files are the Parquet or ORC files under the table's
//!   LOCATION, or under each registered partition's location (hidden
//!   files and empty ones left out, as reads leave them out). Each file's
//!   footer gives its row count and the metrics manifests carry: value
//!   and null counts, column sizes (Parquet), and lower and upper bounds
//!   where the file's type is the column's (or an exact widening of it)
//!   and its statistics can be trusted. A file whose column cannot be
//!   read as the table's type refuses the conversion (42804), naming the
//!   file and column. ORC data files are read by `super::orc`.
//! - Hive's files carry no Iceberg field ids, so the table property
//!   `schema.name-mapping.default` maps each field id to its column's
//!   names (the names files use, in any case).
//! - The Iceberg table's root is `LOCATION/_iceberg`: its metadata and
//!   the files later writes add go there, hidden from the Hive definition
//!   that is kept (`_`-folders are hidden, as Hive hides them), so the
//!   kept definition still reads exactly the files it read.
//! - `gc.enabled = false`: the files are shared with the kept Hive
//!   definition, so VACUUM and `DROP TABLE ... PURGE` refuse until a user
//!   sets it true (after dropping the kept definition).
//!
//! The switch: the first metadata file (its one `append` snapshot lists
//! every file) is written; the old definition is created as
//! `t_backup_hive` with its partitions; then the entry of `t` becomes the
//! Iceberg table's with the catalog's compare-and-swap on the version
//! read at the start. If anything fails, the backup and every file
//! written are removed and `t` is as it was. Writes to the Hive table
//! while it converts are not in the Iceberg table.

use super::snapshot::{next_snapshot, RowDelta};
use crate::catalog::{model::now, Column, IfExists, Metastore, Partition, StorageDescriptor, Table, TableType};
use crate::error::{Error, Result, SqlState};
use crate::table::format::TableFormat;
use crate::table::orc::OrcFooter;
use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::basic::ColumnOrder;
use datafusion::parquet::file::metadata::ParquetMetaData;
use futures::{StreamExt, TryStreamExt};
use iceberg::spec::{
    DataContentType, DataFile, DataFileBuilder, DataFileFormat, Datum, Literal, MappedField, NameMapping,
    NestedFieldRef, PrimitiveLiteral, PrimitiveType, Schema, Struct, TableMetadataBuilder, Transform, Type,
    UnboundPartitionSpec, DEFAULT_SCHEMA_NAME_MAPPING,
};
use iceberg::table::Table as IcebergTable;
use iceberg::{MetadataLocation, NamespaceIdent, TableCreation, TableIdent};
use object_store::ObjectMeta;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The folder under a converted table's LOCATION that is the Iceberg
/// table's root.
pub const ICEBERG_FOLDER: &str = "_iceberg";
/// The suffix of the kept Hive definition's name.
pub const BACKUP_SUFFIX: &str = "_backup_hive";
/// Hive's folder value of a NULL partition key.
const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";
/// Footers read at once.
const FOOTERS_AT_ONCE: usize = 8;

/// What a conversion did.
#[derive(Debug)]
pub struct Migrated {
    pub files: usize,
    pub rows: u64,
    pub partitions: usize,
    pub backup: String,
}

/// Converts the Hive table `entry` of `metastore` to Iceberg, reading
/// footers through `stores` (the statement's metered stores) and listing
/// through `state`'s.
pub async fn migrate(
    metastore: Arc<dyn Metastore>,
    stores: Arc<dyn ObjectStoreRegistry>,
    state: &dyn Session,
    entry: Table,
) -> Result<Migrated> {
    let name = format!("{}.{}", entry.database_name, entry.name);
    check(&entry, &name)?;
    let backup = format!("{}{BACKUP_SUFFIX}", entry.name);
    if metastore.get_table(&entry.database_name, &backup).await?.is_some() {
        return Err(Error::new(
            SqlState::DuplicateTable,
            format!(
                "table {}.{backup} already exists: converting {name} keeps its Hive definition under that name",
                entry.database_name
            ),
        )
        .with_hint(format!("drop or rename {}.{backup} first", entry.database_name)));
    }
    let hive_location =
        entry.storage_descriptor.location.clone().filter(|l| !l.trim().is_empty()).ok_or_else(|| {
            Error::new(
                SqlState::InvalidParameterValue,
                format!("{name} has no LOCATION, so it has no files to convert"),
            )
        })?;
    let root = format!("{}/{ICEBERG_FOLDER}", hive_location.trim().trim_end_matches('/'));

    let columns: Vec<Column> =
        entry.storage_descriptor.columns.iter().chain(&entry.partition_keys).map(widened).collect();
    let schema = super::create::schema(&columns)?;
    let arrow = Arc::new(iceberg::arrow::schema_to_arrow_schema(&schema).map_err(|e| super::error(e, &name))?);
    let partitions = if entry.partition_keys.is_empty() {
        Vec::new()
    } else {
        metastore.list_partitions(&entry.database_name, &entry.name).await?
    };

    // Every data file, with its partition's values.
    let mut found: Vec<(ObjectMeta, String, Struct)> = Vec::new();
    if entry.partition_keys.is_empty() {
        for meta in crate::table::data_files(&entry, state).await? {
            let url = url_of(&hive_location, &meta)?;
            found.push((meta, url, Struct::empty()));
        }
    } else {
        for partition in &partitions {
            let values = partition_struct(&entry, &schema, &arrow, partition)?;
            let Some(location) = entry.partition_location(partition) else { continue };
            let listing = crate::table::store::listing_url(&location)?;
            if crate::table::store::local_path(&listing).is_some_and(|p| !p.exists()) {
                continue;
            }
            let mut part = entry.clone();
            part.partition_keys.clear();
            part.storage_descriptor.location = Some(location.clone());
            for meta in crate::table::data_files(&part, state).await? {
                let url = url_of(&location, &meta)?;
                found.push((meta, url, values.clone()));
            }
        }
    }

    // Each file's footer, read a few at a time.
    let orc = matches!(TableFormat::of_table(&entry)?, TableFormat::Orc);
    let names = Arc::new(std::sync::Mutex::new(HashMap::<i32, BTreeSet<String>>::new()));
    let keys: Vec<i32> =
        entry.partition_keys.iter().filter_map(|k| schema.field_by_name(&k.name).map(|f| f.id)).collect();
    let files: Vec<DataFile> = futures::stream::iter(found)
        .map(|(meta, url, partition)| {
            let (stores, names) = (Arc::clone(&stores), Arc::clone(&names));
            let table = Columns { schema: &schema, arrow: Arc::clone(&arrow), keys: &keys };
            async move {
                let footer = footer(&stores, &url, &meta, orc).await?;
                let file = data_file(&table, &url, &meta, &footer, partition, &names)?;
                Ok::<_, Error>(file)
            }
        })
        .buffered(FOOTERS_AT_ONCE)
        .try_collect()
        .await?;
    let rows = files.iter().map(|f| f.record_count()).sum();
    let count = files.len();
    let names = names.lock().unwrap_or_else(|e| e.into_inner()).clone();

    let mut properties = super::create::iceberg_properties(&Default::default())?;
    let mapping = NameMapping::new(schema.as_struct().fields().iter().map(|f| mapped(f, &names)).collect());
    let mapping = serde_json::to_string(&mapping).map_err(|e| Error::internal(format!("name mapping: {e}")))?;
    properties.insert(DEFAULT_SCHEMA_NAME_MAPPING.into(), mapping);
    properties.insert("gc.enabled".into(), "false".into());
    let mut spec = UnboundPartitionSpec::builder();
    for key in &entry.partition_keys {
        let field = schema
            .field_by_name(&key.name)
            .ok_or_else(|| Error::internal(format!("partition key {} is not in the schema", key.name)))?;
        spec = spec
            .add_partition_field(field.id, key.name.clone(), Transform::Identity)
            .map_err(|e| super::error(e, &name))?;
    }
    let creation = TableCreation::builder()
        .name(entry.name.clone())
        .location(root.clone())
        .schema(schema)
        .partition_spec(spec.build())
        .properties(properties)
        .build();
    let context = format!("converting {name} to Iceberg");
    let fail = |e: iceberg::Error| super::error(e, &context);
    let first = TableMetadataBuilder::from_table_creation(creation).and_then(|b| b.build()).map_err(fail)?.metadata;
    let file_io = super::io::file_io(Arc::clone(&stores));
    let mut written: Vec<String> = Vec::new();
    let mut keep_files = false;
    let result = async {
        let base_location = MetadataLocation::new_with_metadata(&root, &first).to_string();
        let base = IcebergTable::builder()
            .metadata(Arc::new(first.clone()))
            .metadata_location(base_location)
            .identifier(TableIdent::new(NamespaceIdent::new(entry.database_name.clone()), entry.name.clone()))
            .file_io(file_io.clone())
            .runtime(iceberg::Runtime::try_current().map_err(fail)?)
            .build()
            .map_err(fail)?;
        let mut metadata = first.clone();
        if !files.is_empty() {
            let next = next_snapshot(&base, RowDelta { added_data: files, ..RowDelta::default() });
            let next = next.await.map_err(fail)?;
            written.extend(next.written);
            let mut builder = first.clone().into_builder(None);
            for update in next.updates {
                builder = update.apply(builder).map_err(fail)?;
            }
            metadata = builder.build().map_err(fail)?.metadata;
        }
        let location = MetadataLocation::new_with_metadata(&root, &metadata);
        written.push(location.to_string());
        metadata.write_to(&file_io, &location).await.map_err(fail)?;
        let switched = switch(&metastore, &entry, &backup, &partitions, location.to_string(), &metadata);
        switched.await.map_err(|(e, undo)| {
            keep_files = !undo;
            e
        })
    }
    .await;
    if let Err(e) = result {
        if !keep_files {
            for file in &written {
                let _ = file_io.delete(file).await;
            }
        }
        return Err(e);
    }
    Ok(Migrated {
        files: count,
        rows,
        partitions: partitions.len(),
        backup: format!("{}.{backup}", entry.database_name),
    })
}

/// Refuses what cannot convert in place.
fn check(entry: &Table, name: &str) -> Result<()> {
    let refuse = |why: String| Error::new(SqlState::FeatureNotSupported, why);
    if entry.is_view() {
        return Err(Error::new(SqlState::WrongObjectType, format!("{name} is a view, not a table")));
    }
    if super::is_iceberg(&entry.parameters) {
        return Err(refuse(format!("{name} is an Iceberg table already")));
    }
    if crate::table::projection::is_enabled(entry) {
        return Err(refuse(format!(
            "{name} uses partition projection: its partitions are not in the catalog, so its files cannot be listed by partition"
        ))
        .with_hint("copy it with CREATE TABLE ... WITH (table_type = 'ICEBERG', ...) AS SELECT * FROM it"));
    }
    let shadow = "copy it instead with CREATE TABLE ... WITH (table_type = 'ICEBERG', ...) AS SELECT * FROM it";
    match TableFormat::of_table(entry)? {
        TableFormat::Parquet | TableFormat::Orc => Ok(()),
        _ => Err(refuse(format!(
            "{name} is stored as text or JSON, which Iceberg tables cannot hold: their data files are Parquet, ORC or Avro"
        ))
        .with_hint(shadow)),
    }
}

/// A column with Iceberg's type for it: `tinyint` and `smallint` are `int`.
fn widened(c: &Column) -> Column {
    let narrow = ["tinyint", "smallint"].contains(&c.data_type.trim().to_ascii_lowercase().as_str());
    Column { data_type: if narrow { "int".into() } else { c.data_type.clone() }, ..c.clone() }
}

/// The URL of a listed file of the store `location` is on, as Iceberg
/// metadata records locations.
fn url_of(location: &str, meta: &ObjectMeta) -> Result<String> {
    let listing = crate::table::store::listing_url(location)?;
    Ok(format!("{}{}", listing.object_store().as_str(), meta.location.as_ref()))
}

/// A partition's values as the Iceberg partition of identity fields
/// (Hive's NULL folder value is NULL); a value that is not of its key's
/// type is 22P02.
fn partition_struct(entry: &Table, schema: &Schema, arrow: &ArrowSchema, partition: &Partition) -> Result<Struct> {
    let mut values = Vec::new();
    for (key, value) in entry.partition_keys.iter().zip(&partition.values) {
        if value == HIVE_NULL {
            values.push(None);
            continue;
        }
        let (index, field) = field_index(schema, &key.name)?;
        let target = arrow.field(index).data_type();
        let text: ArrayRef = Arc::new(StringArray::from(vec![value.as_str()]));
        let options = CastOptions { safe: false, ..Default::default() };
        let cast = cast_with_options(&text, target, &options).map_err(|e| {
            Error::new(
                SqlState::InvalidTextRepresentation,
                format!(
                    "partition {}={value} of {}.{}: not a {}: {e}",
                    key.name, entry.database_name, entry.name, key.data_type
                ),
            )
        })?;
        let literal = iceberg::arrow::arrow_primitive_to_literal(&cast, &field.field_type)
            .map_err(|e| super::error(e, "a partition value"))?;
        values.push(literal.into_iter().next().flatten());
    }
    Ok(Struct::from_iter(values))
}

/// The position and field of the schema's top-level column `name`.
fn field_index<'a>(schema: &'a Schema, name: &str) -> Result<(usize, &'a NestedFieldRef)> {
    schema
        .as_struct()
        .fields()
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name)
        .ok_or_else(|| Error::internal(format!("column {name} is not in the schema")))
}

/// A data file's footer.
enum Footer {
    Parquet(Arc<ParquetMetaData>),
    Orc(OrcFooter),
}

/// The footer of a Parquet or (`orc`) ORC file, read through the
/// statement's stores.
async fn footer(stores: &Arc<dyn ObjectStoreRegistry>, url: &str, meta: &ObjectMeta, orc: bool) -> Result<Footer> {
    let (store, _) = super::io::locate(stores, url).map_err(|e| super::error(e, url))?;
    if orc {
        let footer = crate::table::orc::footer(store, meta.clone()).await;
        return footer.map(Footer::Orc).map_err(|e| {
            Error::new(SqlState::DataCorrupted, format!("{url} is not a readable ORC file: {}", e.message()))
        });
    }
    DFParquetMetadata::new(store.as_ref(), meta)
        .with_metadata_size_hint(Some(crate::table::format::PARQUET_FOOTER_READ))
        .fetch_metadata()
        .await
        .map(Footer::Parquet)
        .map_err(|e| Error::new(SqlState::DataCorrupted, format!("{url} is not a readable Parquet file: {e}")))
}

/// The data file `url`, with its metrics from `footer`; the file's own
/// column names are noted in `names` for the name mapping.
/// The converted table's columns: its schema, as Arrow, and its
/// partition keys' field ids.
struct Columns<'a> {
    schema: &'a Schema,
    arrow: Arc<ArrowSchema>,
    keys: &'a [i32],
}

fn data_file(
    table: &Columns<'_>,
    url: &str,
    meta: &ObjectMeta,
    footer: &Footer,
    partition: Struct,
    names: &std::sync::Mutex<HashMap<i32, BTreeSet<String>>>,
) -> Result<DataFile> {
    let (file_schema, rows, format) = match footer {
        Footer::Parquet(footer) => {
            let parquet = footer.file_metadata().schema_descr();
            let schema =
                parquet_to_arrow_schema(parquet, footer.file_metadata().key_value_metadata()).map_err(|e| {
                    Error::new(SqlState::DataCorrupted, format!("{url}: its Parquet schema cannot be read: {e}"))
                })?;
            (schema, footer.file_metadata().num_rows().max(0) as u64, DataFileFormat::Parquet)
        }
        Footer::Orc(footer) => (footer.schema.as_ref().clone(), footer.rows, DataFileFormat::Orc),
    };
    let mut metrics = Metrics::default();
    for (index, field) in table.schema.as_struct().fields().iter().enumerate() {
        if table.keys.contains(&field.id) {
            // A partition key's value is its partition's, whatever a file
            // holds (as Hive reads it): no check, no metrics from the file.
            continue;
        }
        let target = table.arrow.field(index);
        let Some(column) = file_schema.fields().iter().find(|f| f.name().eq_ignore_ascii_case(&field.name)) else {
            continue; // a column the file lacks reads as NULL
        };
        if !readable_as(column.data_type(), target.data_type()) {
            return Err(Error::new(
                SqlState::DatatypeMismatch,
                format!(
                    "{url}: column {} is {} in the file, which cannot be read as the table's {}",
                    column.name(),
                    column.data_type(),
                    field.field_type
                ),
            )
            .with_hint("fix the file or the table's column type, or copy the table with CREATE TABLE ... AS SELECT"));
        }
        names.lock().unwrap_or_else(|e| e.into_inner()).entry(field.id).or_default().insert(column.name().clone());
        match footer {
            Footer::Parquet(footer) => metrics.add(field, column, target, &file_schema, footer),
            Footer::Orc(footer) => metrics.add_orc(field, column, target, rows, footer),
        }
    }
    let mut builder = DataFileBuilder::default();
    builder
        .content(DataContentType::Data)
        .file_path(url.to_string())
        .file_format(format)
        .partition(partition)
        .partition_spec_id(0)
        .record_count(rows)
        .file_size_in_bytes(meta.size)
        .column_sizes(metrics.sizes)
        .value_counts(metrics.values)
        .null_value_counts(metrics.nulls)
        .lower_bounds(metrics.lower)
        .upper_bounds(metrics.upper);
    builder.build().map_err(|e| Error::internal(format!("data file {url}: {e}")))
}

/// The metrics of one file, by field id.
#[derive(Default)]
struct Metrics {
    sizes: HashMap<i32, u64>,
    values: HashMap<i32, u64>,
    nulls: HashMap<i32, u64>,
    lower: HashMap<i32, Datum>,
    upper: HashMap<i32, Datum>,
}

impl Metrics {
    /// The metrics of `field` (a top-level primitive column), stored as
    /// `column` in a file whose Arrow schema is `file` (nested columns
    /// get none: Iceberg lets metrics be absent).
    fn add(
        &mut self,
        field: &NestedFieldRef,
        column: &Field,
        target: &Field,
        file: &ArrowSchema,
        footer: &ParquetMetaData,
    ) {
        let Type::Primitive(primitive) = field.field_type.as_ref() else { return };
        let parquet = footer.file_metadata().schema_descr();
        let Ok(stats) = StatisticsConverter::try_new(column.name(), file, parquet) else { return };
        let Some(leaf) = stats.parquet_column_index() else { return };
        let groups = footer.row_groups();
        let id = field.id;
        self.sizes.insert(id, groups.iter().map(|g| g.column(leaf).compressed_size().max(0) as u64).sum());
        self.values.insert(id, groups.iter().map(|g| g.column(leaf).num_values().max(0) as u64).sum());
        let Ok(nulls) = stats.row_group_null_counts(groups.iter()) else { return };
        if nulls.null_count() > 0 {
            return; // a row group without a null count: unknown
        }
        self.nulls.insert(id, nulls.values().iter().sum());
        // Bounds only where they are exact: the file's type is the
        // column's or widens to it without rounding, and byte strings
        // were ordered as Parquet now orders them.
        let exact = column.data_type() == target.data_type()
            || matches!(
                (column.data_type(), target.data_type()),
                (DataType::Int8 | DataType::Int16 | DataType::Int32, DataType::Int32 | DataType::Int64)
                    | (DataType::Float32, DataType::Float64)
                    | (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, DataType::Utf8)
            );
        let ordered =
            !matches!(primitive, PrimitiveType::String | PrimitiveType::Binary | PrimitiveType::Decimal { .. })
                || matches!(footer.file_metadata().column_order(leaf), ColumnOrder::TYPE_DEFINED_ORDER(_));
        if !exact || !ordered {
            return;
        }
        let rows: Vec<u64> = groups.iter().map(|g| g.num_rows().max(0) as u64).collect();
        let (Ok(mins), Ok(maxes)) = (stats.row_group_mins(groups.iter()), stats.row_group_maxes(groups.iter())) else {
            return;
        };
        let (Some(low), Some(high)) = (
            bound(&mins, &nulls, &rows, target, primitive, std::cmp::Ordering::Less),
            bound(&maxes, &nulls, &rows, target, primitive, std::cmp::Ordering::Greater),
        ) else {
            return;
        };
        self.lower.insert(id, low);
        self.upper.insert(id, high);
    }
}

impl Metrics {
    /// The metrics of `field` (a top-level column) stored as `column` in
    /// an ORC file of `rows` rows: ORC's footer counts each column's
    /// non-null values, and gives bounds where they are exact for the
    /// column's type: integers, dates, floats and doubles (not NaN), and
    /// strings with their exact minimum and maximum (ORC compares them as
    /// UTF-8 bytes, as Iceberg does). Decimal and timestamp statistics are
    /// left out (ORC writers have disagreed on their scale and time zone),
    /// and ORC gives no column sizes.
    fn add_orc(&mut self, field: &NestedFieldRef, column: &Field, target: &Field, rows: u64, footer: &OrcFooter) {
        use orc_rust::statistics::TypeStatistics as S;
        let Type::Primitive(primitive) = field.field_type.as_ref() else { return };
        let Some((_, stats)) = footer.columns.iter().find(|(name, _)| name == column.name()) else { return };
        let id = field.id;
        self.values.insert(id, rows);
        self.nulls.insert(id, rows.saturating_sub(stats.number_of_values()));
        let bounds = match (stats.type_statistics(), primitive, column.data_type(), target.data_type()) {
            (Some(S::Integer { min, max, .. }), PrimitiveType::Long, _, _) => {
                Some((Datum::long(*min), Datum::long(*max)))
            }
            (Some(S::Integer { min, max, .. }), PrimitiveType::Int, _, _) => {
                i32::try_from(*min).ok().zip(i32::try_from(*max).ok()).map(|(l, h)| (Datum::int(l), Datum::int(h)))
            }
            (Some(S::Date { min, max }), PrimitiveType::Date, _, _) => Some((Datum::date(*min), Datum::date(*max))),
            (Some(S::Double { min, max, .. }), PrimitiveType::Double, _, _) if !min.is_nan() && !max.is_nan() => {
                Some((Datum::double(*min), Datum::double(*max)))
            }
            (Some(S::Double { min, max, .. }), PrimitiveType::Float, DataType::Float32, _)
                if !min.is_nan() && !max.is_nan() =>
            {
                Some((Datum::float(*min as f32), Datum::float(*max as f32)))
            }
            (
                Some(S::String { lower_bound, upper_bound, is_exact_min: true, is_exact_max: true, .. }),
                PrimitiveType::String,
                _,
                _,
            ) => Some((Datum::string(lower_bound), Datum::string(upper_bound))),
            _ => None,
        };
        if let Some((low, high)) = bounds {
            self.lower.insert(id, low);
            self.upper.insert(id, high);
        }
    }
}

/// The least (`keep` = Less) or greatest of the row groups' bounds, as a
/// Datum of the column's type; None when a row group with values has no
/// bound (or a float bound is NaN).
fn bound(
    bounds: &ArrayRef,
    nulls: &datafusion::arrow::array::UInt64Array,
    rows: &[u64],
    target: &Field,
    primitive: &PrimitiveType,
    keep: std::cmp::Ordering,
) -> Option<Datum> {
    let bounds =
        cast_with_options(bounds, target.data_type(), &CastOptions { safe: false, ..Default::default() }).ok()?;
    let mut best: Option<ScalarValue> = None;
    for (i, rows) in rows.iter().enumerate() {
        if bounds.is_null(i) {
            if nulls.value(i) == *rows {
                continue; // every value in the row group is NULL
            }
            return None;
        }
        let value = ScalarValue::try_from_array(&bounds, i).ok()?;
        if matches!(value, ScalarValue::Float32(Some(v)) if v.is_nan())
            || matches!(value, ScalarValue::Float64(Some(v)) if v.is_nan())
        {
            return None; // an old writer's NaN bound bounds nothing
        }
        if best.as_ref().is_none_or(|b| value.partial_cmp(b) == Some(keep)) {
            best = Some(value);
        }
    }
    let array = best?.to_array().ok()?;
    let literal = iceberg::arrow::arrow_primitive_to_literal(&array, &Type::Primitive(primitive.clone())).ok()?;
    let Some(Literal::Primitive(value)) = literal.into_iter().next().flatten() else { return None };
    datum(primitive, value)
}

/// An Iceberg value of type `t`.
fn datum(t: &PrimitiveType, value: PrimitiveLiteral) -> Option<Datum> {
    Some(match (t, value) {
        (PrimitiveType::Boolean, PrimitiveLiteral::Boolean(v)) => Datum::bool(v),
        (PrimitiveType::Int, PrimitiveLiteral::Int(v)) => Datum::int(v),
        (PrimitiveType::Long, PrimitiveLiteral::Long(v)) => Datum::long(v),
        (PrimitiveType::Float, PrimitiveLiteral::Float(v)) if !v.is_nan() => Datum::float(v.0),
        (PrimitiveType::Double, PrimitiveLiteral::Double(v)) if !v.is_nan() => Datum::double(v.0),
        (PrimitiveType::Date, PrimitiveLiteral::Int(v)) => Datum::date(v),
        (PrimitiveType::Timestamp, PrimitiveLiteral::Long(v)) => Datum::timestamp_micros(v),
        (PrimitiveType::Timestamptz, PrimitiveLiteral::Long(v)) => Datum::timestamptz_micros(v),
        (PrimitiveType::String, PrimitiveLiteral::String(v)) => Datum::string(v),
        (PrimitiveType::Binary, PrimitiveLiteral::Binary(v)) => Datum::binary(v),
        (PrimitiveType::Decimal { .. }, PrimitiveLiteral::Int128(v)) => {
            Datum::try_from_bytes(&v.to_be_bytes(), t.clone()).ok()?
        }
        _ => return None,
    })
}

/// Whether a file's column of type `file` reads as the table's `table`
/// type (the same, or a widening Iceberg's reader makes exactly).
fn readable_as(file: &DataType, table: &DataType) -> bool {
    use DataType as D;
    match (file, table) {
        _ if file == table => true,
        (D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16, D::Int32) => true,
        (D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32, D::Int64) => true,
        (D::Float16 | D::Float32, D::Float32 | D::Float64) => true,
        (D::Utf8 | D::LargeUtf8 | D::Utf8View, D::Utf8 | D::LargeUtf8 | D::Utf8View) => true,
        (D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_), D::Binary | D::LargeBinary) => true,
        (D::Decimal32(p, s) | D::Decimal64(p, s), D::Decimal128(q, t)) | (D::Decimal128(p, s), D::Decimal128(q, t)) => {
            s == t && p <= q
        }
        (D::Timestamp(_, a), D::Timestamp(_, b)) => a.is_some() == b.is_some(),
        (D::Date32 | D::Date64, D::Date32) => true,
        (D::List(a) | D::LargeList(a), D::List(b) | D::LargeList(b)) => readable_as(a.data_type(), b.data_type()),
        (D::Map(a, _), D::Map(b, _)) => readable_as(a.data_type(), b.data_type()),
        (D::Struct(a), D::Struct(b)) => b.iter().all(|wanted| {
            a.iter()
                .find(|f| f.name().eq_ignore_ascii_case(wanted.name()))
                .is_none_or(|f| readable_as(f.data_type(), wanted.data_type()))
        }),
        _ => false,
    }
}

/// The name mapping of `field`: its name, the names files gave it, and
/// its nested fields' mappings (a list's element and a map's key and
/// value under every name Parquet writers give them).
fn mapped(field: &NestedFieldRef, seen: &HashMap<i32, BTreeSet<String>>) -> MappedField {
    let mut names: BTreeSet<String> = seen.get(&field.id).cloned().unwrap_or_default();
    names.insert(field.name.clone());
    MappedField::new(Some(field.id), names.into_iter().collect(), nested(&field.field_type, seen))
}

fn nested(t: &Type, seen: &HashMap<i32, BTreeSet<String>>) -> Vec<MappedField> {
    let under = |field: &NestedFieldRef, names: &[&str]| {
        MappedField::new(Some(field.id), names.iter().map(|n| n.to_string()).collect(), nested(&field.field_type, seen))
    };
    match t {
        Type::Struct(s) => s.fields().iter().map(|f| mapped(f, seen)).collect(),
        Type::List(l) => vec![under(&l.element_field, &["element", "item", "array"])],
        Type::Map(m) => vec![under(&m.key_field, &["key"]), under(&m.value_field, &["value"])],
        Type::Primitive(_) => Vec::new(),
    }
}

/// The catalog switch: the kept Hive definition first, then `t` becomes
/// the Iceberg table (compare-and-swap on the version read), then its
/// Hive partitions go. If the swap did not happen the kept definition is
/// dropped; the error comes with whether the files written may be deleted
/// (not when the catalog cannot say whether the swap landed).
async fn switch(
    metastore: &Arc<dyn Metastore>,
    hive: &Table,
    backup: &str,
    partitions: &[Partition],
    metadata_location: String,
    metadata: &iceberg::spec::TableMetadata,
) -> std::result::Result<(), (Error, bool)> {
    let mut parameters = hive.parameters.clone();
    parameters.retain(|k, _| !is_hive_storage_property(k));
    parameters.insert("table_type".into(), "ICEBERG".into());
    parameters.insert(super::METADATA_LOCATION.into(), metadata_location.clone());
    parameters.insert("EXTERNAL".into(), "TRUE".into());
    let iceberg = Table {
        table_type: TableType::Iceberg,
        storage_descriptor: StorageDescriptor {
            columns: super::register::columns(metadata, &metadata_location).map_err(|e| (e, true))?,
            location: Some(metadata.location().to_string()),
            ..StorageDescriptor::default()
        },
        partition_keys: Vec::new(),
        parameters,
        update_time: now(),
        ..hive.clone()
    };
    let kept = Table { name: backup.to_string(), version: 0, update_time: now(), ..hive.clone() };
    metastore.create_table(kept, IfExists::Fail, partitions.to_vec()).await.map_err(|e| (e, true))?;
    if let Err(e) = metastore.update_table(iceberg).await {
        // A swap whose answer was lost may have landed: the entry tells.
        match metastore.get_table(&hive.database_name, &hive.name).await {
            Ok(Some(now)) if now.parameters.get(super::METADATA_LOCATION) == Some(&metadata_location) => {}
            Ok(_) => {
                let _ = metastore.drop_table(&hive.database_name, backup).await;
                return Err((e, true));
            }
            Err(_) => {
                let why = format!(
                    "the catalog could not be read after the failed switch: check whether {}.{} was converted before trying again",
                    hive.database_name, hive.name
                );
                return Err((e.with_hint(why), false));
            }
        }
    }
    // The switch is made: the Hive partitions left on the entry are
    // unused by an Iceberg table, so failing to remove them fails nothing.
    if !partitions.is_empty() {
        let values: Vec<Vec<String>> = partitions.iter().map(|p| p.values.clone()).collect();
        if let Err(e) = metastore.drop_partitions(&hive.database_name, &hive.name, &values).await {
            log::warn!(
                "{}.{} is Iceberg now; its Hive partitions stay in the catalog: {e}",
                hive.database_name,
                hive.name
            );
        }
    }
    Ok(())
}

/// Table properties that describe Hive files and mean nothing to an
/// Iceberg table.
fn is_hive_storage_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "classification"
        || key.starts_with("projection.")
        || key == "skip.header.line.count"
        || key == "parquet.compression"
}
