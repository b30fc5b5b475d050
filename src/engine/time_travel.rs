//! Time travel: Athena's `FOR TIMESTAMP AS OF <expr>` and `FOR VERSION AS
//! OF <snapshot id>` (also spelled `FOR SYSTEM_TIME AS OF`, `FOR
//! SYSTEM_VERSION AS OF`) after a table reference.
//!
//! sqlparser's PostgreSQL dialect does not parse these clauses, and the
//! dialects that do would have DataFusion drop them silently, so glaux
//! carries them itself, in two steps:
//!
//! 1. Before parsing, [`rewrite_tokens`] turns each clause into a named
//!    argument of the table reference, `t (glaux_as_of_timestamp =>
//!    <expr>)`, which the dialect parses as it is, expression and all.
//! 2. Before planning, [`resolve`] evaluates each such expression once
//!    (a timestamp, or a snapshot id) and renames the reference to the
//!    table part it reads, `"t$timestamp_ms=<ms>"` or
//!    `"t$snapshot=<id>"`, which the catalog adapter resolves to that
//!    snapshot (`table::factories::TablePart`). Each reference gets its
//!    own snapshot, in joins, subqueries, CTEs and views alike.
//!
//! A reference that keeps its argument (a path that did not resolve it)
//! is not a table DataFusion knows, so a clause can fail but is never
//! ignored.

use crate::error::{Error, Result, SqlState};
use datafusion::arrow::array::{Array, Int64Array, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::execution::session_state::SessionState;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArgOperator, Ident, ObjectNamePart, Query, Statement, TableAlias,
    TableFactor, TableFunctionArgs, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};
use std::ops::ControlFlow;
use std::sync::Arc;

const TIMESTAMP_ARG: &str = "glaux_as_of_timestamp";
const VERSION_ARG: &str = "glaux_as_of_version";

/// Parses `sql` with the PostgreSQL dialect, time-travel clauses carried
/// as named arguments.
pub fn parse_statements(sql: &str) -> std::result::Result<Vec<Statement>, ParserError> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location()?;
    let tokens = rewrite_tokens(tokens)?;
    Parser::new(&dialect).with_tokens_with_locations(tokens).parse_statements()
}

fn word_is(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.keyword == keyword)
}

/// Which clause starts at `tokens[i]`, and the index after its `OF`.
fn clause_at(tokens: &[TokenWithSpan], i: usize) -> Option<(&'static str, usize)> {
    if !word_is(&tokens[i].token, Keyword::FOR) {
        return None;
    }
    let mut words = tokens[i + 1..].iter().enumerate().filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)));
    let (_, kind) = words.next()?;
    let arg = match &kind.token {
        Token::Word(w) if w.keyword == Keyword::TIMESTAMP || w.keyword == Keyword::SYSTEM_TIME => TIMESTAMP_ARG,
        Token::Word(w) if w.keyword == Keyword::VERSION || w.value.eq_ignore_ascii_case("SYSTEM_VERSION") => {
            VERSION_ARG
        }
        _ => return None,
    };
    let (_, as_) = words.next()?;
    let (of_at, of) = words.next()?;
    (word_is(&as_.token, Keyword::AS) && word_is(&of.token, Keyword::OF)).then_some((arg, i + 1 + of_at + 1))
}

/// `tokens` with every time-travel clause as a named argument of the
/// table reference before it (see the module docs).
pub fn rewrite_tokens(tokens: Vec<TokenWithSpan>) -> std::result::Result<Vec<TokenWithSpan>, ParserError> {
    if !tokens.iter().any(|t| word_is(&t.token, Keyword::FOR)) {
        return Ok(tokens);
    }
    let mut out = Vec::with_capacity(tokens.len() + 4);
    let mut i = 0;
    while i < tokens.len() {
        let Some((arg, start)) = clause_at(&tokens, i) else {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        };
        // The expression is as long as the parser reads one.
        let mut parser = Parser::new(&PostgreSqlDialect {}).with_tokens_with_locations(tokens[start..].to_vec());
        parser.parse_expr()?;
        let end = start + parser.index();
        let span = tokens[i].span;
        let with = |token: Token| TokenWithSpan { token, span };
        out.push(with(Token::LParen));
        out.push(with(Token::make_word(arg, None)));
        out.push(with(Token::RArrow));
        out.extend(tokens[start..end].iter().cloned());
        out.push(with(Token::RParen));
        i = end;
    }
    Ok(out)
}

