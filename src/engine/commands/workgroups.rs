//! Workgroup statements (admins change workgroups; anyone may look):
//!
//! - `CREATE WORKGROUP wg [WITH (option = value, ...)]`
//! - `ALTER WORKGROUP wg SET (option = value, ...)`, `ALTER WORKGROUP wg
//!   ENABLE | DISABLE`
//! - `DROP WORKGROUP [IF EXISTS] wg`
//! - `GRANT USAGE ON WORKGROUP wg TO user [, ...]`, `REVOKE USAGE ON
//!   WORKGROUP wg FROM user [, ...]` (`PUBLIC`: everyone)
//! - `SHOW WORKGROUPS`, `DESCRIBE WORKGROUP wg`
//! - `SHOW QUERIES` (queued and running: one's own, or all for admins),
//!   `CANCEL QUERY 'id'` (its owner or an admin)
//!
//! Options: `description`, `bytes_scanned_cutoff_per_query`,
//! `hourly_limit`, `daily_limit` (sizes: `10MB`, `1.5GB`, or `none`),
//! `limit_action` (`block` | `warn`), `price_per_tb` (USD),
//! `minimum_billed_bytes`, `max_concurrent_queries`, `queue_timeout`,
//! `statement_timeout` (durations: `30s`, `5min`, milliseconds),
//! `query_memory_limit`, `allow_user_override` (`true` | `false`).

use super::{Command, Context, Family};
use crate::catalog::{require_workgroup, LimitAction, SecurityStore, Workgroup};
use crate::engine::output::{text_rows, Output};
use crate::engine::parser::GlauxParser;
use crate::engine::privileges::{is_admin, Privilege};
use crate::engine::statement::SqlText;
use crate::error::{Error, Result, SqlState};
use crate::workgroup::{human_bytes, parse_bytes, parse_millis};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::tokenizer::Token;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum WorkgroupCommand {
    Create { name: String, options: Vec<(String, String)> },
    Set { name: String, options: Vec<(String, String)> },
    Enable { name: String, enabled: bool },
    Drop { name: String, if_exists: bool },
    Grant { name: String, users: Vec<String>, grant: bool },
    Show,
    Describe { name: String },
    ShowQueries,
    Cancel { id: String },
}

pub(super) const FAMILY: Family = Family { own_syntax: Some((is_workgroup_statement, parse)), from_ast: None };

#[async_trait::async_trait]
impl Command for WorkgroupCommand {
    fn schema(&self, _cx: &dyn Context) -> Result<SchemaRef> {
        Ok(result_schema(self))
    }

    /// Anyone may look (and see and cancel their own queries); changing a
    /// workgroup takes an admin.
    fn privilege(&self, _user: &str) -> Privilege {
        match self {
            WorkgroupCommand::Show
            | WorkgroupCommand::Describe { .. }
            | WorkgroupCommand::ShowQueries
            | WorkgroupCommand::Cancel { .. } => Privilege::Anyone,
            _ => Privilege::Admin { what: "change workgroups" },
        }
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        run(cx.security().as_ref(), cx.active(), self, cx.user(), cx.local()).await
    }
}

