//! The AWS Glue Data Catalog as a [`Catalog`], through aws-sdk-glue.
//!
//! Tables are written in the shapes Athena and Glue crawlers write
//! (EXTERNAL_TABLE, a StorageDescriptor with Hive input/output formats
//! and SerDe, partition keys; each partition with its own full
//! StorageDescriptor), so tables created here are readable by Athena and
//! the other way round. Athena's views (`/* Presto View: ... */`) are read
//! as their SQL text.
//!
//! Partition conditions become a GetPartitions expression
//! (`key IN ('a', 'b')`); listing a whole table reads it in parallel
//! segments. Unreachable or throttling endpoints are retried with
//! exponential backoff (`glue.max_attempts`), then reported as 58030
//! naming the endpoint. Users are not Glue objects: they stay in the
//! embedded store in `data_dir`, and so do workgroups.

use super::model::{
    now, Column, Database, Parameters, Partition, SerDeInfo, StorageDescriptor, Table, TableType, User, Workgroup,
};
use super::{database_exists, database_not_empty, no_such_table, normalize, table_exists, unknown_database};
use super::{Catalog, IfExists, KeyCondition, KeyTest};
use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use async_trait::async_trait;
use aws_sdk_glue::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types as glue;
use aws_sdk_glue::Client;
use std::collections::HashMap;
use std::sync::Arc;

/// Glue's limits per batch call.
const CREATE_BATCH: usize = 100;
const DELETE_BATCH: usize = 25;
/// Parallel GetPartitions segments when a whole table is listed.
const SEGMENTS: i32 = 4;

#[derive(Debug)]
pub struct GlueCatalog {
    client: Client,
    catalog_id: Option<String>,
    /// What error messages call the endpoint.
    endpoint: String,
    users: Arc<dyn Catalog>,
}