/// `sql` (a statement as the AST prints it) with each time-travel
/// argument written back as the clause it came from, so that stored text
/// (a view's) reads as Athena's SQL. Only those arguments change; text
/// without them, or that does not tokenize, is returned as it is.
pub fn restore_text(sql: &str) -> String {
    if !sql.contains(TIMESTAMP_ARG) && !sql.contains(VERSION_ARG) {
        return sql.to_string();
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return sql.to_string();
    };
    let significant = |from: usize| (from..tokens.len()).find(|&j| !matches!(tokens[j].token, Token::Whitespace(_)));
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut i = 0;
    while i < tokens.len() {
        let arg =
            significant(i + 1).filter(|_| tokens[i].token == Token::LParen).and_then(|j| match &tokens[j].token {
                Token::Word(w) if w.quote_style.is_none() && (w.value == TIMESTAMP_ARG || w.value == VERSION_ARG) => {
                    significant(j + 1).filter(|&k| tokens[k].token == Token::RArrow).map(|k| (clause(&w.value), k + 1))
                }
                _ => None,
            });
        let Some((clause, start)) = arg else {
            i += 1;
            continue;
        };
        let mut depth = 0;
        let mut end = start;
        while end < tokens.len() {
            match tokens[end].token {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                _ => {}
            }
            end += 1;
        }
        let at = |t: usize| tokens.get(t).and_then(|t| byte_offset(sql, t.span.start));
        let (Some(open), Some(expr), Some(close)) = (at(i), at(start), at(end)) else {
            return sql.to_string();
        };
        out.push_str(sql[copied..open].trim_end());
        out.push_str(&format!(" {clause} AS OF {}", sql[expr..close].trim()));
        copied = close + 1;
        i = end + 1;
    }
    out.push_str(&sql[copied..]);
    out
}

/// The byte offset in `text` of a token's location (1-based line and
/// character column).
fn byte_offset(text: &str, at: Location) -> Option<usize> {
    let line_start =
        if at.line <= 1 { 0 } else { text.match_indices('\n').nth(at.line as usize - 2).map(|(i, _)| i + 1)? };
    let line = &text[line_start..];
    let column = line.char_indices().nth(at.column.checked_sub(1)? as usize).map(|(i, _)| i).unwrap_or(line.len());
    Some(line_start + column)
}

/// The time-travel argument of a table reference, if it has one.
fn as_of(factor: &TableFactor) -> Option<(&'static str, &Expr)> {
    let TableFactor::Table { args: Some(TableFunctionArgs { args, .. }), .. } = factor else {
        return None;
    };
    // PostgreSQL's dialect parses a named argument's name as an expression.
    let (name, e) = match args.as_slice() {
        [FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), operator: FunctionArgOperator::RightArrow }] => {
            (name, e)
        }
        [FunctionArg::ExprNamed {
            name: Expr::Identifier(name),
            arg: FunctionArgExpr::Expr(e),
            operator: FunctionArgOperator::RightArrow,
        }] => (name, e),
        _ => return None,
    };
    [TIMESTAMP_ARG, VERSION_ARG].into_iter().find(|a| name.value == *a && name.quote_style.is_none()).map(|a| (a, e))
}

