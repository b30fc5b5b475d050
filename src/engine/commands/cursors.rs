//! SQL cursors: `DECLARE name CURSOR [WITH HOLD] FOR query`, `FETCH
//! [FORWARD] [n | ALL | NEXT] FROM name` and `CLOSE name | ALL`. The open
//! cursors are `engine/cursor.rs`.

use super::{Claimed, Command, Context, Family};
use crate::engine::output::Output;
use crate::engine::statement::ident_name;
use crate::error::{Error, Result, SqlState};
use crate::pgcatalog::CursorInfo;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::sql::sqlparser::ast::{self, Statement as Ast};

pub(super) const FAMILY: Family = Family { own_syntax: None, from_ast: Some(from_ast) };

#[derive(Debug, Clone)]
enum CursorCommand {
    Declare {
        name: String,
        query: Box<ast::Query>,
        hold: bool,
    },
    /// `None` is ALL.
    Fetch {
        name: String,
        count: Option<usize>,
    },
    /// `None` is CLOSE ALL.
    Close {
        name: Option<String>,
    },
}

fn from_ast(ast: Ast) -> Result<Claimed> {
    let command = match ast {
        Ast::Declare { mut stmts } if stmts.len() == 1 => {
            let d = stmts.remove(0);
            let (Some(query), [name]) = (d.for_query, d.names.as_slice()) else {
                return Err(Error::not_supported("DECLARE without a cursor query"));
            };
            if d.scroll == Some(true) {
                return Err(Error::not_supported("SCROLL cursors (glaux cursors only move forward)"));
            }
            CursorCommand::Declare { name: ident_name(name), query, hold: d.hold == Some(true) }
        }
        Ast::Fetch { name, direction, .. } => {
            let number = |v: &ast::Value| match v {
                ast::Value::Number(n, _) => {
                    n.parse::<usize>().map_err(|_| Error::syntax(format!("bad FETCH count {n}"), None))
                }
                other => Err(Error::syntax(format!("bad FETCH count {other}"), None)),
            };
            let count = match direction {
                ast::FetchDirection::Count { limit } | ast::FetchDirection::Forward { limit: Some(limit) } => {
                    Some(number(&limit)?)
                }
                ast::FetchDirection::Next | ast::FetchDirection::Forward { limit: None } => Some(1),
                ast::FetchDirection::All | ast::FetchDirection::ForwardAll => None,
                other => return Err(Error::not_supported(format!("FETCH {other} (glaux cursors only move forward)"))),
            };
            CursorCommand::Fetch { name: ident_name(&name), count }
        }
        Ast::Close { cursor } => CursorCommand::Close {
            name: match cursor {
                ast::CloseCursor::All => None,
                ast::CloseCursor::Specific { name } => Some(ident_name(&name)),
            },
        },
        other => return Ok(Claimed::Not(Box::new(other))),
    };
    Ok(Claimed::Command(Box::new(command)))
}

#[async_trait::async_trait]
impl Command for CursorCommand {
    fn schema(&self, cx: &dyn Context) -> Result<SchemaRef> {
        match self {
            CursorCommand::Fetch { name, .. } => cx.cursor_schema(name),
            _ => Ok(crate::engine::output::no_columns()),
        }
    }

    fn query(&self) -> Option<Ast> {
        match self {
            CursorCommand::Declare { query, .. } => Some(Ast::Query(query.clone())),
            _ => None,
        }
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        match self {
            CursorCommand::Declare { name, query, hold } => {
                if !*hold && !cx.transaction().is_open() {
                    return Err(Error::new(
                        SqlState::InvalidTransactionState,
                        "DECLARE CURSOR can only be used in transaction blocks (or declare it WITH HOLD)",
                    ));
                }
                let ast = Ast::Query(query.clone());
                let plan = cx.plan_query(&ast).await?;
                let schema = cx.client_schema(&plan, &ast);
                let stream = cx.start(plan, false);
                let info = CursorInfo {
                    name: name.clone(),
                    statement: format!("DECLARE {name} CURSOR{} FOR {query}", if *hold { " WITH HOLD" } else { "" }),
                    holdable: *hold,
                    created: chrono::Utc::now().timestamp_micros(),
                };
                cx.cursors().declare(info, schema, stream)?;
                cx.cursors_changed();
                Ok(Output::done("DECLARE CURSOR"))
            }
            CursorCommand::Fetch { name, count } => {
                let schema = cx.cursor_schema(name)?;
                let batches = cx.cursors().fetch(name, *count).await?;
                let stream = MemoryStream::try_new(batches, std::sync::Arc::clone(&schema), None)?;
                Ok(Output::Rows { schema, stream: Box::pin(stream), tag: "FETCH" })
            }
            CursorCommand::Close { name } => {
                cx.cursors().close(name.as_deref())?;
                cx.cursors_changed();
                Ok(Output::done(if name.is_some() { "CLOSE CURSOR" } else { "CLOSE CURSOR ALL" }))
            }
        }
    }
}
