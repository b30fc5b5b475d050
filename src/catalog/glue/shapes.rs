//! The shapes Glue stores and glaux's catalog model, converted both ways:
//! databases, tables (with Athena's Presto views), columns, storage
//! descriptors, partitions and parameters.

use crate::catalog::model::{
    now, Column, Database, Parameters, Partition, SerDeInfo, StorageDescriptor, Table, TableType,
};
use crate::catalog::normalize;
use crate::error::{Error, Result};
use aws_sdk_glue::types as glue;
use std::collections::HashMap;

pub(super) fn to_map(p: &Parameters) -> HashMap<String, String> {
    p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(super) fn from_map(p: Option<&HashMap<String, String>>) -> Parameters {
    p.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

pub(super) fn to_glue_columns(columns: &[Column]) -> Result<Vec<glue::Column>> {
    columns
        .iter()
        .map(|c| {
            glue::Column::builder()
                .name(&c.name)
                .r#type(&c.data_type)
                .set_comment(c.comment.clone())
                .build()
                .map_err(|e| Error::internal(format!("Glue column: {e}")))
        })
        .collect()
}

/// The columns of a Glue entry. An Iceberg table's entry, as pyiceberg and
/// Athena write it, also lists the columns of its earlier schemas with the
/// parameter `iceberg.field.current = false`; those are left out, as
/// Athena leaves them out.
pub(super) fn from_glue_columns(columns: &[glue::Column]) -> Vec<Column> {
    columns
        .iter()
        .filter(|c| c.parameters().and_then(|p| p.get("iceberg.field.current")).is_none_or(|v| v != "false"))
        .map(|c| Column {
            name: normalize(c.name()),
            data_type: c.r#type().unwrap_or("string").to_ascii_lowercase(),
            comment: c.comment().map(str::to_string),
        })
        .collect()
}

pub(super) fn to_glue_sd(sd: &StorageDescriptor) -> glue::StorageDescriptor {
    let serde = glue::SerDeInfo::builder()
        .set_serialization_library(sd.serde_info.serialization_library.clone())
        .set_parameters(Some(to_map(&sd.serde_info.parameters)))
        .build();
    glue::StorageDescriptor::builder()
        .set_columns(to_glue_columns(&sd.columns).ok())
        .set_location(sd.location.clone())
        .set_input_format(sd.input_format.clone())
        .set_output_format(sd.output_format.clone())
        .compressed(sd.compressed)
        .serde_info(serde)
        .set_parameters(Some(to_map(&sd.parameters)))
        .build()
}

pub(super) fn from_glue_sd(sd: Option<&glue::StorageDescriptor>) -> StorageDescriptor {
    let Some(sd) = sd else { return StorageDescriptor::default() };
    StorageDescriptor {
        columns: from_glue_columns(sd.columns()),
        location: sd.location().map(str::to_string),
        input_format: sd.input_format().map(str::to_string),
        output_format: sd.output_format().map(str::to_string),
        compressed: sd.compressed(),
        serde_info: sd
            .serde_info()
            .map(|s| SerDeInfo {
                serialization_library: s.serialization_library().map(str::to_string),
                parameters: from_map(s.parameters()),
            })
            .unwrap_or_default(),
        parameters: from_map(sd.parameters()),
    }
}

pub(super) fn from_glue_database(db: &glue::Database) -> Database {
    Database {
        name: normalize(db.name()),
        description: db.description().map(str::to_string),
        location_uri: db.location_uri().map(str::to_string),
        parameters: from_map(db.parameters()),
        create_time: db.create_time().map(|t| t.secs()).unwrap_or_default(),
    }
}

pub(super) fn to_glue_table(table: &Table) -> Result<glue::TableInput> {
    let mut parameters = to_map(&table.parameters);
    let table_type = match table.table_type {
        TableType::ExternalTable => {
            parameters.entry("EXTERNAL".into()).or_insert_with(|| "TRUE".into());
            "EXTERNAL_TABLE"
        }
        TableType::VirtualView => "VIRTUAL_VIEW",
        TableType::Iceberg => {
            parameters.insert("table_type".into(), "ICEBERG".into());
            "EXTERNAL_TABLE"
        }
    };
    let (original, expanded) = match (table.table_type, &table.view_original_text) {
        // Views are stored as Athena stores them, so Athena can read them.
        (TableType::VirtualView, Some(sql)) => {
            parameters.insert("presto_view".into(), "true".into());
            parameters.insert("comment".into(), "Presto View".into());
            (Some(presto_view_text(table, sql)), Some("/* Presto View */".to_string()))
        }
        _ => (table.view_original_text.clone(), table.view_expanded_text.clone()),
    };
    glue::TableInput::builder()
        .name(&table.name)
        .set_description(table.description.clone())
        .set_owner(table.owner.clone())
        .table_type(table_type)
        .storage_descriptor(to_glue_sd(&table.storage_descriptor))
        .set_partition_keys(Some(to_glue_columns(&table.partition_keys)?))
        .set_parameters(Some(parameters))
        .set_view_original_text(original)
        .set_view_expanded_text(expanded)
        .build()
        .map_err(|e| Error::internal(format!("Glue table input: {e}")))
}

pub(super) fn from_glue_table(t: &glue::Table, database: &str) -> Result<Table> {
    let parameters = from_map(t.parameters());
    let iceberg = parameters.get("table_type").is_some_and(|v| v.eq_ignore_ascii_case("ICEBERG"));
    let table_type = match t.table_type() {
        Some("VIRTUAL_VIEW") => TableType::VirtualView,
        _ if iceberg => TableType::Iceberg,
        _ => TableType::ExternalTable,
    };
    let view_original_text = t.view_original_text().map(presto_view_sql);
    Ok(Table {
        name: normalize(t.name()),
        database_name: t.database_name().map(normalize).unwrap_or_else(|| database.to_string()),
        table_type,
        description: t.description().map(str::to_string),
        storage_descriptor: from_glue_sd(t.storage_descriptor()),
        partition_keys: from_glue_columns(t.partition_keys()),
        parameters,
        view_original_text,
        view_expanded_text: t.view_expanded_text().map(str::to_string),
        create_time: t.create_time().map(|d| d.secs()).unwrap_or_else(now),
        update_time: t.update_time().map(|d| d.secs()).unwrap_or_default(),
        version: t.version_id().and_then(|v| v.parse().ok()).unwrap_or_default(),
        owner: t.owner().map(str::to_string),
    })
}

/// A view as Athena writes it: `/* Presto View: <base64 JSON> */`, the
/// JSON holding the SQL, the database and the columns with Presto types.
pub(super) fn presto_view_text(table: &Table, sql: &str) -> String {
    use base64::Engine as _;
    let columns: Vec<serde_json::Value> = table
        .storage_descriptor
        .columns
        .iter()
        .map(|c| serde_json::json!({ "name": c.name, "type": presto_type(&c.data_type) }))
        .collect();
    let view = serde_json::json!({
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": table.database_name,
        "columns": columns,
        "owner": "glaux",
        "runAsInvoker": false,
        "properties": {},
    });
    format!("/* Presto View: {} */", base64::engine::general_purpose::STANDARD.encode(view.to_string()))
}

/// A Hive type string as Presto/Trino spells it (`string` is `varchar`,
/// `array<int>` is `array(integer)`, `struct<a:int>` is `row(a integer)`).
pub(super) fn presto_type(hive: &str) -> String {
    let t = hive.trim().to_ascii_lowercase();
    let inner = |prefix: &str| t.strip_prefix(prefix).and_then(|r| r.strip_suffix('>')).map(str::to_string);
    if let Some(element) = inner("array<") {
        return format!("array({})", presto_type(&element));
    }
    if let Some(pair) = inner("map<") {
        let (k, v) = split_top(&pair).unwrap_or((pair.clone(), "varchar".into()));
        return format!("map({}, {})", presto_type(&k), presto_type(&v));
    }
    if let Some(fields) = inner("struct<") {
        let mut out = Vec::new();
        let mut rest = fields;
        loop {
            let (field, more) = split_top(&rest).map(|(a, b)| (a, Some(b))).unwrap_or((rest.clone(), None));
            let (name, ty) = field.split_once(':').unwrap_or((field.as_str(), "varchar"));
            out.push(format!("{} {}", name.trim(), presto_type(ty)));
            match more {
                Some(m) => rest = m,
                None => break,
            }
        }
        return format!("row({})", out.join(", "));
    }
    match t.as_str() {
        "string" => "varchar".into(),
        "int" => "integer".into(),
        "float" => "real".into(),
        "binary" => "varbinary".into(),
        other => other.to_string(),
    }
}

/// `a, b` split at the first comma outside `<...>`.
pub(super) fn split_top(text: &str) -> Option<(String, String)> {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => return Some((text[..i].to_string(), text[i + 1..].trim().to_string())),
            _ => {}
        }
    }
    None
}

/// The SQL of a view as Athena stores it (`/* Presto View: <base64 JSON
/// with originalSql> */`), or the text itself when it is plain SQL.
pub(super) fn presto_view_sql(text: &str) -> String {
    use base64::Engine as _;
    let encoded = text.trim().strip_prefix("/* Presto View: ").and_then(|r| r.strip_suffix("*/")).map(str::trim);
    let sql = encoded
        .and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok())
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("originalSql").and_then(|s| s.as_str()).map(str::to_string));
    sql.unwrap_or_else(|| text.to_string())
}

pub(super) fn from_glue_partition(p: &glue::Partition) -> Partition {
    Partition {
        values: p.values().to_vec(),
        storage_descriptor: from_glue_sd(p.storage_descriptor()),
        parameters: from_map(p.parameters()),
        create_time: p.creation_time().map(|t| t.secs()).unwrap_or_default(),
    }
}
