//! Table functions (`FROM f(...)`): DataFusion's own, with integer
//! arguments of any width accepted (PostgreSQL's `generate_series` takes
//! the `int4` that `array_upper` returns; DataFusion's takes only `int8`),
//! and PostgreSQL's `pg_get_keywords()`.

use crate::error::SqlState;
use crate::pgcatalog::rows::{char, text, Col, Rows};
use crate::pgcatalog::system::keywords;
use datafusion::catalog::{TableFunction, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateDefaults;
use datafusion::logical_expr::Expr;
use std::sync::Arc;

/// The table functions a session knows.
pub fn all() -> Vec<Arc<TableFunction>> {
    let mut functions: Vec<Arc<TableFunction>> = SessionStateDefaults::default_table_functions()
        .into_iter()
        .map(|f| {
            let series = matches!(f.name(), "generate_series" | "range");
            Arc::new(TableFunction::new(f.name().to_string(), Arc::new(WideIntegers(Arc::clone(f.function()), series))))
        })
        .collect();
    functions.push(Arc::new(TableFunction::new("pg_get_keywords".into(), Arc::new(Keywords))));
    functions
}

/// Whether `name` is a table function (not a scalar function in FROM).
pub fn is_table_function(name: &str) -> bool {
    name == "pg_get_keywords" || SessionStateDefaults::default_table_functions().iter().any(|f| f.name() == name)
}

/// A table function whose integer literal arguments are widened to `int8`;
/// for a series (the flag), a step of zero is PostgreSQL's 22023.
#[derive(Debug)]
struct WideIntegers(Arc<dyn TableFunctionImpl>, bool);

impl TableFunctionImpl for WideIntegers {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let widened: Vec<Expr> = args
            .iter()
            .map(|arg| match arg {
                Expr::Literal(value, meta) if value.data_type().is_integer() && !value.is_null() => {
                    match value.cast_to(&datafusion::arrow::datatypes::DataType::Int64) {
                        Ok(wide) => Expr::Literal(wide, meta.clone()),
                        Err(_) => arg.clone(),
                    }
                }
                Expr::Literal(value, meta) if value.data_type().is_integer() => {
                    Expr::Literal(ScalarValue::Int64(None), meta.clone())
                }
                other => other.clone(),
            })
            .collect();
        if self.1 {
            if let Some(Expr::Literal(step, _)) = widened.get(2) {
                if !step.is_null() && ScalarValue::new_zero(&step.data_type()).is_ok_and(|zero| zero == *step) {
                    let e = crate::error::Error::new(SqlState::InvalidParameterValue, "step size cannot equal zero");
                    return Err(e.into_datafusion());
                }
            }
        }
        self.0.call(&widened)
    }
}

/// `pg_get_keywords()`: the SQL keywords glaux's parser knows, with
/// PostgreSQL's category codes (`R` reserved, `U` unreserved).
#[derive(Debug)]
struct Keywords;

impl TableFunctionImpl for Keywords {
    fn call(&self, _: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let mut rows = Rows::new(&[
            ("word", Col::Text),
            ("catcode", Col::Text),
            ("barelabel", Col::Bool),
            ("catdesc", Col::Text),
            ("baredesc", Col::Text),
        ]);
        for (word, code) in keywords() {
            let description = if code == 'R' { "reserved" } else { "unreserved" };
            rows.push(vec![
                text(word.to_ascii_lowercase()),
                char(code),
                ScalarValue::Boolean(Some(code != 'R')),
                text(description),
                text(if code == 'R' { "requires AS" } else { "can be bare label" }),
            ]);
        }
        let schema = rows.schema();
        Ok(Arc::new(MemTable::try_new(
            schema,
            vec![vec![rows.into_batch().map_err(crate::error::Error::into_datafusion)?]],
        )?))
    }
}
