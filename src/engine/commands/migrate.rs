//! Converting a Hive table to Iceberg in place, in two spellings:
//!
//! ```sql
//! ALTER TABLE [db.]t CONVERT TO ICEBERG
//! CALL [catalog.]system.migrate('[db.]t')     -- or migrate(table => '...')
//! ```
//!
//! The first is parsed with the other ALTER TABLE statements
//! (`partitions`), the second here; both run [`convert`]
//! (`crate::iceberg::migrate` does the work). The statement replaces a
//! table's definition, so it takes an admin or the table's creator
//! (42501); it reads every data file's footer, so it is metered. It
//! answers with its tag and a NOTICE saying what it converted and where
//! the Hive definition is kept.

use super::{Command, Context, Family};
use crate::engine::output::Output;
use crate::engine::parser::GlauxParser;
use crate::engine::statement::SqlText;
use crate::error::{Error, Result};
use datafusion::sql::sqlparser::tokenizer::Token;

pub(super) const FAMILY: Family = Family { own_syntax: Some((|w| matches!(w, ["CALL", ..]), parse)), from_ast: None };

/// `CALL system.migrate('t')`.
#[derive(Debug, Clone)]
struct Call {
    table: Vec<String>,
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut w = GlauxParser::new(stmt)?;
    w.expect_word("CALL")?;
    let procedure = w.object_name()?;
    let lower: Vec<String> = procedure.iter().map(|p| p.to_ascii_lowercase()).collect();
    if !matches!(lower.as_slice(), [.., s, m] if s == "system" && m == "migrate") || lower.len() > 3 {
        return Err(Error::not_supported(format!(
            "CALL {} (glaux's one procedure is system.migrate('db.table'), which converts a Hive table to Iceberg)",
            procedure.join(".")
        )));
    }
    w.expect_token(Token::LParen)?;
    if w.is_word("TABLE") {
        w.next_word()?;
        w.expect_token(Token::RArrow)?;
    }
    let name = w.string()?;
    w.expect_token(Token::RParen)?;
    w.finish()?;
    let table: Vec<String> = name.split('.').map(|p| p.trim().trim_matches('"').to_string()).collect();
    if table.iter().any(String::is_empty) || table.len() > 3 {
        return Err(Error::syntax(format!("system.migrate('{name}'): name a table as 'db.table' or 'table'"), None));
    }
    Ok(Box::new(Call { table }))
}

#[async_trait::async_trait]
impl Command for Call {
    fn metered(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        convert(cx, &self.table).await?;
        Ok(Output::done("CALL"))
    }
}

/// Converts the Hive table `parts` names to Iceberg in place.
pub(super) async fn convert(cx: &dyn Context, parts: &[String]) -> Result<()> {
    let (metastore, database, table, entry) = super::named_table(cx, parts).await?;
    let what = format!("convert table {database}.{table} to Iceberg");
    super::require_admin_or_owner(cx, entry.owner.as_deref(), &what).await?;
    let stores = cx.running_stores()?;
    let done = crate::iceberg::migrate::migrate(metastore, stores, cx.state(), entry).await?;
    let partitions = match done.partitions {
        0 => String::new(),
        n => format!(" in {n} partitions"),
    };
    cx.notice(format!(
        "converted {database}.{table} to Iceberg: {} data files, {} rows{partitions}; the Hive definition is kept as {} (the files are shared, so gc.enabled is false)",
        done.files, done.rows, done.backup
    ));
    Ok(())
}