/// Whether a statement's first words make it a workgroup statement.
fn is_workgroup_statement(words: &[&str]) -> bool {
    matches!(
        words,
        ["CREATE" | "ALTER" | "DROP", "WORKGROUP", ..]
            | ["SHOW", "WORKGROUPS", ..]
            | ["DESCRIBE", "WORKGROUP", ..]
            | ["GRANT" | "REVOKE", "USAGE", "ON", "WORKGROUP"]
            | ["SHOW", "QUERIES", ..]
            | ["CANCEL", "QUERY", ..]
    )
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut w = GlauxParser::new(stmt)?;
    let verb = w.next_word()?;
    let command = match verb.as_str() {
        "SHOW" if w.is_word("QUERIES") => {
            w.next_word()?;
            WorkgroupCommand::ShowQueries
        }
        "SHOW" => {
            w.expect_word("WORKGROUPS")?;
            WorkgroupCommand::Show
        }
        "CANCEL" => {
            w.expect_word("QUERY")?;
            WorkgroupCommand::Cancel { id: w.literal()? }
        }
        "DESCRIBE" => {
            w.expect_word("WORKGROUP")?;
            WorkgroupCommand::Describe { name: w.name()? }
        }
        "CREATE" => {
            w.expect_word("WORKGROUP")?;
            let name = w.name()?;
            let options = if w.is_word("WITH") {
                w.next_word()?;
                options(&mut w)?
            } else {
                Vec::new()
            };
            WorkgroupCommand::Create { name, options }
        }
        "ALTER" => {
            w.expect_word("WORKGROUP")?;
            let name = w.name()?;
            match w.next_word()?.as_str() {
                "SET" => WorkgroupCommand::Set { name, options: options(&mut w)? },
                "ENABLE" => WorkgroupCommand::Enable { name, enabled: true },
                "DISABLE" => WorkgroupCommand::Enable { name, enabled: false },
                other => {
                    return Err(
                        w.error_at_last(format!("ALTER WORKGROUP takes SET (...), ENABLE or DISABLE, not {other}"))
                    )
                }
            }
        }
        "DROP" => {
            w.expect_word("WORKGROUP")?;
            let if_exists = w.is_word("IF");
            if if_exists {
                w.next_word()?;
                w.expect_word("EXISTS")?;
            }
            WorkgroupCommand::Drop { name: w.name()?, if_exists }
        }
        _ => {
            let grant = verb == "GRANT";
            w.expect_word("USAGE")?;
            w.expect_word("ON")?;
            w.expect_word("WORKGROUP")?;
            let name = w.name()?;
            w.expect_word(if grant { "TO" } else { "FROM" })?;
            let mut users = vec![w.name()?];
            while w.consume(&Token::Comma) {
                users.push(w.name()?);
            }
            WorkgroupCommand::Grant { name, users, grant }
        }
    };
    if !w.at_end() {
        return Err(w.error_here("unexpected text after the workgroup statement"));
    }
    Ok(Box::new(command))
}

/// `(key = value, ...)`
fn options(w: &mut GlauxParser<'_>) -> Result<Vec<(String, String)>> {
    w.expect_token(Token::LParen)?;
    let mut out = Vec::new();
    loop {
        let key = w.name()?;
        w.expect_token(Token::Eq)?;
        out.push((key, w.value()?));
        if !w.consume(&Token::Comma) {
            break;
        }
    }
    w.expect_token(Token::RParen)?;
    Ok(out)
}

