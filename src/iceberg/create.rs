//! Creating a new, empty Iceberg table with Athena's DDL:
//!
//! ```text
//! CREATE TABLE [IF NOT EXISTS] [db.]name (col type [COMMENT 's'], ...)
//!   [COMMENT 's']
//!   [PARTITIONED BY (col | year(ts) | month(ts) | day(ts) | hour(ts)
//!                    | bucket(n, col) | truncate(n, col), ...)]
//!   LOCATION 'url'
//!   TBLPROPERTIES ('table_type' = 'ICEBERG' [, 'format' = 'parquet'] [, ...])
//! ```
//!
//! writes the table's first metadata file (format v2, version 0, no
//! snapshot) under `LOCATION/metadata/`, then the catalog entry pointing
//! at it. Athena's table properties become Iceberg's (`format` is
//! `write.format.default`, `write_compression` the format's compression
//! codec, `write_target_data_file_size_bytes` is
//! `write.target-file-size-bytes`); a property with a dot in its name is
//! Iceberg's own and passes through. The catalog entry keeps every
//! property as given.

use super::register::{entry, metadata_files};
use super::METADATA_LOCATION;
use crate::catalog::types::arrow_to_hive;
use crate::catalog::types::hive_to_field;
use crate::catalog::{require_database, Column, IfExists};
use crate::engine::commands::Context;
use crate::engine::hive_ddl::{AsQuery, CreateExternalTable, PartitionField, RowFormat};
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::Statement as Ast;
use iceberg::spec::{Schema, TableMetadataBuilder, Transform, UnboundPartitionSpec};
use iceberg::{MetadataLocation, TableCreation};
use std::collections::HashMap;
use std::sync::Arc;

/// Creates the empty Iceberg table `t` describes.
pub async fn create(cx: &dyn Context, t: &CreateExternalTable) -> Result<()> {
    check_clauses(t)?;
    let location = t.location.clone().ok_or_else(|| {
        Error::syntax("CREATE TABLE of an Iceberg table needs a LOCATION: the folder the table is written under", None)
    })?;
    let qualified = cx.qualify(&t.name)?;
    let metastore = Arc::clone(&qualified.catalog.metastore);
    let (database, name) = (qualified.database, qualified.name);
    if metastore.get_table(&database, &name).await?.is_some() {
        if t.if_not_exists {
            return Ok(());
        }
        return Err(Error::new(SqlState::DuplicateTable, format!("table {database}.{name} already exists")));
    }
    require_database(metastore.as_ref(), &database).await?;
    let (existing, folder) = metadata_files(cx, &location).await?;
    if !existing.is_empty() {
        return Err(Error::new(
            SqlState::DuplicateTable,
            format!("LOCATION {location} already holds an Iceberg table (its metadata is in {folder})"),
        )
        .with_hint("register that table with CREATE EXTERNAL TABLE ... LOCATION '...' TBLPROPERTIES ('table_type' = 'ICEBERG'), or choose an empty LOCATION"));
    }

    let schema = schema(&t.columns)?;
    let spec = partition_spec(&schema, &t.partition_fields)?;
    let root = location.trim().trim_end_matches('/').to_string();
    let creation = TableCreation::builder()
        .name(name.clone())
        .location(root.clone())
        .schema(schema)
        .partition_spec(spec)
        .properties(iceberg_properties(&t.properties)?)
        .build();
    let context = format!("creating Iceberg table {database}.{name}");
    let metadata = TableMetadataBuilder::from_table_creation(creation)
        .and_then(|b| b.build())
        .map_err(|e| super::error(e, &context))?
        .metadata;
    let file = MetadataLocation::new_with_metadata(&root, &metadata);
    let metadata_location = file.to_string();
    let file_io = super::io::file_io(Arc::clone(&cx.state().runtime_env().object_store_registry));
    metadata.write_to(&file_io, &file).await.map_err(|e| super::error(e, &format!("writing {metadata_location}")))?;
    let table = entry(cx, t, location, metadata_location.clone(), &metadata)?;
    let mode = if t.if_not_exists { IfExists::Skip } else { IfExists::Fail };
    if let Err(e) = metastore.create_table(table, mode, Vec::new()).await {
        // Nothing points at the file yet: leave no trace of the attempt.
        let _ = file_io.delete(&metadata_location).await;
        return Err(e);
    }
    Ok(())
}

