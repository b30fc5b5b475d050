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
        Database {
            name: name.into(),
            description: None,
            location_uri: None,
            parameters: Parameters::new(),
            create_time: now(),
        }
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
    /// The version of this definition, set by the metastore that stored
    /// it (0 for one not yet stored); `update_table` succeeds only while
    /// the table is still at it.
    #[serde(default)]
    pub version: i64,
    /// The user who created it (Glue's `Owner`), who may destroy it.
    #[serde(default)]
    pub owner: Option<String>,
}

impl Table {
    /// An external table `database.name` with these columns and nothing
    /// else set (a store sets its times and version when it keeps it).
    pub fn external(database: &str, name: &str, columns: Vec<Column>) -> Table {
        Table {
            name: name.to_string(),
            database_name: database.to_string(),
            table_type: TableType::ExternalTable,
            description: None,
            storage_descriptor: StorageDescriptor { columns, ..Default::default() },
            partition_keys: Vec::new(),
            parameters: Parameters::new(),
            view_original_text: None,
            view_expanded_text: None,
            create_time: 0,
            update_time: 0,
            version: 0,
            owner: None,
        }
    }

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
        let path: Vec<String> = self
            .partition_keys
            .iter()
            .zip(&partition.values)
            .map(|(k, v)| format!("{}={}", k.name, hive_escape(v)))
            .collect();
        Some(format!("{base}/{}/", path.join("/")))
    }
}

/// A partition value as Hive writes it in a folder name: the characters
/// of Hive's `FileUtils.escapePathName` (control characters, `"`, `#`,
/// `%`, `'`, `*`, `/`, `:`, `=`, `?`, `\\`, DEL, `{`, `[`, `]`, `^`) as
/// `%XX`.
pub fn hive_escape(value: &str) -> String {
    let escaped = |c: char| {
        c < ' '
            || matches!(c, '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '\x7f' | '{' | '[' | ']' | '^')
    };
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if escaped(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
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
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A user who may log in: the name and the SCRAM-SHA-256 verifier of the
/// password (`SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey`, as
/// PostgreSQL stores it); the password itself is never kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub verifier: String,
    /// May manage users and workgroups (SUPERUSER).
    #[serde(default)]
    pub admin: bool,
    /// The workgroup the user's sessions start in (else `primary`).
    #[serde(default)]
    pub workgroup: Option<String>,
}

/// What a workgroup does when its hourly or daily usage limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitAction {
    /// Refuse new queries until the window resets.
    Block,
    /// Run them, with a warning.
    Warn,
}

/// A workgroup: the limits, prices and access rules queries run under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workgroup {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub enabled: bool,
    /// A query stops (53400) once it has read more than this.
    #[serde(default)]
    pub bytes_scanned_cutoff_per_query: Option<u64>,
    /// Bytes all its queries may scan per clock hour / UTC day.
    #[serde(default)]
    pub hourly_limit_bytes: Option<u64>,
    #[serde(default)]
    pub daily_limit_bytes: Option<u64>,
    pub limit_action: LimitAction,
    /// USD per TB (2^40 bytes) scanned.
    pub price_per_tb: f64,
    /// Each query is billed at least this many bytes (before MB rounding).
    pub minimum_billed_bytes: u64,
    /// Queries running at once; more wait (QUEUED) up to `queue_timeout_ms`.
    #[serde(default)]
    pub max_concurrent_queries: Option<u32>,
    pub queue_timeout_ms: u64,
    /// Memory one query may use.
    #[serde(default)]
    pub query_memory_limit: Option<u64>,
    /// Milliseconds a statement may run.
    #[serde(default)]
    pub statement_timeout_ms: Option<u64>,
    /// Whether sessions may override the workgroup's settings.
    pub allow_user_override: bool,
    /// Users who may use it (`public`: everyone).
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub create_time: i64,
}

impl Workgroup {
    /// The default workgroup every catalog has.
    pub const PRIMARY: &'static str = "primary";

    /// A workgroup with Athena's defaults: enabled, no limits, 5.00 USD
    /// per TB, 10 MB minimum per query, open to everyone.
    pub fn new(name: impl Into<String>) -> Workgroup {
        Workgroup {
            name: name.into(),
            description: None,
            enabled: true,
            bytes_scanned_cutoff_per_query: None,
            hourly_limit_bytes: None,
            daily_limit_bytes: None,
            limit_action: LimitAction::Block,
            price_per_tb: 5.0,
            minimum_billed_bytes: 10 * 1024 * 1024,
            max_concurrent_queries: None,
            queue_timeout_ms: 300_000,
            query_memory_limit: None,
            statement_timeout_ms: None,
            allow_user_override: true,
            grants: vec!["public".into()],
            create_time: now(),
        }
    }

    /// Whether `user` may run queries in it.
    pub fn admits(&self, user: &str) -> bool {
        self.grants.iter().any(|g| g == "public" || g.eq_ignore_ascii_case(user))
    }
}