impl GlueCatalog {
    /// A client for the configured Glue endpoint; `users` keeps the users.
    pub async fn connect(config: &Config, users: Arc<dyn Catalog>) -> Result<GlueCatalog> {
        use aws_config::retry::RetryConfig;
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let attempts = config.number("glue.max_attempts")?.clamp(1, 20) as u32;
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let region = [config.get("glue.region").to_string(), std::env::var("AWS_REGION").unwrap_or_default()]
            .into_iter()
            .find(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(region.clone()))
            .timeout_config(timeouts)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(std::time::Duration::from_millis(200))
                    .with_max_backoff(std::time::Duration::from_secs(5)),
            );
        let endpoint = config.get("glue.endpoint");
        if !endpoint.is_empty() {
            loader = loader.endpoint_url(endpoint);
        }
        let (key, secret) = (config.get("glue.access_key_id"), config.get("glue.secret_access_key"));
        if !key.is_empty() {
            loader =
                loader.credentials_provider(aws_sdk_glue::config::Credentials::new(key, secret, None, None, "glaux"));
        }
        let sdk = loader.load().await;
        let catalog_id = Some(config.get("glue.catalog_id").to_string()).filter(|c| !c.is_empty());
        let endpoint =
            if endpoint.is_empty() { format!("AWS Glue in {region}") } else { format!("Glue endpoint {endpoint}") };
        Ok(GlueCatalog { client: Client::new(&sdk), catalog_id, endpoint, users })
    }

    /// A Glue call's failure as a glaux error.
    fn error<E, R>(&self, what: &str, e: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let code = e.as_service_error().and_then(|s| s.code()).unwrap_or_default().to_string();
        let message = e.as_service_error().and_then(|s| s.message()).unwrap_or_default().to_string();
        match (&e, code.as_str()) {
            (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => Error::new(
                SqlState::IoError,
                format!(
                    "{} cannot be reached ({what}): {}",
                    self.endpoint,
                    aws_sdk_glue::error::DisplayErrorContext(&e)
                ),
            )
            .with_hint("check glue.endpoint and glue.region, and that the endpoint is up"),
            (_, "ThrottlingException") => Error::new(
                SqlState::IoError,
                format!("{} kept throttling ({what}) after every retry: {message}", self.endpoint),
            )
            .with_hint("try again later, or raise glue.max_attempts"),
            (_, "AccessDeniedException") => {
                Error::new(SqlState::InsufficientPrivilege, format!("{} refused {what}: {message}", self.endpoint))
            }
            _ => Error::new(
                SqlState::IoError,
                format!("{} failed {what}: {}", self.endpoint, aws_sdk_glue::error::DisplayErrorContext(&e)),
            ),
        }
    }

    async fn known_databases(&self) -> Result<Vec<String>> {
        Ok(self.list_databases().await?.into_iter().map(|d| d.name).collect())
    }

    /// One GetPartitions listing (all segments when `segmented`).
    async fn get_partitions(
        &self,
        database: &str,
        table: &str,
        expression: Option<String>,
        segmented: bool,
    ) -> Result<Vec<Partition>> {
        let segments: Vec<Option<glue::Segment>> = if segmented {
            (0..SEGMENTS)
                .map(|n| glue::Segment::builder().segment_number(n).total_segments(SEGMENTS).build().ok())
                .collect()
        } else {
            vec![None]
        };
        let reads = segments.into_iter().map(|segment| {
            let expression = expression.clone();
            async move {
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let response = self
                        .client
                        .get_partitions()
                        .set_catalog_id(self.catalog_id.clone())
                        .database_name(database)
                        .table_name(table)
                        .set_expression(expression.clone())
                        .set_segment(segment.clone())
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| self.error(&format!("listing partitions of {database}.{table}"), e))?;
                    out.extend(response.partitions().iter().map(from_glue_partition));
                    match response.next_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_string()),
                        _ => break,
                    }
                }
                Ok::<_, Error>(out)
            }
        });
        let mut all = Vec::new();
        for part in futures::future::join_all(reads).await {
            all.extend(part?);
        }
        // Segments are disjoint on AWS; a Glue-compatible server that
        // ignores them returns every partition in each, so merge by values.
        all.sort_by(|a, b| a.values.cmp(&b.values));
        all.dedup_by(|a, b| a.values == b.values);
        Ok(all)
    }

    /// Partitions as Glue wants them: each with a full StorageDescriptor
    /// (the table's, at the partition's location), as Athena writes them.
    fn partition_inputs(&self, table: &Table, partitions: &[Partition]) -> Vec<glue::PartitionInput> {
        partitions
            .iter()
            .map(|p| {
                let mut sd = p.storage_descriptor.clone();
                if sd.columns.is_empty() {
                    sd = StorageDescriptor { location: sd.location.clone(), ..table.storage_descriptor.clone() };
                }
                sd.location = table.partition_location(p);
                glue::PartitionInput::builder()
                    .set_values(Some(p.values.clone()))
                    .storage_descriptor(to_glue_sd(&sd))
                    .set_parameters(Some(to_map(&p.parameters)))
                    .build()
            })
            .collect()
    }
}

