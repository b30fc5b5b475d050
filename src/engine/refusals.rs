//! DataFusion's planning refusals that glaux answers by planning again.
//!
//! DataFusion says these only in an error's text, as `DataFusionError::Plan`:
//! no variant or type tells them apart. Each is recognised here, in one
//! function, and tests/integration/refusals.rs provokes each refusal from
//! DataFusion itself, so a changed message fails a test instead of quietly
//! turning a restatement off.

use datafusion::error::DataFusionError;

/// The text of a planning refusal, if `e` is one.
fn plan_text(e: &DataFusionError) -> Option<&str> {
    match e.find_root() {
        DataFusionError::Plan(m) => Some(m),
        _ => None,
    }
}

/// Two output columns of a projection have one name (`SELECT 1, 1`);
/// PostgreSQL allows it, and the query is planned again with the
/// duplicates renamed.
pub fn duplicate_output_names(e: &DataFusionError) -> bool {
    plan_text(e).is_some_and(|m| m.contains("require unique expression names"))
}

/// A comparison whose operand types have no common type (`b = 't'`
/// with `b` boolean): in PostgreSQL the quoted literal takes the other
/// operand's type, and the query is planned again with such literals as
/// parameters.
pub fn uncomparable_types(e: &DataFusionError) -> bool {
    plan_text(e).is_some_and(|m| m.contains("Cannot infer common argument type for comparison"))
}

/// A correlated subquery of a shape DataFusion does not decorrelate;
/// the query is planned again with the subquery restated.
pub fn unsupported_correlation(e: &DataFusionError) -> bool {
    plan_text(e).is_some_and(|m| m.contains("orrelated"))
}