/// CREATE TABLE ... WITH (table_type = 'ICEBERG', ...) AS <query>: the
/// table made with the query's columns (their names as PostgreSQL gives
/// them, their types as Iceberg's), then the query's rows appended in its
/// first snapshot. If writing the rows fails, the catalog entry and the
/// first metadata file are removed again, so no half-made table is left
/// (data files already written are referenced by nothing). Returns the
/// rows written (None for `WITH NO DATA`, or a table that existed with IF
/// NOT EXISTS).
pub async fn create_as(cx: &dyn Context, t: &CreateExternalTable, query: &AsQuery) -> Result<Option<u64>> {
    let qualified = cx.qualify(&t.name)?;
    let metastore = Arc::clone(&qualified.catalog.metastore);
    let (database, name) = (qualified.database.clone(), qualified.name.clone());
    if t.if_not_exists && metastore.get_table(&database, &name).await?.is_some() {
        cx.notice(format!("table {database}.{name} already exists, skipping"));
        return Ok(None);
    }
    let (plan, columns) = ctas_query(cx, &query.text).await?;
    let table = CreateExternalTable { columns, as_query: None, external: false, ..t.clone() };
    create(cx, &table).await?;
    if !query.with_data {
        return Ok(None);
    }
    match append(cx, &metastore, &database, &name, plan).await {
        Ok(rows) => Ok(Some(rows)),
        Err(e) => {
            // Leave no half-made table: the entry and its first metadata file go.
            if let Ok(Some(entry)) = metastore.drop_table(&database, &name).await {
                if let Ok(location) = super::metadata_location(&entry) {
                    let file_io = super::io::file_io(Arc::clone(&cx.state().runtime_env().object_store_registry));
                    let _ = file_io.delete(location).await;
                }
            }
            Err(e)
        }
    }
}

/// The query of a CREATE TABLE AS (or UNLOAD), planned, and its columns:
/// their names as PostgreSQL gives them (two alike are 42710), their
/// types as Hive's.
pub async fn ctas_query(cx: &dyn Context, text: &str) -> Result<(LogicalPlan, Vec<Column>)> {
    let mut asts = crate::engine::time_travel::parse_statements(text)
        .map_err(|e| Error::syntax(format!("the query of CREATE TABLE AS: {e}"), None))?;
    let ast = match (asts.pop(), asts.is_empty()) {
        (Some(ast @ Ast::Query(_)), true) => ast,
        _ => return Err(Error::syntax("CREATE TABLE AS needs one query (SELECT, VALUES or WITH) after AS", None)),
    };
    let plan = cx.plan_query(&ast).await?;
    let schema = cx.client_schema(&plan, &ast);
    let mut columns: Vec<Column> = Vec::new();
    for field in schema.fields() {
        if columns.iter().any(|c| c.name == *field.name()) {
            return Err(Error::new(
                SqlState::DuplicateObject,
                format!("the query of CREATE TABLE AS has two columns named {}", field.name()),
            )
            .with_hint("give each column its own name with AS"));
        }
        columns.push(Column::new(field.name().clone(), arrow_to_hive(field.data_type())?));
    }
    Ok((plan, columns))
}

