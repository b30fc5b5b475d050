//! The Glue data model: databases, tables (external tables, views, Iceberg
//! tables), storage descriptors, SerDe info and partitions.
//!
//! Field names follow AWS Glue's API (snake_cased), so the embedded store and
//! the AWS Glue client hold the same shapes. Pure data: no I/O here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// String-to-string parameters (Glue `Parameters`, Hive TBLPROPERTIES).
pub type Parameters = BTreeMap<String, String>;

/// A Glue database: what Postgres clients see as a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub location_uri: Option<String>,
    #[serde(default)]
    pub parameters: Parameters,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub create_time: i64,
}

impl Database {
    pub fn new(name: impl Into<String>) -> Self {
        Database { name: name.into(), description: None, location_uri: None, parameters: Parameters::new(), create_time: now() }
    }
}

/// Glue `TableType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableType {
    ExternalTable,
    VirtualView,
    Iceberg,
}

impl TableType {
    pub fn as_str(self) -> &'static str {
        match self {
            TableType::ExternalTable => "EXTERNAL_TABLE",
            TableType::VirtualView => "VIRTUAL_VIEW",
            TableType::Iceberg => "ICEBERG",
        }
    }
}

/// A column: name, Glue/Hive type string, comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// A Hive type string: `bigint`, `decimal(10,2)`, `array<string>`, ...
    #[serde(rename = "type")]
    pub data_type: String,
    #[serde(default)]
    pub comment: Option<String>,
}

impl Column {
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Self {
        Column { name: name.into(), data_type: data_type.into(), comment: None }
    }
}

/// Glue `SerDeInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SerDeInfo {
    #[serde(default)]
    pub serialization_library: Option<String>,
    #[serde(default)]
    pub parameters: Parameters,
}

/// Glue `StorageDescriptor`: where and how a table's (or partition's) data is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageDescriptor {
    #[serde(default)]
    pub columns: Vec<Column>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub input_format: Option<String>,
    #[serde(default)]
    pub output_format: Option<String>,
    #[serde(default)]
    pub compressed: bool,
    #[serde(default)]
    pub serde_info: SerDeInfo,
    #[serde(default)]
    pub parameters: Parameters,
}

/// A Glue table: an external table, a view or an Iceberg table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub database_name: String,
    pub table_type: TableType,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub storage_descriptor: StorageDescriptor,
    #[serde(default)]
    pub partition_keys: Vec<Column>,
    /// TBLPROPERTIES.
    #[serde(default)]
    pub parameters: Parameters,
    /// A view's SQL text as written.
    #[serde(default)]
    pub view_original_text: Option<String>,
    #[serde(default)]
    pub view_expanded_text: Option<String>,
    #[serde(default)]
    pub create_time: i64,
    #[serde(default)]
    pub update_time: i64,
}

impl Table {
    pub fn is_view(&self) -> bool {
        self.table_type == TableType::VirtualView
    }

    /// Where a partition's files are: its own LOCATION, or Hive's `k=v/`
    /// folders under the table's.
    pub fn partition_location(&self, partition: &Partition) -> Option<String> {
        if let Some(location) = partition.storage_descriptor.location.as_deref().filter(|l| !l.is_empty()) {
            return Some(location.to_string());
        }
        let base = self.storage_descriptor.location.as_deref()?.trim_end_matches('/');
        let path: Vec<String> =
            self.partition_keys.iter().zip(&partition.values).map(|(k, v)| format!("{}={}", k.name, escape(v))).collect();
        Some(format!("{base}/{}/", path.join("/")))
    }
}

/// A partition value as Hive writes it in a folder name.
fn escape(value: &str) -> String {
    value
        .chars()
        .map(|c| if matches!(c, '/' | '=' | '%' | ':' | '#' | '\\' | '"' | '\'') { format!("%{:02X}", c as u32) } else { c.to_string() })
        .collect()
}

/// A Glue partition: values for the table's partition keys and its own storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    pub values: Vec<String>,
    #[serde(default)]
    pub storage_descriptor: StorageDescriptor,
    #[serde(default)]
    pub parameters: Parameters,
    #[serde(default)]
    pub create_time: i64,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A user who may log in: the name and the SCRAM-SHA-256 verifier of the
/// password (`SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey`, as
/// PostgreSQL stores it); the password itself is never kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub verifier: String,
}
