//! Integer arithmetic that fails on overflow, as PostgreSQL's does.
//!
//! DataFusion adds, subtracts and multiplies integers with wrapping
//! kernels: `SELECT 9223372036854775807 + 1` answered
//! -9223372036854775808, a wrong answer with no error. Its binary
//! expression can check for overflow, but the physical planner never
//! asks it to and no setting does. [`CheckedArithmetic`], an analyzer
//! rule run after type coercion, therefore replaces each `+`, `-` and `*`
//! whose operands are both of one integer type with [`CheckedOperator`], a
//! function that computes the same with arrow's checked kernels and fails
//! with 22003 (`bigint out of range`). Its column name is the operator's
//! (`a + b`), so nothing that refers to the expression by name changes.
//!
//! Unary minus of a signed integer becomes [`CheckedNegate`] the same
//! way (`-x` of the smallest bigint has no bigint answer), named as
//! DataFusion names the negation (`(- x)`).
//!
//! Constant folding evaluates the functions like any other; a constant
//! that overflows is left for execution, which reports it. Left as it
//! was: `sum` of integers, which DataFusion accumulates in the column's
//! own type.

use crate::error::{Error, SqlState};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, DataFusionError, Result};
use datafusion::logical_expr::expr::{BinaryExpr, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr_common::datum::apply;
use std::any::Any;
use std::sync::{Arc, LazyLock};

#[derive(Debug, Default)]
pub struct CheckedArithmetic;

impl AnalyzerRule for CheckedArithmetic {
    fn name(&self) -> &str {
        "glaux_checked_arithmetic"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::expr_rules::rewrite_expressions(plan, checked)
    }
}

/// `expr` as a [`CheckedOperator`] call when it is `+`, `-` or `*` of
/// two operands of one integer type, or as [`CheckedNegate`] when it is
/// the negation of a signed integer.
fn checked(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    if let Expr::Negative(inner) = &expr {
        if inner.get_type(schema).is_ok_and(|t| t.is_signed_integer()) {
            let negate = Arc::clone(&NEGATE);
            return Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(negate, vec![*inner.clone()]))));
        }
        return Ok(Transformed::no(expr));
    }
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else { return Ok(Transformed::no(expr)) };
    let Some(function) = OPERATORS.iter().find(|f| f.op == *op) else { return Ok(Transformed::no(expr)) };
    let (Ok(l), Ok(r)) = (left.get_type(schema), right.get_type(schema)) else { return Ok(Transformed::no(expr)) };
    if l != r || !l.is_integer() {
        return Ok(Transformed::no(expr));
    }
    let args = vec![left.as_ref().clone(), right.as_ref().clone()];
    Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(Arc::clone(&function.udf), args))))
}

struct Checked {
    op: Operator,
    udf: Arc<ScalarUDF>,
}

static OPERATORS: LazyLock<[Checked; 3]> = LazyLock::new(|| {
    [Operator::Plus, Operator::Minus, Operator::Multiply].map(|op| {
        let name = match op {
            Operator::Plus => "int_add",
            Operator::Minus => "int_subtract",
            _ => "int_multiply",
        };
        let udf =
            ScalarUDF::new_from_impl(CheckedOperator { op, name, signature: Signature::any(2, Volatility::Immutable) });
        Checked { op, udf: Arc::new(udf) }
    })
});

/// One integer operator, computed with overflow checks.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedOperator {
    op: Operator,
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for CheckedOperator {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let [l, r] = args else { return Ok(self.name.to_string()) };
        Ok(format!("{} {} {}", l.schema_name(), self.op, r.schema_name()))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [l, r] = args.args.as_slice() else {
            return Err(DataFusionError::Internal(format!("{} takes two arguments", self.name)));
        };
        let kernel = match self.op {
            Operator::Plus => numeric::add,
            Operator::Minus => numeric::sub,
            _ => numeric::mul,
        };
        apply(l, r, kernel).map_err(|e| match e.find_root() {
            DataFusionError::ArrowError(inner, _) if matches!(inner.as_ref(), ArrowError::ArithmeticOverflow(_)) => {
                Error::new(SqlState::NumericValueOutOfRange, format!("{} out of range", type_name(&l.data_type())))
                    .into_datafusion()
            }
            _ => e,
        })
    }
}

static NEGATE: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(CheckedNegate { signature: Signature::any(1, Volatility::Immutable) }))
});

/// Unary minus of a signed integer, failing on overflow.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedNegate {
    signature: Signature,
}

impl ScalarUDFImpl for CheckedNegate {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "int_negate"
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let [x] = args else { return Ok(self.name().to_string()) };
        Ok(format!("(- {})", x.schema_name()))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [x] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("int_negate takes one argument".into()));
        };
        let overflow = |e: ArrowError| match e {
            ArrowError::ArithmeticOverflow(_) => {
                Error::new(SqlState::NumericValueOutOfRange, format!("{} out of range", type_name(&x.data_type())))
                    .into_datafusion()
            }
            other => DataFusionError::from(other),
        };
        match x {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(numeric::neg(a).map_err(overflow)?)),
            ColumnarValue::Scalar(v) => {
                let negated = numeric::neg(&v.to_array()?).map_err(overflow)?;
                Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&negated, 0)?))
            }
        }
    }
}

/// PostgreSQL's name for an integer type, as its range errors say it.
fn type_name(t: &DataType) -> String {
    match t {
        DataType::Int16 => "smallint".to_string(),
        DataType::Int32 => "integer".to_string(),
        DataType::Int64 => "bigint".to_string(),
        other => format!("{other} value"),
    }
}
