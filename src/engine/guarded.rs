//! DataFusion's scalar functions held to PostgreSQL's answers for bad
//! arguments.
//!
//! - Functions whose result size an argument sets (`range` and the array
//!   form of `generate_series`, of integers, dates or timestamps;
//!   `array_repeat`, `repeat`, `lpad`, `rpad`)
//!   are refused with 54000 past PostgreSQL's limits (134,217,727 array
//!   elements, 1 GB of text) before they allocate: `array_repeat(1,
//!   2147483647)` filled the machine's memory, and a range past what a
//!   vector can hold aborted the server.
//! - Functions whose failures are the caller's fault (a bad date, a zero
//!   field position, a surrogate code point, a bad pattern) fail with the
//!   SQLSTATE PostgreSQL gives, not XX000: any error one of them raises
//!   that is not already classified takes its function's state.
//!
//! - `ntile` with a count that is not positive fails with 22014
//!   ([`guard_window`]).
//!
//! Functions are chosen by name when the session's function list is
//! built ([`guard`], [`guard_window`]), and each is wrapped in a
//! [`Guarded`] (or [`GuardedWindow`]) that delegates everything else to
//! DataFusion's implementation.

use crate::error::{classify_datafusion, Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{ExpressionArgs, PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::preimage::PreimageResult;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ExpressionPlacement, LimitEffect, PartitionEvaluator, ReturnFieldArgs,
    ReversedUDWF, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, WindowUDF, WindowUDFImpl,
};
use datafusion::physical_expr::PhysicalExpr;
use std::any::Any;
use std::sync::Arc;

/// PostgreSQL's largest array (MaxArraySize).
pub const MAX_ARRAY_ELEMENTS: u64 = 134_217_727;
/// PostgreSQL's largest text value (1 GB).
pub const MAX_TEXT_BYTES: u64 = 1 << 30;

/// What bounds a function's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    /// `range` / `generate_series`: (stop - start) / step elements.
    Series,
    /// `array_repeat(value, count)`: count elements.
    Repeated,
    /// `repeat(text, n)`: the text's length times n bytes.
    RepeatedText,
    /// `lpad` / `rpad(text, n)`: n characters, up to 4 bytes each.
    Padded,
}

/// The functions glaux guards: name, the state their own errors get, and
/// what bounds their result.
const GUARDS: &[(&str, SqlState, Option<Size>)] = &[
    ("range", SqlState::InvalidParameterValue, Some(Size::Series)),
    ("generate_series", SqlState::InvalidParameterValue, Some(Size::Series)),
    ("array_repeat", SqlState::InvalidParameterValue, Some(Size::Repeated)),
    ("repeat", SqlState::InvalidParameterValue, Some(Size::RepeatedText)),
    ("lpad", SqlState::InvalidParameterValue, Some(Size::Padded)),
    ("rpad", SqlState::InvalidParameterValue, Some(Size::Padded)),
    ("chr", SqlState::ProgramLimitExceeded, None),
    ("factorial", SqlState::NumericValueOutOfRange, None),
    ("split_part", SqlState::InvalidParameterValue, None),
    ("make_date", SqlState::DatetimeFieldOverflow, None),
    ("substr", SqlState::SubstringError, None),
    ("date_trunc", SqlState::InvalidParameterValue, None),
    ("date_part", SqlState::InvalidParameterValue, None),
    ("to_date", SqlState::InvalidDatetimeFormat, None),
    ("to_timestamp", SqlState::InvalidDatetimeFormat, None),
    ("regexp_like", SqlState::InvalidRegularExpression, None),
    ("regexp_match", SqlState::InvalidRegularExpression, None),
    ("regexp_replace", SqlState::InvalidRegularExpression, None),
    ("regexp_count", SqlState::InvalidRegularExpression, None),
    ("regexp_instr", SqlState::InvalidRegularExpression, None),
];

/// `functions` with the guarded ones wrapped.
pub fn guard(functions: Vec<Arc<ScalarUDF>>) -> Vec<Arc<ScalarUDF>> {
    functions
        .into_iter()
        .map(|f| match GUARDS.iter().find(|(name, ..)| *name == f.name()) {
            Some(&(_, state, size)) => Arc::new(ScalarUDF::new_from_impl(Guarded { inner: f, state, size })),
            None => f,
        })
        .collect()
}

/// A DataFusion function with its arguments checked and its errors given
/// a SQLSTATE.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Guarded {
    inner: Arc<ScalarUDF>,
    state: SqlState,
    size: Option<Size>,
}