/// Appends the rows of `plan` to the new table `database.name`.
async fn append(
    cx: &dyn Context,
    metastore: &Arc<dyn crate::catalog::Metastore>,
    database: &str,
    name: &str,
    plan: LogicalPlan,
) -> Result<u64> {
    let entry =
        metastore.get_table(database, name).await?.ok_or_else(|| crate::catalog::no_such_table(database, name))?;
    let stores = Arc::clone(&cx.state().runtime_env().object_store_registry);
    let loaded = super::load(super::metadata_location(&entry)?, stores).await?;
    let table =
        super::table::IcebergTable::current(format!("{database}.{name}"), loaded)?.writable(Arc::clone(metastore));
    let target = table.schema();
    let input = plan.schema().columns();
    let casts: Vec<Expr> = input
        .into_iter()
        .zip(target.fields())
        .map(|(column, field)| cast(Expr::Column(column), field.data_type().clone()).alias(field.name()))
        .collect();
    let projected = LogicalPlanBuilder::from(plan).project(casts)?.build()?;
    let reference = TableReference::partial(database, name);
    let insert =
        LogicalPlanBuilder::insert_into(projected, reference, provider_as_source(Arc::new(table)), InsertOp::Append)?
            .build()?;
    crate::engine::writes::changed_rows(cx.start(insert, true)).await
}

/// Refuses the clauses a new Iceberg table does not take.
fn check_clauses(t: &CreateExternalTable) -> Result<()> {
    if t.storage.is_some() || t.row_format != RowFormat::Default || !t.serde_properties.is_empty() {
        return Err(Error::syntax(
            "an Iceberg table's file format is TBLPROPERTIES ('format' = 'parquet' | 'orc' | 'avro'), not STORED AS or ROW FORMAT",
            None,
        ));
    }
    if t.columns.is_empty() {
        return Err(Error::syntax("CREATE TABLE of an Iceberg table needs its columns: (name type, ...)", None));
    }
    if let Some(key) = t.partition_keys.first() {
        return Err(Error::syntax(
            format!(
                "PARTITIONED BY ({} {}): an Iceberg table is partitioned by its own columns, named without a type",
                key.name, key.data_type
            ),
            None,
        )
        .with_hint(
            "list the column among the table's columns and write PARTITIONED BY (col, day(ts), bucket(16, id), ...)",
        ));
    }
    if t.properties.keys().any(|k| k.eq_ignore_ascii_case(METADATA_LOCATION)) {
        return Err(Error::syntax(
            "'metadata_location' names the metadata of a table that exists; register it with CREATE EXTERNAL TABLE",
            None,
        ));
    }
    Ok(())
}

