//! INSERT, UPDATE and DELETE.
//!
//! DataFusion plans them like queries, against the target's
//! `TableProvider`, so they take the query path: workgroup checks, a
//! ledger entry, the transaction's state. No table glaux serves accepts
//! writes yet (Iceberg tables are the first to come), so each statement
//! ends at [`refusal`], which says, from the target's type, why its table
//! cannot be written. It is refused when it runs, not when it is
//! prepared, so the query history records it as FAILED.

use crate::error::{Error, SqlState};
use crate::table::metered::MeteredTable;
use crate::table::partitioned::PartitionedTable;
use datafusion::datasource::{source_as_provider, MemTable, ViewTable};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{LogicalPlan, WriteOp};

/// Why the data-changing statement `plan` cannot run, naming its table.
pub fn refusal(plan: &LogicalPlan) -> Error {
    let LogicalPlan::Dml(dml) = plan else { return Error::internal("a data-changing statement without its plan") };
    let verb = match &dml.op {
        WriteOp::Insert(InsertOp::Append | InsertOp::Replace) => "insert into",
        WriteOp::Insert(InsertOp::Overwrite) => "overwrite",
        WriteOp::Delete => "delete from",
        WriteOp::Update => "update",
        WriteOp::Ctas => "create",
        WriteOp::Truncate => "truncate",
    };
    let table = &dml.table_name;
    let Ok(provider) = source_as_provider(&dml.target) else {
        return Error::new(SqlState::FeatureNotSupported, format!("cannot {verb} {table}: glaux cannot write to it"));
    };
    let target = provider.as_any();
    if target.is::<ViewTable>() {
        Error::new(SqlState::WrongObjectType, format!("cannot {verb} view {table}: views are read-only"))
    } else if target.is::<MemTable>() {
        Error::new(
            SqlState::WrongObjectType,
            format!("cannot {verb} {table}: it is a system table, which only glaux changes"),
        )
    } else if target.is::<MeteredTable>() || target.is::<PartitionedTable>() {
        Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "cannot {verb} table {table}: it is an external (Hive) table, which glaux reads but does not write"
            ),
        )
    } else {
        Error::new(SqlState::FeatureNotSupported, format!("cannot {verb} {table}: glaux cannot write to it"))
    }
}