impl Guarded {
    fn check_size(&self, args: &[ColumnarValue]) -> Result<()> {
        let Some(size) = self.size else { return Ok(()) };
        let rows = args.iter().find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        });
        let columns: Vec<Option<(Int64Array, bool)>> = args.iter().map(as_int64).collect();
        let name = self.inner.name();
        for row in 0..rows.unwrap_or(1) {
            let int = |i: usize| {
                let (column, scalar) = columns.get(i)?.as_ref()?;
                let at = if *scalar { 0 } else { row };
                column.is_valid(at).then(|| column.value(at))
            };
            let (largest, limit, what) = match size {
                Size::Series => {
                    // range(stop) | range(start, stop) | range(start, stop, step).
                    if columns.iter().any(Option::is_none) {
                        let Some(length) = datetime_series_length(args, row) else { continue };
                        (length, MAX_ARRAY_ELEMENTS, "array size")
                    } else {
                        let (start, stop, step) = match args.len() {
                            1 => (Some(0), int(0), Some(1)),
                            2 => (int(0), int(1), Some(1)),
                            _ => (int(0), int(1), int(2)),
                        };
                        let (Some(start), Some(stop), Some(step)) = (start, stop, step) else { continue };
                        let span = (i128::from(stop) - i128::from(start)).unsigned_abs();
                        let step = i128::from(step).unsigned_abs().max(1);
                        ((span / step).min(u128::from(u64::MAX)) as u64, MAX_ARRAY_ELEMENTS, "array size")
                    }
                }
                Size::Repeated => (int(1).unwrap_or(0).max(0) as u64, MAX_ARRAY_ELEMENTS, "array size"),
                Size::RepeatedText => {
                    let text = text_length(&args[0], row);
                    (text.saturating_mul(int(1).unwrap_or(0).max(0) as u64), MAX_TEXT_BYTES, "text length")
                }
                Size::Padded => ((int(1).unwrap_or(0).max(0) as u64).saturating_mul(4), MAX_TEXT_BYTES, "text length"),
            };
            if largest > limit {
                return Err(Error::new(
                    SqlState::ProgramLimitExceeded,
                    format!("{name}: the {what} requested ({largest}) exceeds the maximum allowed ({limit})"),
                )
                .into_datafusion());
            }
        }
        Ok(())
    }
}

/// `e` with `state`, unless it already has one.
fn with_state(e: DataFusionError, state: SqlState) -> DataFusionError {
    if classify_datafusion(&e) == SqlState::InternalError {
        Error::new(state, Error::from(e).to_string()).into_datafusion()
    } else {
        e
    }
}

/// An argument as 64-bit integers, if it is an integer, and whether it
/// is one value for every row.
fn as_int64(arg: &ColumnarValue) -> Option<(Int64Array, bool)> {
    let (array, scalar): (ArrayRef, bool) = match arg {
        ColumnarValue::Array(a) => (Arc::clone(a), false),
        ColumnarValue::Scalar(s) => (s.to_array_of_size(1).ok()?, true),
    };
    if !array.data_type().is_integer() {
        return None;
    }
    let cast = cast(&array, &DataType::Int64).ok()?;
    Some((cast.as_any().downcast_ref::<Int64Array>()?.clone(), scalar))
}

/// At most how many elements a date or timestamp series (`start, stop,
/// step`) in `row` holds: its span over the shortest its step can be (a
/// month of 28 days, a day of 23 hours). None when that is unknown: a
/// NULL, a step whose parts have different signs, not a date series.
fn datetime_series_length(args: &[ColumnarValue], row: usize) -> Option<u64> {
    const HOUR: i128 = 3_600_000_000_000;
    const DAY: i128 = 24 * HOUR;
    let value = |i: usize| match args.get(i)? {
        ColumnarValue::Scalar(s) => Some(s.clone()),
        ColumnarValue::Array(a) => ScalarValue::try_from_array(a, row).ok(),
    };
    let nanos = |v: ScalarValue| -> Option<i128> {
        match v {
            ScalarValue::Date32(Some(d)) => Some(i128::from(d) * DAY),
            ScalarValue::Date64(Some(ms)) => Some(i128::from(ms) * 1_000_000),
            ScalarValue::TimestampSecond(Some(v), _) => Some(i128::from(v) * 1_000_000_000),
            ScalarValue::TimestampMillisecond(Some(v), _) => Some(i128::from(v) * 1_000_000),
            ScalarValue::TimestampMicrosecond(Some(v), _) => Some(i128::from(v) * 1_000),
            ScalarValue::TimestampNanosecond(Some(v), _) => Some(i128::from(v)),
            _ => None,
        }
    };
    let (months, days, rest) = match value(2)? {
        ScalarValue::IntervalMonthDayNano(Some(i)) => (i.months, i.days, i128::from(i.nanoseconds)),
        ScalarValue::IntervalDayTime(Some(i)) => (0, i.days, i128::from(i.milliseconds) * 1_000_000),
        ScalarValue::IntervalYearMonth(Some(m)) => (m, 0, 0),
        _ => return None,
    };
    let parts = [i128::from(months) * 28 * DAY, i128::from(days) * 23 * HOUR, rest];
    if parts.iter().any(|p| *p > 0) && parts.iter().any(|p| *p < 0) {
        return None;
    }
    let step = parts.iter().sum::<i128>().unsigned_abs().max(1);
    let span = (nanos(value(1)?)? - nanos(value(0)?)?).unsigned_abs();
    Some((span / step + 1).min(u128::from(u64::MAX)) as u64)
}