/// Collects, then replaces, the time-travel arguments of a statement.
struct Clauses {
    found: Vec<(&'static str, Expr)>,
    /// The names of the statement's WITH queries, which a clause cannot
    /// follow (they are no Iceberg tables).
    ctes: Vec<String>,
    /// A clause that cannot be resolved, and why.
    refused: Option<Error>,
    /// The table-name suffix for each clause found, when replacing.
    suffixes: Option<std::vec::IntoIter<String>>,
}

fn ident_value(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

impl VisitorMut for Clauses {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.ctes.extend(with.cte_tables.iter().map(|cte| ident_value(&cte.alias.name)));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let Some((arg, expr)) = as_of(factor) else {
            return ControlFlow::Continue(());
        };
        match self.suffixes.as_mut() {
            None => {
                if let TableFactor::Table { name, .. } = &*factor {
                    if let [ObjectNamePart::Identifier(only)] = name.0.as_slice() {
                        if self.ctes.contains(&ident_value(only)) {
                            self.refused = Some(Error::new(
                                SqlState::WrongObjectType,
                                format!("{} AS OF reads Iceberg tables, and {only} is a WITH query", clause(arg)),
                            ));
                            return ControlFlow::Break(());
                        }
                    }
                }
                self.found.push((arg, expr.clone()))
            }
            Some(suffixes) => {
                let (TableFactor::Table { name, args, alias, .. }, Some(suffix)) = (factor, suffixes.next()) else {
                    return ControlFlow::Break(());
                };
                *args = None;
                if let Some(ObjectNamePart::Identifier(last)) = name.0.last_mut() {
                    // Columns stay qualified by the table's own name.
                    if alias.is_none() {
                        *alias = Some(TableAlias { explicit: true, name: last.clone(), columns: Vec::new() });
                    }
                    *last = Ident::with_quote('"', format!("{}${suffix}", ident_value(last)));
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Finds a time-travel argument in a statement.
struct AnyClause;

impl Visitor for AnyClause {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if as_of(factor).is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Finds a subquery in an expression.
struct Subqueries;

impl Visitor for Subqueries {
    type Break = ();

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        ControlFlow::Break(())
    }
}

/// The clause as the user may have written it, for messages.
fn clause(arg: &str) -> &'static str {
    if arg == TIMESTAMP_ARG {
        "FOR TIMESTAMP"
    } else {
        "FOR VERSION"
    }
}

/// `ast` with each time-travel clause resolved to the snapshot part of
/// its table (see the module docs), or None if it has none.
pub async fn resolve(ast: &Statement, state: &SessionState) -> Result<Option<Statement>> {
    // Most statements have no clause: look before copying the statement.
    if Visit::visit(ast, &mut AnyClause).is_continue() {
        return Ok(None);
    }
    let mut clauses = Clauses { found: Vec::new(), ctes: Vec::new(), refused: None, suffixes: None };
    let mut ast = ast.clone();
    let _ = VisitMut::visit(&mut ast, &mut clauses);
    if let Some(refused) = clauses.refused.take() {
        return Err(refused);
    }
    if clauses.found.is_empty() {
        return Ok(None);
    }
    let mut suffixes = Vec::new();
    for (arg, expr) in &clauses.found {
        suffixes.push(match *arg {
            TIMESTAMP_ARG => format!("timestamp_ms={}", evaluate(expr, state, true).await?),
            _ => format!("snapshot={}", evaluate(expr, state, false).await?),
        });
    }
    clauses.suffixes = Some(suffixes.into_iter());
    if VisitMut::visit(&mut ast, &mut clauses).is_break() {
        return Err(Error::internal("a time-travel clause was lost while resolving it"));
    }
    Ok(Some(ast))
}

/// The value of a time-travel expression: milliseconds since the epoch
/// for a timestamp, else a snapshot id.
async fn evaluate(expr: &Expr, state: &SessionState, timestamp: bool) -> Result<i64> {
    let (what, target) =
        if timestamp { ("FOR TIMESTAMP AS OF", "TIMESTAMP WITH TIME ZONE") } else { ("FOR VERSION AS OF", "BIGINT") };
    let bad = |why: String| Error::new(SqlState::InvalidParameterValue, format!("{what} {expr}: {why}"));
    // A constant: a query inside would run unmetered, before the query.
    if Visit::visit(expr, &mut Subqueries).is_break() {
        return Err(bad("it must be a constant expression, without a subquery".into()));
    }
    let sql = format!("SELECT CAST(({expr}) AS {target})");
    // now() and current_timestamp need the statement's start time.
    let mut state = state.clone();
    state.mark_start_execution();
    let parsed = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_statement())
        .map_err(|e| bad(e.to_string()))?;
    let statement = super::rewrite::for_datafusion(&parsed);
    let plan =
        state.statement_to_plan(DfStatement::Statement(Box::new(statement))).await.map_err(|e| bad(e.to_string()))?;
    let physical = state.create_physical_plan(&plan).await.map_err(|e| bad(e.to_string()))?;
    let batches =
        datafusion::physical_plan::collect(physical, state.task_ctx()).await.map_err(|e| bad(e.to_string()))?;
    let column = batches.first().filter(|b| b.num_rows() == 1).map(|b| Arc::clone(b.column(0)));
    let Some(column) = column else {
        return Err(bad("it must be one value".into()));
    };
    if column.is_null(0) {
        return Err(bad("it is NULL".into()));
    }
    let target =
        if timestamp { DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())) } else { DataType::Int64 };
    let value = datafusion::arrow::compute::cast(&column, &target).map_err(|e| bad(e.to_string()))?;
    if timestamp {
        value.as_any().downcast_ref::<TimestampMillisecondArray>().map(|a| a.value(0))
    } else {
        value.as_any().downcast_ref::<Int64Array>().map(|a| a.value(0))
    }
    .ok_or_else(|| bad("it has the wrong type".into()))
}
