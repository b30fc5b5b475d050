//! The AWS Glue Data Catalog as a [`Metastore`], through aws-sdk-glue.
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
//! naming the endpoint. Users and workgroups are not Glue objects: they
//! stay in the embedded [`super::SecurityStore`] in `data_dir`.
//!
//! `update_table` is a compare-and-swap: the version the table was read
//! at goes to Glue as `VersionId` (Glue refuses a stale one with
//! ConcurrentModificationException), and is checked against the current
//! version first for endpoints that do not enforce it.

use super::model::{Database, Partition, StorageDescriptor, Table};
use super::{database_exists, database_not_empty, no_such_table, normalize, table_changed, table_exists};
use super::{unknown_database, IfExists, KeyCondition, KeyTest, Metastore};
use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use async_trait::async_trait;
use aws_sdk_glue::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types as glue;
use aws_sdk_glue::Client;

mod shapes;
use shapes::{from_glue_database, from_glue_partition, from_glue_table, to_glue_sd, to_glue_table, to_map};

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
}

impl GlueCatalog {
    /// A client for the configured Glue endpoint.
    pub async fn connect(config: &Config) -> Result<GlueCatalog> {
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
        Ok(GlueCatalog { client: Client::new(&sdk), catalog_id, endpoint })
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
impl Metastore for GlueCatalog {
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
                    let current = self.get_table(&table.database_name, &table.name).await?;
                    let version = current.map(|t| t.version).unwrap_or_default();
                    self.update_table(Table { version, ..table.clone() }).await?;
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

    async fn update_table(&self, mut table: Table) -> Result<i64> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        let (database, name) = (table.database_name.clone(), table.name.clone());
        let current = self.get_table(&database, &name).await?.ok_or_else(|| no_such_table(&database, &name))?;
        if current.version != table.version {
            return Err(table_changed(&table, current.version));
        }
        let input = to_glue_table(&table)?;
        // Glue numbers a table's versions from 0, and refuses the update if
        // the table is no longer at this one (as pyiceberg and Iceberg's
        // Java GlueCatalog send it).
        let version_id = Some(table.version.to_string());
        match self
            .client
            .update_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&database)
            .table_input(input)
            .set_version_id(version_id)
            .send()
            .await
        {
            Ok(_) => {
                let now = self.get_table(&database, &name).await?;
                Ok(now.map(|t| t.version).unwrap_or(current.version + 1))
            }
            Err(e) if e.code() == Some("EntityNotFoundException") => Err(no_such_table(&database, &name)),
            Err(e) if e.code() == Some("ConcurrentModificationException") => {
                let now = self.get_table(&database, &name).await?.map(|t| t.version).unwrap_or_default();
                Err(table_changed(&table, now))
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