/// The byte length of a text argument in `row` (0 for NULL or non-text).
fn text_length(arg: &ColumnarValue, row: usize) -> u64 {
    let value = match arg {
        ColumnarValue::Scalar(s) => s.clone(),
        ColumnarValue::Array(a) => ScalarValue::try_from_array(a, row).unwrap_or(ScalarValue::Null),
    };
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.len() as u64,
        _ => 0,
    }
}

impl ScalarUDFImpl for Guarded {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.inner().schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.inner().return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.inner().return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.check_size(&args.args)?;
        self.inner.inner().invoke_with_args(args).map_err(|e| with_state(e, self.state))
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        let updated = self.inner.inner().with_updated_config(config)?;
        Some(ScalarUDF::new_from_impl(Guarded { inner: Arc::new(updated), state: self.state, size: self.size }))
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.inner().simplify(args, info)
    }

    fn preimage(&self, args: &[Expr], lit_expr: &Expr, info: &SimplifyContext) -> Result<PreimageResult> {
        self.inner.inner().preimage(args, lit_expr, info)
    }

    fn conditional_arguments<'a>(&self, args: &'a [Expr]) -> Option<(Vec<&'a Expr>, Vec<&'a Expr>)> {
        self.inner.inner().conditional_arguments(args)
    }

    fn short_circuits(&self) -> bool {
        self.inner.inner().short_circuits()
    }

    fn evaluate_bounds(&self, input: &[&Interval]) -> Result<Interval> {
        self.inner.inner().evaluate_bounds(input)
    }

    fn propagate_constraints(&self, interval: &Interval, inputs: &[&Interval]) -> Result<Option<Vec<Interval>>> {
        self.inner.inner().propagate_constraints(interval, inputs)
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.inner().output_ordering(inputs)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.inner().preserves_lex_ordering(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.inner().documentation()
    }

    fn placement(&self, args: &[ExpressionPlacement]) -> ExpressionPlacement {
        self.inner.inner().placement(args)
    }
}

/// The window functions glaux guards, and the state their own errors get.
const WINDOW_GUARDS: &[(&str, SqlState)] = &[("ntile", SqlState::InvalidArgumentForNtile)];

/// `functions` with the guarded window functions wrapped.
pub fn guard_window(functions: Vec<Arc<WindowUDF>>) -> Vec<Arc<WindowUDF>> {
    functions
        .into_iter()
        .map(|f| match WINDOW_GUARDS.iter().find(|(name, _)| *name == f.name()) {
            Some(&(_, state)) => Arc::new(WindowUDF::new_from_impl(GuardedWindow { inner: f, state })),
            None => f,
        })
        .collect()
}

/// A DataFusion window function whose errors for its arguments get a
/// SQLSTATE (they are raised when its evaluator is made from them).
#[derive(Debug, PartialEq, Eq, Hash)]
struct GuardedWindow {
    inner: Arc<WindowUDF>,
    state: SqlState,
}

impl WindowUDFImpl for GuardedWindow {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn expressions(&self, expr_args: ExpressionArgs) -> Vec<Arc<dyn PhysicalExpr>> {
        self.inner.inner().expressions(expr_args)
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        self.inner.inner().partition_evaluator(args).map_err(|e| with_state(e, self.state))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        self.inner.inner().field(field_args)
    }

    fn sort_options(&self) -> Option<datafusion::arrow::compute::SortOptions> {
        self.inner.inner().sort_options()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn reverse_expr(&self) -> ReversedUDWF {
        self.inner.inner().reverse_expr()
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.inner().documentation()
    }

    fn limit_effect(&self, args: &[Arc<dyn PhysicalExpr>]) -> LimitEffect {
        self.inner.inner().limit_effect(args)
    }
}