/// Apply `options` to a workgroup (22023 naming a bad one).
fn apply(wg: &mut Workgroup, options: &[(String, String)]) -> Result<()> {
    for (key, value) in options {
        let bad = |what: &str| {
            Error::new(SqlState::InvalidParameterValue, format!("workgroup option {key} = {value:?}: {what}"))
        };
        let none = value.eq_ignore_ascii_case("none") || value == "0" && key != "price_per_tb";
        let size = || {
            if none {
                Ok(None)
            } else {
                parse_bytes(value).map(Some).ok_or_else(|| bad("expected a size such as 10MB or none"))
            }
        };
        let millis = || {
            if none {
                Ok(None)
            } else {
                parse_millis(value).map(Some).ok_or_else(|| bad("expected a duration such as 30s or 5min"))
            }
        };
        match key.as_str() {
            "description" => wg.description = Some(value.clone()),
            "bytes_scanned_cutoff_per_query" => wg.bytes_scanned_cutoff_per_query = size()?,
            "hourly_limit" => wg.hourly_limit_bytes = size()?,
            "daily_limit" => wg.daily_limit_bytes = size()?,
            "limit_action" => {
                wg.limit_action = match value.to_ascii_lowercase().as_str() {
                    "block" => LimitAction::Block,
                    "warn" => LimitAction::Warn,
                    _ => return Err(bad("expected block or warn")),
                }
            }
            "price_per_tb" => {
                wg.price_per_tb = value.parse::<f64>().ok().filter(|p| *p >= 0.0 && p.is_finite()).ok_or_else(|| bad("expected a price in USD"))?
            }
            "minimum_billed_bytes" => wg.minimum_billed_bytes = size()?.unwrap_or(0),
            "max_concurrent_queries" => {
                wg.max_concurrent_queries =
                    if none { None } else { Some(value.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| bad("expected a number of queries"))?) }
            }
            "queue_timeout" => wg.queue_timeout_ms = millis()?.unwrap_or(0),
            "statement_timeout" => wg.statement_timeout_ms = millis()?,
            "query_memory_limit" => wg.query_memory_limit = size()?,
            "allow_user_override" => {
                wg.allow_user_override = match value.to_ascii_lowercase().as_str() {
                    "true" | "on" | "yes" => true,
                    "false" | "off" | "no" => false,
                    _ => return Err(bad("expected true or false")),
                }
            }
            _ => {
                return Err(Error::new(
                    SqlState::InvalidParameterValue,
                    format!(
                        "unknown workgroup option {key}; options are description, bytes_scanned_cutoff_per_query, hourly_limit, \
                         daily_limit, limit_action, price_per_tb, minimum_billed_bytes, max_concurrent_queries, queue_timeout, \
                         statement_timeout, query_memory_limit, allow_user_override"
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn result_schema(command: &WorkgroupCommand) -> SchemaRef {
    let names: &[&str] = match command {
        WorkgroupCommand::Show => &[
            "workgroup",
            "state",
            "description",
            "bytes_scanned_cutoff_per_query",
            "hourly_limit",
            "daily_limit",
            "price_per_tb",
        ],
        WorkgroupCommand::Describe { .. } => &["property", "value"],
        WorkgroupCommand::ShowQueries => {
            &["query_id", "user_name", "workgroup", "state", "submitted", "bytes_scanned", "query"]
        }
        _ => &[],
    };
    Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>()))
}

async fn run(
    catalog: &dyn SecurityStore,
    active: &crate::engine::metering::ActiveQueries,
    command: &WorkgroupCommand,
    actor: &str,
    local: bool,
) -> Result<Output> {
    let done = |tag: &'static str| Ok(Output::done(tag));
    match command {
        WorkgroupCommand::ShowQueries => {
            let admin = is_admin(catalog, actor, local).await?;
            let list: Vec<_> = active.list().into_iter().filter(|q| admin || q.user == actor).collect();
            rows(result_schema(command), queries_columns(&list))
        }
        WorkgroupCommand::Cancel { id } => {
            let admin = is_admin(catalog, actor, local).await?;
            active.cancel(id, actor, admin)?;
            done("CANCEL QUERY")
        }
        WorkgroupCommand::Show => rows(result_schema(command), workgroups_columns(&catalog.list_workgroups().await?)),
        WorkgroupCommand::Describe { name } => {
            let wg = require_workgroup(catalog, name).await?;
            let pairs = described(&wg);
            rows(
                result_schema(command),
                vec![
                    pairs.iter().map(|(k, _)| Some(k.to_string())).collect(),
                    pairs.into_iter().map(|(_, v)| Some(v)).collect(),
                ],
            )
        }
        WorkgroupCommand::Create { name, options } => {
            let mut wg = Workgroup::new(crate::catalog::normalize(name));
            apply(&mut wg, options)?;
            catalog.put_workgroup(wg, true).await?;
            done("CREATE WORKGROUP")
        }
        WorkgroupCommand::Set { name, options } => {
            let mut wg = require_workgroup(catalog, name).await?;
            apply(&mut wg, options)?;
            catalog.put_workgroup(wg, false).await?;
            done("ALTER WORKGROUP")
        }
        WorkgroupCommand::Enable { name, enabled } => {
            let mut wg = require_workgroup(catalog, name).await?;
            wg.enabled = *enabled;
            catalog.put_workgroup(wg, false).await?;
            done("ALTER WORKGROUP")
        }
        WorkgroupCommand::Drop { name, if_exists } => {
            if crate::catalog::normalize(name) == Workgroup::PRIMARY {
                return Err(Error::new(
                    SqlState::InvalidParameterValue,
                    "workgroup primary is the default and cannot be dropped",
                ));
            }
            if !catalog.drop_workgroup(name).await? && !if_exists {
                return Err(Error::new(SqlState::UndefinedObject, format!("workgroup {name} does not exist")));
            }
            done("DROP WORKGROUP")
        }
        WorkgroupCommand::Grant { name, users, grant } => {
            grant_usage(catalog, name, users, *grant).await?;
            done(if *grant { "GRANT" } else { "REVOKE" })
        }
    }
}

/// GRANT (`grant`) or REVOKE USAGE ON WORKGROUP `name` for `users`.
async fn grant_usage(catalog: &dyn SecurityStore, name: &str, users: &[String], grant: bool) -> Result<()> {
    let mut wg = require_workgroup(catalog, name).await?;
    for user in users {
        let user = user.to_ascii_lowercase();
        if user != "public" && catalog.get_user(&user).await?.is_none() {
            return Err(Error::new(SqlState::UndefinedObject, format!("role \"{user}\" does not exist")));
        }
        wg.grants.retain(|g| *g != user);
        if grant {
            wg.grants.push(user);
        }
    }
    catalog.put_workgroup(wg, false).await?;
    Ok(())
}

fn rows(schema: SchemaRef, columns: Vec<Vec<Option<String>>>) -> Result<Output> {
    text_rows(schema, columns, "SHOW")
}

/// SHOW QUERIES' columns for `list`.
fn queries_columns(list: &[crate::engine::metering::Active]) -> Vec<Vec<Option<String>>> {
    let at = |micros: i64| chrono::DateTime::from_timestamp_micros(micros).map(|d| d.to_rfc3339());
    vec![
        list.iter().map(|q| Some(q.id.clone())).collect(),
        list.iter().map(|q| Some(q.user.clone())).collect(),
        list.iter().map(|q| Some(q.workgroup.clone())).collect(),
        list.iter().map(|q| Some(q.state.as_str().to_string())).collect(),
        list.iter().map(|q| at(q.submitted)).collect(),
        list.iter().map(|q| Some(q.meter.get().to_string())).collect(),
        list.iter().map(|q| Some(q.sql.clone())).collect(),
    ]
}

/// SHOW WORKGROUPS' columns for `list`.
fn workgroups_columns(list: &[Workgroup]) -> Vec<Vec<Option<String>>> {
    let size = |b: Option<u64>| b.map(human_bytes);
    vec![
        list.iter().map(|w| Some(w.name.clone())).collect(),
        list.iter().map(|w| Some(if w.enabled { "ENABLED" } else { "DISABLED" }.to_string())).collect(),
        list.iter().map(|w| w.description.clone()).collect(),
        list.iter().map(|w| size(w.bytes_scanned_cutoff_per_query)).collect(),
        list.iter().map(|w| size(w.hourly_limit_bytes)).collect(),
        list.iter().map(|w| size(w.daily_limit_bytes)).collect(),
        list.iter().map(|w| Some(format!("{:.2}", w.price_per_tb))).collect(),
    ]
}

/// DESCRIBE WORKGROUP's (property, value) rows.
fn described(wg: &Workgroup) -> Vec<(&'static str, String)> {
    let size = |b: Option<u64>| b.map_or("none".to_string(), |b| format!("{} ({b} bytes)", human_bytes(b)));
    let millis = |m: Option<u64>| m.map_or("none".to_string(), |m| format!("{m} ms"));
    vec![
        ("name", wg.name.clone()),
        ("state", if wg.enabled { "ENABLED" } else { "DISABLED" }.into()),
        ("description", wg.description.clone().unwrap_or_default()),
        ("bytes_scanned_cutoff_per_query", size(wg.bytes_scanned_cutoff_per_query)),
        ("hourly_limit", size(wg.hourly_limit_bytes)),
        ("daily_limit", size(wg.daily_limit_bytes)),
        ("limit_action", format!("{:?}", wg.limit_action).to_ascii_lowercase()),
        ("price_per_tb", format!("{:.2} USD", wg.price_per_tb)),
        ("minimum_billed_bytes", size(Some(wg.minimum_billed_bytes))),
        ("max_concurrent_queries", wg.max_concurrent_queries.map_or("none".into(), |n| n.to_string())),
        ("queue_timeout", millis(Some(wg.queue_timeout_ms))),
        ("statement_timeout", millis(wg.statement_timeout_ms)),
        ("query_memory_limit", size(wg.query_memory_limit)),
        ("allow_user_override", wg.allow_user_override.to_string()),
        ("grants", wg.grants.join(", ")),
    ]
}
