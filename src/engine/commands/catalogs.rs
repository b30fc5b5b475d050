//! Connector catalogs made in SQL: `CREATE CATALOG [IF NOT EXISTS] name
//! USING postgres WITH ('url' = '...', 'user' = '...', 'password' = ...)`
//! (Trino's statement; option names quoted or bare) and `DROP CATALOG [IF
//! EXISTS] name`. Admins only. CREATE connects to the source first, so a
//! wrong url or password fails here and nothing is kept; the definition
//! is then stored in the embedded catalog (`catalog::sqlite`) and served
//! at once to every session, and again after a restart.
//!
//! No value of a WITH clause is ever echoed: syntax errors there name the
//! position only, and the command's Debug shows secrets as `********`
//! (`Definition`), as SHOW CATALOGS does.

use super::{Command, Context, Family};
use crate::catalog::connectors::{ConnectorCatalog, Origin};
use crate::catalog::list::valid_name;
use crate::engine::output::Output;
use crate::engine::parser::GlauxParser;
use crate::engine::privileges::Privilege;
use crate::engine::statement::SqlText;
use crate::error::{Error, Result, SqlState};
use datafusion::sql::sqlparser::tokenizer::Token;
use glaux_connector::connector::Definition;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const FAMILY: Family =
    Family { own_syntax: Some((|w| matches!(w, ["CREATE" | "DROP", "CATALOG", ..]), parse)), from_ast: None };

/// CREATE or DROP CATALOG.
#[derive(Debug, Clone)]
enum CatalogCommand {
    Create { definition: Definition, if_not_exists: bool },
    Drop { name: String, if_exists: bool },
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut p = GlauxParser::new(stmt)?;
    let create = p.next_word()? == "CREATE";
    p.expect_word("CATALOG")?;
    let exists = p.words(&["IF", if create { "NOT" } else { "EXISTS" }]);
    if exists && create {
        p.expect_word("EXISTS")?;
    }
    let name = p.name()?;
    if !valid_name(&name) {
        return Err(Error::new(
            SqlState::InvalidName,
            format!("catalog name {name:?} must be lower-case letters, digits and _ (not starting with a digit)"),
        ));
    }
    let command = if create {
        p.expect_word("USING")?;
        let kind = p.name()?;
        let options = if p.word("WITH") { options(&mut p)? } else { BTreeMap::new() };
        CatalogCommand::Create { definition: Definition { name, kind, options }, if_not_exists: exists }
    } else {
        CatalogCommand::Drop { name, if_exists: exists }
    };
    p.finish()?;
    Ok(Box::new(command))
}

/// `('key' = 'value', "key" = 42, key = true, ...)`: keys lower-cased.
/// Errors give the position and never the text there (it may be a
/// password).
fn options(p: &mut GlauxParser) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let expected = |p: &GlauxParser, what: &str| p.error_here(format!("syntax error in WITH (...): expected {what}"));
    if !p.consume(&Token::LParen) {
        return Err(expected(p, "("));
    }
    loop {
        let key = match p.advance() {
            Token::SingleQuotedString(s) => s,
            Token::Word(w) => w.value,
            _ => return Err(p.error_at_last("syntax error in WITH (...): expected an option name")),
        };
        if !p.consume(&Token::Eq) {
            return Err(expected(p, "="));
        }
        let value = match p.advance() {
            Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s,
            Token::Number(n, _) => n,
            Token::Word(w) if w.quote_style.is_none() => w.value,
            _ => return Err(p.error_at_last("syntax error in WITH (...): expected a quoted value")),
        };
        let key = key.to_ascii_lowercase();
        if out.insert(key.clone(), value).is_some() {
            return Err(Error::new(SqlState::SyntaxError, format!("option {key} is given twice")));
        }
        if !p.consume(&Token::Comma) {
            break;
        }
    }
    if !p.consume(&Token::RParen) {
        return Err(expected(p, ", or )"));
    }
    Ok(out)
}

#[async_trait::async_trait]
impl Command for CatalogCommand {
    fn privilege(&self, _user: &str) -> Privilege {
        match self {
            CatalogCommand::Create { .. } => Privilege::Admin { what: "create catalogs" },
            CatalogCommand::Drop { .. } => Privilege::Admin { what: "drop catalogs" },
        }
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        match self {
            CatalogCommand::Create { definition, if_not_exists } => {
                if cx.catalogs().get(&definition.name).is_some() {
                    if *if_not_exists {
                        cx.notice(format!("catalog {} already exists, skipping", definition.name));
                        return Ok(Output::done("CREATE CATALOG"));
                    }
                    return Err(crate::catalog::catalog_exists(&definition.name));
                }
                let catalog = Arc::new(ConnectorCatalog::new(definition.clone(), Origin::Created)?);
                crate::catalog::connectors::check_options(definition)?;
                // Connected now: a wrong url or password fails here.
                catalog.connector().await?;
                cx.security().put_catalog(definition).await?;
                if let Err(e) = cx.catalogs().add_connector(catalog) {
                    // Another session made one of this name meanwhile.
                    cx.security().drop_catalog(&definition.name).await.ok();
                    return Err(e);
                }
                Ok(Output::done("CREATE CATALOG"))
            }
            CatalogCommand::Drop { name, if_exists } => {
                let Some(catalog) = cx.catalogs().get(name) else {
                    if *if_exists {
                        cx.notice(format!("catalog {name} does not exist, skipping"));
                        return Ok(Output::done("DROP CATALOG"));
                    }
                    return Err(Error::new(
                        SqlState::UndefinedObject,
                        format!("catalog {name} does not exist; known catalogs: {}", cx.catalogs().names().join(", ")),
                    ));
                };
                let created = catalog.connector.as_ref().is_some_and(|c| c.origin == Origin::Created);
                if !created {
                    let defined = if catalog.connector.is_some() {
                        "the configuration file"
                    } else {
                        "the server's configuration (catalog.name, catalog.others)"
                    };
                    return Err(Error::new(
                        SqlState::ObjectNotInPrerequisiteState,
                        format!("catalog {name} is defined in {defined}; only catalogs made by CREATE CATALOG can be dropped"),
                    ));
                }
                cx.security().drop_catalog(name).await?;
                cx.catalogs().remove_connector(name);
                Ok(Output::done("DROP CATALOG"))
            }
        }
    }
}
