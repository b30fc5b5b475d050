//! SQL-level prepared statements: `PREPARE name [(types)] AS query` and
//! `DEALLOCATE name | ALL`. `EXECUTE name [(values)]` is planned as the
//! stored query (`Statement::Execute`); the store is
//! `engine/sql_prepare.rs`.

use super::{Claimed, Command, Context, Family};
use crate::engine::output::Output;
use crate::engine::statement::ident_name;
use crate::error::{Error, Result};
use datafusion::sql::sqlparser::ast::{self, Statement as Ast};

pub(super) const FAMILY: Family = Family { own_syntax: None, from_ast: Some(from_ast) };

#[derive(Debug, Clone)]
enum PreparedCommand {
    Prepare {
        name: String,
        types: Vec<ast::DataType>,
        query: Box<Ast>,
    },
    /// `None` is DEALLOCATE ALL.
    Deallocate {
        name: Option<String>,
    },
}

fn from_ast(ast: Ast) -> Result<Claimed> {
    let command = match ast {
        Ast::Prepare { name, data_types, statement } => {
            if !matches!(statement.as_ref(), Ast::Query(_)) {
                return Err(Error::not_supported("PREPARE of anything but a query"));
            }
            PreparedCommand::Prepare { name: ident_name(&name), types: data_types, query: statement }
        }
        Ast::Deallocate { name, .. } => PreparedCommand::Deallocate {
            name: (name.quote_style.is_some() || !name.value.eq_ignore_ascii_case("all")).then(|| ident_name(&name)),
        },
        other => return Ok(Claimed::Not(Box::new(other))),
    };
    Ok(Claimed::Command(Box::new(command)))
}

#[async_trait::async_trait]
impl Command for PreparedCommand {
    fn query(&self) -> Option<Ast> {
        match self {
            PreparedCommand::Prepare { query, .. } => Some(query.as_ref().clone()),
            PreparedCommand::Deallocate { .. } => None,
        }
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        match self {
            PreparedCommand::Prepare { name, types, query } => {
                // Planned once now, so a bad query fails at PREPARE.
                let probe = cx.sql_prepared().prepare(name, types, query)?;
                if let Err(e) = cx.plan_query(&probe).await {
                    cx.sql_prepared().forget(name);
                    return Err(e);
                }
                Ok(Output::done("PREPARE"))
            }
            PreparedCommand::Deallocate { name } => {
                cx.sql_prepared().deallocate(name.as_deref())?;
                Ok(Output::done(if name.is_some() { "DEALLOCATE" } else { "DEALLOCATE ALL" }))
            }
        }
    }
}
