//! `single_value(x)`: the value of the only row, NULL for no rows, and
//! PostgreSQL's error 21000 for more than one. DataFusion plans a
//! correlated scalar subquery only when it aggregates; glaux wraps such a
//! subquery's value in this aggregate (see `rewrite::aggregate_scalar_subqueries`),
//! which keeps PostgreSQL's meaning: one row or an error.

use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use std::any::Any;
use std::sync::Arc;

pub const NAME: &str = "single_value";

pub fn udaf() -> AggregateUDF {
    AggregateUDF::from(SingleValue { signature: Signature::any(1, Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SingleValue {
    signature: Signature,
}

impl AggregateUDFImpl for SingleValue {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Only { value: ScalarValue::try_from(args.return_field.data_type())?, rows: 0 }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(args.return_field.as_ref().clone().with_name(format!("{}[value]", args.name)).with_nullable(true)),
            Arc::new(Field::new(format!("{}[rows]", args.name), DataType::Int64, false)),
        ])
    }
}

#[derive(Debug)]
struct Only {
    value: ScalarValue,
    rows: i64,
}

impl Only {
    fn add(&mut self, value: ScalarValue, rows: i64) -> Result<()> {
        self.rows += rows;
        if self.rows > 1 {
            return Err(Error::new(
                SqlState::CardinalityViolation,
                "more than one row returned by a subquery used as an expression",
            )
            .into_datafusion());
        }
        if rows == 1 {
            self.value = value;
        }
        Ok(())
    }
}

impl Accumulator for Only {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for row in 0..values[0].len() {
            self.add(ScalarValue::try_from_array(&values[0], row)?, 1)?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states[1].as_primitive::<Int64Type>();
        for row in 0..states[0].len() {
            self.add(ScalarValue::try_from_array(&states[0], row)?, rows.value(row))?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), ScalarValue::Int64(Some(self.rows))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.size()
    }
}
