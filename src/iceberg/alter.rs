//! ALTER TABLE on an Iceberg table: schema evolution by field id, and
//! table properties, each one commit (`super::commit`).
//!
//! - `ADD COLUMNS (c type [COMMENT '...'], ...)`: optional fields with new
//!   ids after the table's last one (nested fields too), so no data file
//!   has them and they read as NULL;
//! - `DROP COLUMN c`: the field leaves the current schema (its data stays
//!   in the files, for old snapshots); a column any partition spec of the
//!   table is computed from cannot be dropped;
//! - `CHANGE [COLUMN] c new_name type [COMMENT '...']`: a rename keeps the
//!   field id, so every file reads under the new name; the type may only
//!   widen as Iceberg allows (int to bigint, float to double, a decimal's
//!   precision up);
//! - `SET TBLPROPERTIES`: Athena's keys mapped as at CREATE TABLE
//!   (`write_compression`, `write_target_data_file_size_bytes`, keys with a
//!   dot as given) into the metadata, and all of them into the catalog
//!   entry.

use super::commit::TableCatalog;
use crate::catalog::{Column, Metastore, Parameters, Table};
use crate::error::{Error, Result, SqlState};
use datafusion::execution::object_store::ObjectStoreRegistry;
use iceberg::spec::{ListType, MapType, NestedField, NestedFieldRef, PrimitiveType, Schema, StructType, Type};
use iceberg::{TableRequirement, TableUpdate};
use std::sync::Arc;

/// What an ALTER TABLE changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    AddColumns(Vec<Column>),
    DropColumn(String),
    Change { column: String, to: Column },
    SetProperties(Parameters),
}

/// Applies `change` to the Iceberg table `entry` in one commit.
pub async fn alter(
    metastore: Arc<dyn Metastore>,
    stores: Arc<dyn ObjectStoreRegistry>,
    entry: &Table,
    change: &Change,
) -> Result<()> {
    let name = format!("{}.{}", entry.database_name, entry.name);
    let catalog = TableCatalog::new(metastore, stores, &entry.database_name, &entry.name);
    let context = format!("ALTER TABLE {name}");
    let table = catalog.current().await.map_err(|e| super::error(e, &context))?;
    let metadata = table.metadata();
    let current = metadata.current_schema();
    let mut fields: Vec<NestedFieldRef> = current.as_struct().fields().to_vec();
    let position = |column: &str| {
        fields.iter().position(|f| f.name.eq_ignore_ascii_case(column)).ok_or_else(|| {
            Error::new(SqlState::UndefinedColumn, format!("column {column} of Iceberg table {name} does not exist"))
        })
    };
    let taken = |fields: &[NestedFieldRef], column: &str| {
        if fields.iter().any(|f| f.name.eq_ignore_ascii_case(column)) {
            return Err(Error::new(SqlState::DuplicateObject, format!("column {column} of {name} already exists")));
        }
        Ok(())
    };
    let mut extra = Parameters::new();
    let updates = match change {
        Change::AddColumns(columns) => {
            let added = super::create::schema(columns)?;
            let by = metadata.last_column_id();
            for field in added.as_struct().fields() {
                if matches!(field.field_type.as_ref(), Type::List(_) | Type::Map(_)) {
                    return Err(Error::new(
                        SqlState::FeatureNotSupported,
                        format!("column {} of type {}: glaux cannot yet read files written before an array or map column was added", field.name, field.field_type),
                    )
                    .with_hint("add a column of a primitive or struct type"));
                }
                taken(&fields, &field.name)?;
                fields.push(Arc::new(shifted(field, by)));
            }
            schema_updates(fields, current)?
        }
        Change::DropColumn(column) => {
            let at = position(column)?;
            let id = fields[at].id;
            let sources = metadata.partition_specs_iter().any(|s| s.fields().iter().any(|f| f.source_id == id));
            if sources || current.identifier_field_ids().any(|i| i == id) {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("column {column} of {name} cannot be dropped: the table's partitioning or identifier fields use it"),
                ));
            }
            if fields.len() == 1 {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("{column} is the only column of {name}"),
                ));
            }
            fields.remove(at);
            schema_updates(fields, current)?
        }
        Change::Change { column, to } => {
            let at = position(column)?;
            if !to.name.eq_ignore_ascii_case(&fields[at].name) {
                taken(&fields, &to.name)?;
            }
            let wanted = super::create::schema(std::slice::from_ref(to))?;
            let wanted = wanted.as_struct().fields()[0].field_type.as_ref().clone();
            let old = fields[at].field_type.as_ref();
            if !widens(old, &wanted) {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("column {column} of {name} cannot change from {old} to {wanted}"),
                )
                .with_hint("Iceberg changes a type only to a wider one: int to bigint, float to double, decimal(p, s) to decimal(p2, s) with p2 > p"));
            }
            let mut field = fields[at].as_ref().clone();
            field.name = to.name.clone();
            field.field_type = Box::new(if old == &wanted { old.clone() } else { wanted });
            if to.comment.is_some() {
                field.doc = to.comment.clone();
            }
            fields[at] = Arc::new(field);
            schema_updates(fields, current)?
        }
        Change::SetProperties(properties) => {
            let mut mapped = super::create::iceberg_properties(properties)?;
            if !properties.keys().any(|k| k.eq_ignore_ascii_case("format")) {
                mapped.remove("write.format.default");
            }
            extra = properties.clone();
            vec![TableUpdate::SetProperties { updates: mapped }]
        }
    };
    let requirements = vec![
        TableRequirement::UuidMatch { uuid: metadata.uuid() },
        TableRequirement::CurrentSchemaIdMatch { current_schema_id: metadata.current_schema_id() },
    ];
    catalog.commit_with(requirements, updates, extra).await.map_err(|e| super::error(e, &context))?;
    Ok(())
}

