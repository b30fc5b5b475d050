//! SQL-level prepared statements: `PREPARE name [(types)] AS query`,
//! `EXECUTE name [(values)]`, `DEALLOCATE [PREPARE] name | ALL`. They
//! belong to the session (the wire protocol's Parse/Bind are separate,
//! in [`crate::server`]). EXECUTE becomes the stored query with each `$n`
//! replaced by its value, cast to the declared type, and is planned as a
//! query.

use crate::error::{Error, Result, SqlState};
use datafusion::sql::sqlparser::ast::{self, visit_expressions_mut, CastKind, DataType, Expr, Statement as Ast, Value};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// A session's SQL prepared statements, by name.
#[derive(Default)]
pub struct SqlPrepared {
    statements: HashMap<String, Stored>,
}

#[derive(Clone)]
struct Stored {
    query: Box<Ast>,
    types: Vec<DataType>,
}

impl SqlPrepared {
    /// PREPARE: `check` plans the query (placeholders as typed NULLs)
    /// before it is stored, so a bad query fails here, as in PostgreSQL.
    pub fn prepare(&mut self, name: &str, types: &[DataType], query: &Ast) -> Result<Ast> {
        if self.statements.contains_key(name) {
            return Err(Error::new(
                SqlState::DuplicatePreparedStatement,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let probe = substitute(query, types, None)?;
        self.statements.insert(name.to_string(), Stored { query: Box::new(query.clone()), types: types.to_vec() });
        Ok(probe)
    }

    /// Undo a PREPARE whose query did not plan.
    pub fn forget(&mut self, name: &str) {
        self.statements.remove(name);
    }

    /// EXECUTE: the query to plan.
    pub fn execute(&self, name: &str, values: &[Expr]) -> Result<Ast> {
        let stored = self.statements.get(name).ok_or_else(|| missing(name))?;
        substitute(&stored.query, &stored.types, Some(values))
    }

    /// DEALLOCATE name, or ALL (`None`).
    pub fn deallocate(&mut self, name: Option<&str>) -> Result<()> {
        match name {
            Some(n) => self.statements.remove(n).map(|_| ()).ok_or_else(|| missing(n)),
            None => {
                self.statements.clear();
                Ok(())
            }
        }
    }
}

fn missing(name: &str) -> Error {
    Error::new(SqlState::InvalidStatementName, format!("prepared statement \"{name}\" does not exist"))
}

/// `query` with `$n` replaced by `values[n-1]` (typed NULLs for `None`).
fn substitute(query: &Ast, types: &[DataType], values: Option<&[Expr]>) -> Result<Ast> {
    let mut highest = 0usize;
    let mut query = query.clone();
    let mut bad = None;
    let _ = visit_expressions_mut(&mut query, |e| {
        let Expr::Value(v) = e else { return ControlFlow::<()>::Continue(()) };
        let Value::Placeholder(p) = &v.value else { return ControlFlow::Continue(()) };
        let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0) else {
            bad = Some(p.clone());
            return ControlFlow::Break(());
        };
        highest = highest.max(n);
        let value = match values {
            Some(values) => match values.get(n - 1) {
                Some(value) => value.clone(),
                None => return ControlFlow::Continue(()),
            },
            None => Expr::value(Value::Null),
        };
        *e = match types.get(n - 1) {
            Some(t) => Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(value),
                data_type: t.clone(),
                format: None,
                array: false,
            },
            None => value,
        };
        ControlFlow::Continue(())
    });
    if let Some(p) = bad {
        return Err(Error::syntax(format!("bad parameter {p} in a prepared statement"), None));
    }
    if let Some(values) = values {
        let expected = highest.max(types.len());
        if values.len() != expected {
            return Err(Error::syntax(
                format!("wrong number of parameters for prepared statement: expected {expected}, got {}", values.len()),
                None,
            ));
        }
    }
    Ok(query)
}

/// The name of an EXECUTE's statement.
pub fn execute_name(name: &Option<ast::ObjectName>) -> Result<String> {
    match name {
        Some(n) => Ok(super::statement::object_name_parts(n).join(".")),
        None => Err(Error::syntax("EXECUTE needs a prepared statement name", None)),
    }
}
