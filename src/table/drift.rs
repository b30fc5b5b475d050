//! Schema drift: a partition may carry its own column list (Glue keeps one
//! per partition, and crawlers record the columns each partition's files
//! have). Reading maps it onto the table's columns by name: a column the
//! partition lacks is NULL, a safe widening (`int` to `bigint`, `float` to
//! `double`, an integer to `double`) is cast, and any other difference is
//! an error naming the table, partition, column and both types. Pure
//! computation: no I/O here.

use crate::catalog::types::hive_to_arrow;
use crate::catalog::{Partition, Table};
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::utils::expr_to_columns;
use datafusion::logical_expr::Expr;
use std::collections::HashSet;

/// Where one table column's values come from in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The partition's column at this position, of the table's type.
    Same(usize),
    /// The partition's column at this position, of a narrower type.
    Widened(usize),
    /// Not in the partition: NULL.
    Missing,
}

impl Source {
    pub fn position(self) -> Option<usize> {
        match self {
            Source::Same(j) | Source::Widened(j) => Some(j),
            Source::Missing => None,
        }
    }
}

/// For each of the table's data columns, where the partition holds it
/// (42804 when a column's type cannot be read as the table's).
pub fn layout(table: &Table, partition: &Partition) -> Result<Vec<Source>> {
    let own = &partition.storage_descriptor.columns;
    let columns = &table.storage_descriptor.columns;
    if own.is_empty() {
        return Ok((0..columns.len()).map(Source::Same).collect());
    }
    columns
        .iter()
        .map(|column| {
            let Some(j) = own.iter().position(|c| c.name.eq_ignore_ascii_case(&column.name)) else {
                return Ok(Source::Missing);
            };
            let (from, to) = (hive_to_arrow(&own[j].data_type)?, hive_to_arrow(&column.data_type)?);
            if from == to {
                Ok(Source::Same(j))
            } else if widens(&from, &to) {
                Ok(Source::Widened(j))
            } else {
                let values: Vec<String> =
                    table.partition_keys.iter().zip(&partition.values).map(|(k, v)| format!("{}={v}", k.name)).collect();
                Err(Error::new(
                    SqlState::DatatypeMismatch,
                    format!(
                        "partition {} of {}.{} has column {} as {}, but the table has it as {}; {} cannot be read as {}",
                        values.join("/"),
                        table.database_name,
                        table.name,
                        column.name,
                        own[j].data_type,
                        column.data_type,
                        own[j].data_type,
                        column.data_type
                    ),
                )
                .with_hint(format!(
                    "rewrite that partition's files with {} values, or change the table's column type to one both can be read as",
                    column.data_type
                )))
            }
        })
        .collect()
}

/// Whether values of type `from` can always be read as `to`.
pub fn widens(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let rank = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    match (from, to) {
        (a, b) if rank(a).is_some() && rank(b).is_some() => rank(a) < rank(b),
        (Float32, Float64) => true,
        (Int8 | Int16 | Int32, Float64) => true,
        _ => false,
    }
}

/// Whether a condition on data columns can be handed to a partition's
/// scan: every column it names is in the partition with the table's type.
pub fn applies(filter: &Expr, table: &Table, layout: &[Source]) -> bool {
    let mut columns = HashSet::new();
    if expr_to_columns(filter, &mut columns).is_err() {
        return false;
    }
    columns.iter().all(|c| {
        table
            .storage_descriptor
            .columns
            .iter()
            .position(|col| col.name == c.name)
            .is_some_and(|i| matches!(layout.get(i), Some(Source::Same(_))))
    })
}
