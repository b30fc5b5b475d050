//! PostgreSQL's untyped literals. In PostgreSQL a quoted literal takes
//! the type of what it is compared with, so `paid = 't'` compares
//! booleans and `polroles = '{0}'` compares arrays; DataFusion types every
//! quoted literal as text and refuses those comparisons. Two ways in:
//!
//! - [`UnknownLiterals`], an analyzer rule run before DataFusion's type
//!   coercion, converts a text literal compared with a boolean or an array
//!   in a condition (WHERE, JOIN);
//! - in a select list DataFusion refuses the comparison while planning, so
//!   the statement is planned again with such literals as parameters
//!   ([`as_parameters`]), whose types DataFusion infers, and then bound to
//!   their values ([`typed_values`]).
//!
//! Both read PostgreSQL's input syntax (`t`, `yes`, `on`, `1` ...;
//! `{1,2,"a b",NULL}`) and give its error for bad input (22P02).

use crate::error::{Error, SqlState};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::BinaryExpr;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;
use datafusion::sql::sqlparser::ast::Statement as SqlAst;

#[derive(Debug, Default)]
pub struct UnknownLiterals;

impl AnalyzerRule for UnknownLiterals {
    fn name(&self) -> &str {
        "glaux_unknown_literals"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::expr_rules::rewrite_expressions(plan, typed)
    }
}

fn typed(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else { return Ok(Transformed::no(expr)) };
    let comparison = matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    );
    if !comparison {
        return Ok(Transformed::no(expr));
    }
    let convert = |literal: &Expr, other: &Expr| -> Result<Option<Expr>> {
        let Expr::Literal(ScalarValue::Utf8(Some(text)) | ScalarValue::Utf8View(Some(text)), _) = literal else {
            return Ok(None);
        };
        let Ok(target) = other.get_type(schema) else { return Ok(None) };
        let value = match &target {
            DataType::Boolean => ScalarValue::Boolean(Some(parse_bool(text).map_err(Error::into_datafusion)?)),
            DataType::List(field) => {
                crate::pgcatalog::parse_array(text, field.data_type()).map_err(Error::into_datafusion)?
            }
            _ => return Ok(None),
        };
        Ok(Some(Expr::Literal(value, None)))
    };
    let op: Operator = *op;
    if let Some(r) = convert(right, left)? {
        return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr { left: left.clone(), op, right: Box::new(r) })));
    }
    if let Some(l) = convert(left, right)? {
        return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr { left: Box::new(l), op, right: right.clone() })));
    }
    Ok(Transformed::no(expr))
}

/// `ast` with each quoted literal compared with a non-literal replaced by
/// a parameter `$n`, and the literals' texts; `None` if the statement has
/// parameters of its own or no such literal.
pub fn as_parameters(ast: &SqlAst) -> Option<(SqlAst, Vec<String>)> {
    use datafusion::sql::sqlparser::ast::{
        visit_expressions, visit_expressions_mut, BinaryOperator as B, Expr as E, Value,
    };
    use std::ops::ControlFlow;
    let mut has_placeholders = false;
    let _ = visit_expressions(ast, |e| {
        has_placeholders |= matches!(e, E::Value(v) if matches!(v.value, Value::Placeholder(_)));
        ControlFlow::<()>::Continue(())
    });
    if has_placeholders {
        return None;
    }
    let mut ast = ast.clone();
    let mut texts = Vec::new();
    let _ = visit_expressions_mut(&mut ast, |e| {
        if let E::BinaryOp { left, op: B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq, right } = e {
            let literal = |x: &E| match x {
                E::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            };
            let is_literal = |x: &E| matches!(x, E::Value(_));
            if let (Some(text), false) = (literal(right), is_literal(left)) {
                texts.push(text);
                **right = E::value(Value::Placeholder(format!("${}", texts.len())));
            } else if let (Some(text), false) = (literal(left), is_literal(right)) {
                texts.push(text);
                **left = E::value(Value::Placeholder(format!("${}", texts.len())));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    (!texts.is_empty()).then_some((ast, texts))
}

/// The literals' values, each in the type DataFusion inferred for its
/// parameter (text when it inferred none).
pub fn typed_values(texts: &[String], plan: &LogicalPlan) -> std::result::Result<Vec<ScalarValue>, Error> {
    let types = plan.get_parameter_types().map_err(Error::from)?;
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| match types.get(&format!("${}", i + 1)).cloned().flatten() {
            Some(DataType::Boolean) => Ok(ScalarValue::Boolean(Some(parse_bool(text)?))),
            Some(DataType::List(field)) => crate::pgcatalog::parse_array(text, field.data_type()),
            Some(t) => ScalarValue::Utf8(Some(text.clone())).cast_to(&t).map_err(|_| {
                Error::new(
                    SqlState::InvalidTextRepresentation,
                    format!("invalid input syntax for type {t}: \"{text}\""),
                )
            }),
            None => Ok(ScalarValue::Utf8(Some(text.clone()))),
        })
        .collect()
}

/// PostgreSQL's boolean input: `t`/`true`/`yes`/`on`/`1` and their
/// opposites, any case, unique prefixes accepted.
pub fn parse_bool(text: &str) -> std::result::Result<bool, Error> {
    let t = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    if t == "1" || prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) {
        return Ok(true);
    }
    if t == "0" || prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) {
        return Ok(false);
    }
    Err(Error::new(SqlState::InvalidTextRepresentation, format!("invalid input syntax for type boolean: \"{text}\"")))
}