/// The Iceberg schema of the column list: every column optional, field
/// ids assigned in order, comments as the fields' docs.
pub fn schema(columns: &[Column]) -> Result<Schema> {
    let fields = columns
        .iter()
        .map(|c| {
            let field = hive_to_field(&c.name, &c.data_type)?;
            let data_type = storable(field.data_type()).ok_or_else(|| {
                Error::new(
                    SqlState::FeatureNotSupported,
                    format!("column {} has type {}, which Iceberg tables do not have", c.name, c.data_type),
                )
                .with_hint("use int for tinyint and smallint")
            })?;
            let field = Field::new(&c.name, data_type, true);
            Ok(match &c.comment {
                Some(doc) => field.with_metadata(HashMap::from([("doc".to_string(), doc.clone())])),
                None => field,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    iceberg::arrow::arrow_schema_to_schema_auto_assign_ids(&ArrowSchema::new(fields))
        .map_err(|e| super::error(e, "the table's columns"))
}

/// `t` as the Arrow type of the Iceberg type that stores it (timestamps in
/// microseconds, as Iceberg v2 has them), or None when Iceberg has none.
fn storable(t: &DataType) -> Option<DataType> {
    let field = |f: &Field| storable(f.data_type()).map(|t| f.clone().with_data_type(t));
    Some(match t {
        DataType::Int8 | DataType::Int16 => return None,
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Timestamp(_, Some(_)) => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        DataType::List(item) => DataType::List(Arc::new(field(item)?)),
        DataType::Struct(fields) => {
            DataType::Struct(fields.iter().map(|f| field(f)).collect::<Option<Vec<_>>>()?.into())
        }
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(field(entries)?), *sorted),
        other => other.clone(),
    })
}

/// The partition spec of `PARTITIONED BY (...)`, its fields named as
/// Iceberg names them (`ts_day`, `id_bucket`, `s_trunc`).
fn partition_spec(schema: &Schema, fields: &[PartitionField]) -> Result<UnboundPartitionSpec> {
    let mut spec = UnboundPartitionSpec::builder();
    for f in fields {
        let bad = |state: SqlState, why: String| Error::new(state, format!("PARTITIONED BY {f}: {why}"));
        let transform = match (f.transform.as_str(), f.width) {
            ("identity", None) => Transform::Identity,
            ("year", None) => Transform::Year,
            ("month", None) => Transform::Month,
            ("day", None) => Transform::Day,
            ("hour", None) => Transform::Hour,
            ("bucket", Some(n)) if n > 0 => Transform::Bucket(n),
            ("truncate", Some(n)) if n > 0 => Transform::Truncate(n),
            ("bucket" | "truncate", _) => {
                return Err(bad(SqlState::InvalidParameterValue, format!("{} takes a positive width first: {}(16, col)", f.transform, f.transform)))
            }
            ("year" | "month" | "day" | "hour", Some(_)) => {
                return Err(bad(SqlState::InvalidParameterValue, format!("{} takes only the column", f.transform)))
            }
            (other, _) => {
                return Err(bad(
                    SqlState::InvalidParameterValue,
                    format!("{other} is not an Iceberg partition transform (identity, year, month, day, hour, bucket(n, col), truncate(n, col))"),
                ))
            }
        };
        let source = schema
            .field_by_name(&f.column)
            .ok_or_else(|| bad(SqlState::UndefinedColumn, format!("column {} is not one of the table's", f.column)))?;
        if transform.result_type(&source.field_type).is_err() {
            return Err(bad(
                SqlState::DatatypeMismatch,
                format!("column {} has type {}, which {} does not take", f.column, source.field_type, f.transform),
            ));
        }
        let suffix = match transform {
            Transform::Identity => "",
            Transform::Year => "_year",
            Transform::Month => "_month",
            Transform::Day => "_day",
            Transform::Hour => "_hour",
            Transform::Bucket(_) => "_bucket",
            _ => "_trunc",
        };
        let name = format!("{}{suffix}", f.column);
        if transform != Transform::Identity && schema.field_by_name(&name).is_some() {
            return Err(bad(
                SqlState::DuplicateObject,
                format!("its partition field would be named {name}, which is a column's name"),
            ));
        }
        spec = spec
            .add_partition_field(source.id, name, transform)
            .map_err(|e| bad(SqlState::InvalidParameterValue, e.message().to_string()))?;
    }
    Ok(spec.build())
}

/// The Iceberg table properties of Athena's TBLPROPERTIES.
pub fn iceberg_properties(properties: &crate::catalog::Parameters) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let format = match properties.iter().find(|(k, _)| k.eq_ignore_ascii_case("format")) {
        Some((_, f)) => match f.to_ascii_lowercase().as_str() {
            f @ ("parquet" | "orc" | "avro") => f.to_string(),
            other => {
                return Err(Error::new(
                    SqlState::InvalidParameterValue,
                    format!("TBLPROPERTIES 'format' = '{other}': an Iceberg table's files are parquet, orc or avro"),
                ))
            }
        },
        None => "parquet".to_string(),
    };
    for (key, value) in properties {
        match key.to_ascii_lowercase().as_str() {
            "write_compression" => {
                if format == "parquet" {
                    // Refused now rather than at the first write.
                    crate::table::write::parquet_codec(
                        Some(value),
                        datafusion::parquet::basic::Compression::UNCOMPRESSED,
                    )?;
                }
                out.insert(format!("write.{format}.compression-codec"), value.to_ascii_lowercase());
            }
            "write_target_data_file_size_bytes" => {
                out.insert("write.target-file-size-bytes".into(), value.clone());
            }
            k if k.contains('.') => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    out.insert("write.format.default".into(), format);
    Ok(out)
}