/// The updates that make `fields` the current schema.
fn schema_updates(fields: Vec<NestedFieldRef>, current: &Schema) -> Result<Vec<TableUpdate>> {
    let schema = Schema::builder()
        .with_fields(fields)
        .with_identifier_field_ids(current.identifier_field_ids())
        .build()
        .map_err(|e| super::error(e, "the new schema"))?;
    // -1: the schema this commit adds.
    Ok(vec![TableUpdate::AddSchema { schema }, TableUpdate::SetCurrentSchema { schema_id: -1 }])
}

/// Whether Iceberg lets a column of type `from` become `to`.
fn widens(from: &Type, to: &Type) -> bool {
    use PrimitiveType::*;
    match (from, to) {
        _ if from == to => true,
        (Type::Primitive(Int), Type::Primitive(Long)) | (Type::Primitive(Float), Type::Primitive(Double)) => true,
        (
            Type::Primitive(Decimal { precision: p, scale: s }),
            Type::Primitive(Decimal { precision: p2, scale: s2 }),
        ) => s == s2 && p2 >= p,
        _ => false,
    }
}

/// `field` with its id, and its nested fields' ids, moved up by `by`.
fn shifted(field: &NestedField, by: i32) -> NestedField {
    let mut out = field.clone();
    out.id += by;
    out.field_type = Box::new(match field.field_type.as_ref() {
        Type::Primitive(p) => Type::Primitive(p.clone()),
        Type::Struct(s) => Type::Struct(StructType::new(s.fields().iter().map(|f| Arc::new(shifted(f, by))).collect())),
        Type::List(l) => Type::List(ListType { element_field: Arc::new(shifted(&l.element_field, by)) }),
        Type::Map(m) => Type::Map(MapType {
            key_field: Arc::new(shifted(&m.key_field, by)),
            value_field: Arc::new(shifted(&m.value_field, by)),
        }),
    });
    out
}