#[async_trait]
impl Catalog for GlueCatalog {
    async fn create_database(&self, db: Database, if_not_exists: bool) -> Result<bool> {
        let name = normalize(&db.name);
        let input = glue::DatabaseInput::builder()
            .name(&name)
            .set_description(db.description.clone())
            .set_location_uri(db.location_uri.clone())
            .set_parameters(Some(to_map(&db.parameters)))
            .build()
            .map_err(|e| Error::internal(format!("Glue database input: {e}")))?;
        match self.client.create_database().set_catalog_id(self.catalog_id.clone()).database_input(input).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("AlreadyExistsException") => {
                if if_not_exists {
                    Ok(false)
                } else {
                    Err(database_exists(&name))
                }
            }
            Err(e) => Err(self.error(&format!("creating database {name}"), e)),
        }
    }

    async fn get_database(&self, name: &str) -> Result<Option<Database>> {
        let name = normalize(name);
        match self.client.get_database().set_catalog_id(self.catalog_id.clone()).name(&name).send().await {
            Ok(out) => Ok(out.database().map(from_glue_database)),
            Err(e) if e.code() == Some("EntityNotFoundException") => Ok(None),
            Err(e) => Err(self.error(&format!("reading database {name}"), e)),
        }
    }

    async fn list_databases(&self) -> Result<Vec<Database>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let response = self
                .client
                .get_databases()
                .set_catalog_id(self.catalog_id.clone())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("listing databases", e))?;
            out.extend(response.database_list().iter().map(from_glue_database));
            match response.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn drop_database(&self, name: &str, if_exists: bool, cascade: bool) -> Result<bool> {
        let name = normalize(name);
        if self.get_database(&name).await?.is_none() {
            if if_exists {
                return Ok(false);
            }
            return Err(unknown_database(&name, &self.known_databases().await?));
        }
        let tables = self.list_tables(&name).await?.len();
        if tables > 0 && !cascade {
            return Err(database_not_empty(&name, tables));
        }
        // Glue drops a database's tables and partitions with it.
        self.client
            .delete_database()
            .set_catalog_id(self.catalog_id.clone())
            .name(&name)
            .send()
            .await
            .map_err(|e| self.error(&format!("dropping database {name}"), e))?;
        Ok(true)
    }

    async fn create_table(&self, mut table: Table, if_exists: IfExists, partitions: Vec<Partition>) -> Result<bool> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        if self.get_database(&table.database_name).await?.is_none() {
            return Err(unknown_database(&table.database_name, &self.known_databases().await?));
        }
        let input = to_glue_table(&table)?;
        let created = self
            .client
            .create_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&table.database_name)
            .table_input(input)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("AlreadyExistsException") => match if_exists {
                IfExists::Skip => return Ok(false),
                IfExists::Fail => {
                    let existing = self.get_table(&table.database_name, &table.name).await?.unwrap_or(table);
                    return Err(table_exists(&existing));
                }
                IfExists::Replace => {
                    self.update_table(table.clone()).await?;
                    let old: Vec<Vec<String>> = self
                        .list_partitions(&table.database_name, &table.name)
                        .await?
                        .into_iter()
                        .map(|p| p.values)
                        .collect();
                    self.drop_partitions(&table.database_name, &table.name, &old).await?;
                }
            },
            Err(e) => return Err(self.error(&format!("creating table {}.{}", table.database_name, table.name), e)),
        }
        if let Err(e) = self.add_partitions(&table.database_name, &table.name, partitions).await {
            // No half-made table: take it away again before reporting.
            let _ = self.drop_table(&table.database_name, &table.name).await;
            return Err(e);
        }
        Ok(true)
    }

    async fn get_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        let (database, name) = (normalize(database), normalize(name));
        match self
            .client
            .get_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&database)
            .name(&name)
            .send()
            .await
        {
            Ok(out) => out.table().map(|t| from_glue_table(t, &database)).transpose(),
            Err(e) if e.code() == Some("EntityNotFoundException") => Ok(None),
            Err(e) => Err(self.error(&format!("reading table {database}.{name}"), e)),
        }
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<Table>> {
        let database = normalize(database);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let response = match self
                .client
                .get_tables()
                .set_catalog_id(self.catalog_id.clone())
                .database_name(&database)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) if e.code() == Some("EntityNotFoundException") => {
                    return Err(unknown_database(&database, &self.known_databases().await?))
                }
                Err(e) => return Err(self.error(&format!("listing tables of {database}"), e)),
            };
            for t in response.table_list() {
                out.push(from_glue_table(t, &database)?);
            }
            match response.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn update_table(&self, mut table: Table) -> Result<()> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        let input = to_glue_table(&table)?;
        match self
            .client
            .update_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&table.database_name)
            .table_input(input)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("EntityNotFoundException") => {
                Err(no_such_table(&table.database_name, &table.name))
            }
            Err(e) => Err(self.error(&format!("updating table {}.{}", table.database_name, table.name), e)),
        }
    }

    async fn table_versions(&self, database: &str, name: &str) -> Result<Vec<(i64, Table)>> {
        let (database, name) = (normalize(database), normalize(name));
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let response = self
                .client
                .get_table_versions()
                .set_catalog_id(self.catalog_id.clone())
                .database_name(&database)
                .table_name(&name)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.error(&format!("listing versions of {database}.{name}"), e))?;
            for v in response.table_versions() {
                let (Some(id), Some(t)) = (v.version_id().and_then(|i| i.parse::<i64>().ok()), v.table()) else {
                    continue;
                };
                out.push((id, from_glue_table(t, &database)?));
            }
            match response.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by_key(|(v, _)| *v);
        Ok(out)
    }

    async fn drop_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        let Some(existing) = self.get_table(database, name).await? else { return Ok(None) };
        match self
            .client
            .delete_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&existing.database_name)
            .name(&existing.name)
            .send()
            .await
        {
            Ok(_) => Ok(Some(existing)),
            Err(e) if e.code() == Some("EntityNotFoundException") => Ok(None),
            Err(e) => Err(self.error(&format!("dropping table {}.{}", existing.database_name, existing.name), e)),
        }
    }

    async fn add_partitions(&self, database: &str, table: &str, partitions: Vec<Partition>) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let (database, name) = (normalize(database), normalize(table));
        let table = self.get_table(&database, &name).await?.ok_or_else(|| no_such_table(&database, &name))?;
        let inputs = self.partition_inputs(&table, &partitions);
        let what = format!("adding partitions to {database}.{name}");
        for chunk in inputs.chunks(CREATE_BATCH) {
            let response = self
                .client
                .batch_create_partition()
                .set_catalog_id(self.catalog_id.clone())
                .database_name(&database)
                .table_name(&name)
                .set_partition_input_list(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| self.error(&what, e))?;
            // Partitions that exist are replaced, as the trait promises.
            for failure in response.errors() {
                let code = failure.error_detail().and_then(|d| d.error_code()).unwrap_or_default();
                let values = failure.partition_values().to_vec();
                let input = chunk.iter().find(|p| p.values() == values.as_slice()).cloned();
                match (code, input) {
                    ("AlreadyExistsException", Some(input)) => {
                        self.client
                            .update_partition()
                            .set_catalog_id(self.catalog_id.clone())
                            .database_name(&database)
                            .table_name(&name)
                            .set_partition_value_list(Some(values))
                            .partition_input(input)
                            .send()
                            .await
                            .map_err(|e| self.error(&what, e))?;
                    }
                    _ => {
                        let message = failure.error_detail().and_then(|d| d.error_message()).unwrap_or_default();
                        return Err(Error::new(
                            SqlState::IoError,
                            format!(
                                "{} refused partition {values:?} of {database}.{name}: {code} {message}",
                                self.endpoint
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    async fn list_partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>> {
        self.get_partitions(&normalize(database), &normalize(table), None, true).await
    }

    async fn list_partitions_where(
        &self,
        database: &str,
        table: &str,
        conditions: &[KeyCondition],
    ) -> Result<Vec<Partition>> {
        let (database, name) = (normalize(database), normalize(table));
        let t = self.get_table(&database, &name).await?.ok_or_else(|| no_such_table(&database, &name))?;
        let expression = expression(&t, conditions);
        self.get_partitions(&database, &name, expression, false).await
    }

    async fn count_partitions(&self, _database: &str, _table: &str) -> Result<Option<usize>> {
        // Glue cannot count without listing every partition.
        Ok(None)
    }

    async fn drop_partitions(&self, database: &str, table: &str, values: &[Vec<String>]) -> Result<usize> {
        let (database, name) = (normalize(database), normalize(table));
        let mut dropped = 0;
        for chunk in values.chunks(DELETE_BATCH) {
            let lists = chunk
                .iter()
                .map(|v| glue::PartitionValueList::builder().set_values(Some(v.clone())).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::internal(format!("Glue partition values: {e}")))?;
            let response = self
                .client
                .batch_delete_partition()
                .set_catalog_id(self.catalog_id.clone())
                .database_name(&database)
                .table_name(&name)
                .set_partitions_to_delete(Some(lists))
                .send()
                .await
                .map_err(|e| self.error(&format!("dropping partitions of {database}.{name}"), e))?;
            dropped += chunk.len() - response.errors().len();
        }
        Ok(dropped)
    }

    async fn put_user(&self, user: User, create: bool) -> Result<()> {
        self.users.put_user(user, create).await
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        self.users.get_user(name).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.users.list_users().await
    }

    async fn drop_user(&self, name: &str) -> Result<bool> {
        self.users.drop_user(name).await
    }

    async fn put_workgroup(&self, workgroup: Workgroup, create: bool) -> Result<()> {
        self.users.put_workgroup(workgroup, create).await
    }

    async fn get_workgroup(&self, name: &str) -> Result<Option<Workgroup>> {
        self.users.get_workgroup(name).await
    }

    async fn list_workgroups(&self) -> Result<Vec<Workgroup>> {
        self.users.list_workgroups().await
    }

    async fn drop_workgroup(&self, name: &str) -> Result<bool> {
        self.users.drop_workgroup(name).await
    }
}

/// A GetPartitions expression for key conditions (`k IN ('a', 'b')`,
/// `k >= 5 AND k <= 9`; numbers bare for integer keys), or None for none.
/// A condition on a value with control characters is left out: Glue's
/// expressions have no way to write them (a tab matched nothing). The
/// partitions listed are pruned again by glaux, so leaving one out only
/// lists more.
fn expression(table: &Table, conditions: &[KeyCondition]) -> Option<String> {
    let writable = |c: &&KeyCondition| {
        let values: Vec<&String> = match &c.test {
            KeyTest::In(values) => values.iter().collect(),
            KeyTest::Range { low, high } => low.iter().chain(high.iter()).collect(),
        };
        !values.iter().any(|v| v.chars().any(char::is_control))
    };
    let parts: Vec<String> = conditions
        .iter()
        .filter(writable)
        .filter_map(|c| {
            let key = &table.partition_keys.get(c.index)?.name;
            let literal = |v: &String| if c.integer { v.clone() } else { format!("'{}'", v.replace('\'', "''")) };
            match &c.test {
                KeyTest::In(values) => {
                    Some(format!("{key} IN ({})", values.iter().map(literal).collect::<Vec<_>>().join(", ")))
                }
                KeyTest::Range { low, high } => {
                    let mut bounds = Vec::new();
                    if let Some(low) = low {
                        bounds.push(format!("{key} >= {}", literal(low)));
                    }
                    if let Some(high) = high {
                        bounds.push(format!("{key} <= {}", literal(high)));
                    }
                    (!bounds.is_empty()).then(|| bounds.join(" AND "))
                }
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

fn to_map(p: &Parameters) -> HashMap<String, String> {
    p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn from_map(p: Option<&HashMap<String, String>>) -> Parameters {
    p.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn to_glue_columns(columns: &[Column]) -> Result<Vec<glue::Column>> {
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

fn from_glue_columns(columns: &[glue::Column]) -> Vec<Column> {
    columns
        .iter()
        .map(|c| Column {
            name: normalize(c.name()),
            data_type: c.r#type().unwrap_or("string").to_ascii_lowercase(),
            comment: c.comment().map(str::to_string),
        })
        .collect()
}

fn to_glue_sd(sd: &StorageDescriptor) -> glue::StorageDescriptor {
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

fn from_glue_sd(sd: Option<&glue::StorageDescriptor>) -> StorageDescriptor {
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

fn from_glue_database(db: &glue::Database) -> Database {
    Database {
        name: normalize(db.name()),
        description: db.description().map(str::to_string),
        location_uri: db.location_uri().map(str::to_string),
        parameters: from_map(db.parameters()),
        create_time: db.create_time().map(|t| t.secs()).unwrap_or_default(),
    }
}

fn to_glue_table(table: &Table) -> Result<glue::TableInput> {
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
        .table_type(table_type)
        .storage_descriptor(to_glue_sd(&table.storage_descriptor))
        .set_partition_keys(Some(to_glue_columns(&table.partition_keys)?))
        .set_parameters(Some(parameters))
        .set_view_original_text(original)
        .set_view_expanded_text(expanded)
        .build()
        .map_err(|e| Error::internal(format!("Glue table input: {e}")))
}

fn from_glue_table(t: &glue::Table, database: &str) -> Result<Table> {
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
    })
}

/// A view as Athena writes it: `/* Presto View: <base64 JSON> */`, the
/// JSON holding the SQL, the database and the columns with Presto types.
fn presto_view_text(table: &Table, sql: &str) -> String {
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
fn presto_type(hive: &str) -> String {
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
fn split_top(text: &str) -> Option<(String, String)> {
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
fn presto_view_sql(text: &str) -> String {
    use base64::Engine as _;
    let encoded = text.trim().strip_prefix("/* Presto View: ").and_then(|r| r.strip_suffix("*/")).map(str::trim);
    let sql = encoded
        .and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok())
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("originalSql").and_then(|s| s.as_str()).map(str::to_string));
    sql.unwrap_or_else(|| text.to_string())
}

fn from_glue_partition(p: &glue::Partition) -> Partition {
    Partition {
        values: p.values().to_vec(),
        storage_descriptor: from_glue_sd(p.storage_descriptor()),
        parameters: from_map(p.parameters()),
        create_time: p.creation_time().map(|t| t.secs()).unwrap_or_default(),
    }
}
