//! `COPY (query) TO STDOUT` and `COPY table [(columns)] TO STDOUT`, in
//! text, CSV or binary format: a query whose rows go out as COPY data.

use super::{Claimed, Command, Context, Family};
use crate::engine::output::Output;
use crate::error::{Error, Result, SqlState};
use crate::pgtypes::copy::{CopyFormat, CopyKind};
use datafusion::sql::sqlparser::ast::{self, Statement as Ast};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

pub(super) const FAMILY: Family = Family { own_syntax: None, from_ast: Some(from_ast) };

#[derive(Debug, Clone)]
struct CopyTo {
    query: Box<ast::Query>,
    format: CopyFormat,
}

fn from_ast(ast: Ast) -> Result<Claimed> {
    match ast {
        Ast::Copy { source, to, target, options, legacy_options, .. } => {
            Ok(Claimed::Command(Box::new(copy_statement(source, to, target, options, legacy_options)?)))
        }
        other => Ok(Claimed::Not(Box::new(other))),
    }
}

#[async_trait::async_trait]
impl Command for CopyTo {
    fn query(&self) -> Option<Ast> {
        Some(Ast::Query(self.query.clone()))
    }

    fn metered(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let ast = Ast::Query(self.query.clone());
        let plan = cx.plan_query(&ast).await?;
        let schema = cx.client_schema(&plan, &ast);
        Ok(Output::Copy { schema, stream: cx.start(plan, true), format: self.format.clone() })
    }
}

/// COPY ... TO STDOUT with its format options. glaux tables are read-only
/// and the server writes no files, so COPY FROM and COPY TO a file are
/// refused.
fn copy_statement(
    source: ast::CopySource,
    to: bool,
    target: ast::CopyTarget,
    options: Vec<ast::CopyOption>,
    legacy: Vec<ast::CopyLegacyOption>,
) -> Result<CopyTo> {
    if !to {
        return Err(Error::not_supported(
            "COPY ... FROM (glaux tables are read-only; create an external table over the file instead)",
        ));
    }
    if target != ast::CopyTarget::Stdout {
        return Err(Error::not_supported(
            "COPY to a server file or program (use COPY ... TO STDOUT, or psql's \\copy)",
        ));
    }
    let query = match source {
        ast::CopySource::Query(q) => q,
        ast::CopySource::Table { table_name, columns } => select_from(table_name, columns)?,
    };
    let format = copy_format(options, legacy)?;
    Ok(CopyTo { query, format })
}

/// `SELECT columns FROM table` (`*` for no columns), built on the AST.
fn select_from(table: ast::ObjectName, columns: Vec<ast::Ident>) -> Result<Box<ast::Query>> {
    let shape = || Error::internal("COPY's query template has an unexpected shape");
    let mut query = Parser::new(&PostgreSqlDialect {})
        .try_with_sql("SELECT * FROM t")
        .and_then(|mut p| p.parse_query())
        .map_err(|e| Error::internal(format!("COPY's query template: {e}")))?;
    let ast::SetExpr::Select(select) = query.body.as_mut() else { return Err(shape()) };
    if !columns.is_empty() {
        select.projection =
            columns.into_iter().map(|c| ast::SelectItem::UnnamedExpr(ast::Expr::Identifier(c))).collect();
    }
    match select.from.first_mut().map(|f| &mut f.relation) {
        Some(ast::TableFactor::Table { name, .. }) => *name = table,
        _ => return Err(shape()),
    }
    Ok(query)
}

/// The format COPY's options (and its pre-9.0 legacy options) ask for.
fn copy_format(options: Vec<ast::CopyOption>, legacy: Vec<ast::CopyLegacyOption>) -> Result<CopyFormat> {
    let mut kind = CopyKind::Text;
    for option in &options {
        if let ast::CopyOption::Format(f) = option {
            kind = match f.value.to_ascii_lowercase().as_str() {
                "text" => CopyKind::Text,
                "csv" => CopyKind::Csv,
                "binary" => CopyKind::Binary,
                other => {
                    return Err(Error::new(
                        SqlState::InvalidParameterValue,
                        format!("COPY format \"{other}\" not recognized"),
                    ))
                }
            };
        }
    }
    for option in &legacy {
        match option {
            ast::CopyLegacyOption::Binary => kind = CopyKind::Binary,
            ast::CopyLegacyOption::Csv(_) => kind = CopyKind::Csv,
            _ => {}
        }
    }
    let mut format = CopyFormat::new(kind);
    for option in options {
        match option {
            ast::CopyOption::Format(_) => {}
            ast::CopyOption::Header(h) => format.header = h,
            ast::CopyOption::Delimiter(d) => format.delimiter = d,
            ast::CopyOption::Null(n) => format.null = n,
            ast::CopyOption::Quote(q) => format.quote = q,
            ast::CopyOption::Escape(e) => format.escape = e,
            ast::CopyOption::Encoding(e) if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => return Err(Error::not_supported(format!("COPY option {other}"))),
        }
    }
    for option in legacy {
        match option {
            ast::CopyLegacyOption::Delimiter(d) => format.delimiter = d,
            ast::CopyLegacyOption::Null(n) => format.null = n,
            ast::CopyLegacyOption::Csv(csv) => {
                for o in csv {
                    match o {
                        ast::CopyLegacyCsvOption::Header => format.header = true,
                        ast::CopyLegacyCsvOption::Quote(q) => format.quote = q,
                        ast::CopyLegacyCsvOption::Escape(e) => format.escape = e,
                        other => return Err(Error::not_supported(format!("COPY option {other}"))),
                    }
                }
            }
            ast::CopyLegacyOption::Binary => {}
            other => return Err(Error::not_supported(format!("COPY option {other}"))),
        }
    }
    if format.header && kind == CopyKind::Binary {
        return Err(Error::not_supported("COPY HEADER in binary format"));
    }
    Ok(format)
}
