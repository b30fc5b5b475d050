//! Session settings: `SET name = value` (and `SET name TO DEFAULT`, `SET
//! TIME ZONE`, `SET [SESSION CHARACTERISTICS AS] TRANSACTION ...`),
//! `RESET name | ALL`, `SHOW name | ALL`, `USE database` and `DISCARD`.
//! The settings themselves are `engine/settings.rs`.

use super::show::{rows, strings};
use super::{Claimed, Command, Context, Family};
use crate::engine::output::{utf8_schema, Output};
use crate::engine::statement::object_name_string;
use crate::error::{Error, Result};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::sql::sqlparser::ast::{self, Statement as Ast};

pub(super) const FAMILY: Family = Family { own_syntax: None, from_ast: Some(from_ast) };

/// A statement about the session's settings.
#[derive(Debug, Clone, PartialEq)]
enum Variables {
    Set {
        name: String,
        value: String,
    },
    /// RESET name; `None` is RESET ALL. `tag`: RESET, or SET for `SET
    /// name TO DEFAULT`.
    Reset {
        name: Option<String>,
        tag: &'static str,
    },
    /// SHOW name; `all` is SHOW ALL.
    Show {
        name: String,
    },
    /// USE database: sets search_path.
    Use {
        database: String,
    },
    /// DISCARD ALL (and PLANS, SEQUENCES, TEMP: nothing to discard).
    Discard {
        all: bool,
    },
}

fn from_ast(ast: Ast) -> Result<Claimed> {
    let command = match ast {
        Ast::Use(u) => match u {
            ast::Use::Object(name) | ast::Use::Schema(name) | ast::Use::Database(name) => {
                Variables::Use { database: object_name_string(&name) }
            }
            other => return Err(Error::not_supported(format!("{other}"))),
        },
        Ast::Set(set) => set_statement(set)?,
        Ast::ShowVariable { variable } => Variables::Show { name: shown_variable(&variable) },
        Ast::Reset(reset) => Variables::Reset {
            name: match reset.reset {
                ast::Reset::ALL => None,
                ast::Reset::ConfigurationParameter(name) => Some(object_name_string(&name)),
            },
            tag: "RESET",
        },
        Ast::Discard { object_type } => Variables::Discard { all: object_type == ast::DiscardObject::ALL },
        other => return Ok(Claimed::Not(Box::new(other))),
    };
    Ok(Claimed::Command(Box::new(command)))
}

#[async_trait::async_trait]
impl Command for Variables {
    fn schema(&self, _cx: &dyn Context) -> Result<SchemaRef> {
        Ok(match self {
            Variables::Show { name } if name == "all" => utf8_schema(&["name", "setting", "description"]),
            Variables::Show { name } => utf8_schema(&[name.as_str()]),
            _ => crate::engine::output::no_columns(),
        })
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        match self {
            Variables::Set { name, value } => {
                cx.set_variable(name, value).await?;
                Ok(Output::done("SET"))
            }
            Variables::Reset { name, tag } => {
                cx.reset_variables(name.as_deref()).await?;
                Ok(Output::done(tag))
            }
            Variables::Use { database } => {
                cx.set_variable("search_path", database).await?;
                Ok(Output::done("SET"))
            }
            Variables::Discard { all } => {
                if *all {
                    cx.reset_variables(None).await?;
                    cx.cursors().close(None)?;
                    cx.cursors_changed();
                    cx.sql_prepared().deallocate(None)?;
                }
                Ok(Output::done("DISCARD ALL"))
            }
            Variables::Show { name } => {
                let schema = self.schema(cx)?;
                if name == "all" {
                    let all = crate::pgcatalog::settings::SETTINGS;
                    let values = all.iter().map(|s| cx.setting(s.name).unwrap_or_default()).collect();
                    return rows(
                        schema,
                        vec![
                            strings(all.iter().map(|s| s.name.to_string()).collect()),
                            strings(values),
                            strings(all.iter().map(|s| s.description.to_string()).collect()),
                        ],
                    );
                }
                let value = if name.eq_ignore_ascii_case("workgroup") || name.eq_ignore_ascii_case("glaux.workgroup") {
                    cx.current_workgroup().await?
                } else {
                    cx.show_setting(name)?
                };
                rows(schema, vec![strings(vec![value])])
            }
        }
    }
}

fn set_statement(set: ast::Set) -> Result<Variables> {
    match set {
        ast::Set::SingleAssignment { variable, values, .. } => {
            let name = object_name_string(&variable);
            // `SET name TO DEFAULT` is RESET name, as in PostgreSQL.
            if let [ast::Expr::Identifier(word)] = values.as_slice() {
                if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("default") {
                    return Ok(Variables::Reset { name: Some(name), tag: "SET" });
                }
            }
            let value = values
                .iter()
                .map(|v| match v {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(s) => s.clone(),
                        other => other.to_string(),
                    },
                    ast::Expr::Identifier(i) => i.value.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            Ok(Variables::Set { name, value })
        }
        // SET [SESSION CHARACTERISTICS AS] TRANSACTION ISOLATION LEVEL ...:
        // glaux reads consistent snapshots, so every level is accepted and
        // reported back as set.
        ast::Set::SetTransaction { modes, session, .. } => {
            let prefix = if session { "default_" } else { "" };
            let mut set = Vec::new();
            for mode in modes {
                let (name, value) = match mode {
                    ast::TransactionMode::IsolationLevel(level) => {
                        ("transaction_isolation", level.to_string().to_ascii_lowercase())
                    }
                    ast::TransactionMode::AccessMode(access) => (
                        "transaction_read_only",
                        if access == ast::TransactionAccessMode::ReadOnly { "on" } else { "off" }.to_string(),
                    ),
                };
                set.push(Variables::Set { name: format!("{prefix}{name}"), value });
            }
            match set.len() {
                1 => Ok(set.remove(0)),
                _ => Ok(Variables::Set { name: "transaction_isolation".into(), value: "read committed".into() }),
            }
        }
        ast::Set::SetTimeZone { value, .. } => Ok(Variables::Set {
            name: "timezone".into(),
            value: match value {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                },
                other => other.to_string(),
            },
        }),
        other => Err(Error::not_supported(format!("{other}"))),
    }
}

/// The setting SHOW names. The parser gives its words apart: `SHOW
/// transaction isolation level` and `SHOW glaux.workgroup` both arrive as
/// several identifiers, so the names PostgreSQL spells with spaces are
/// matched, and the rest are dotted (custom) names.
fn shown_variable(words: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    let words: Vec<String> = words.iter().map(|i| i.value.to_ascii_lowercase()).collect();
    let spaced = words.join(" ");
    match spaced.as_str() {
        "transaction isolation level" | "session authorization" => spaced,
        "time zone" => "timezone".into(),
        _ => words.join("."),
    }
}
