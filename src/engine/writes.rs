//! INSERT, UPDATE and DELETE.
//!
//! DataFusion plans them like queries, against the target's
//! `TableProvider`, and they run on the query path: workgroup checks and
//! metering, a ledger entry, cancellation, statement_timeout, the
//! transaction's state. The session starts the plan as it starts a query
//! ([`start`]), and turns the count the plan answers into the command tag
//! ([`changed`]: `INSERT 0 n`, `UPDATE n`, `DELETE n`).
//!
//! A table that cannot be written is refused by its type: views and
//! system tables before the plan runs, and any other table when
//! DataFusion finds that its provider implements no `insert_into`,
//! `delete_from` or `update` (a `NotImplemented` error). Iceberg tables
//! take INSERT, DELETE and UPDATE (`crate::iceberg`), external (Hive)
//! tables INSERT (`crate::table::write`); any other statement on any
//! other table ends at [`refusal`], which says, from the target's type,
//! why its table cannot be written. It is refused when it runs, not when
//! it is prepared, so the query history records it as FAILED.

use super::output::{Changed, Tag};
use crate::error::{Error, Result, SqlState};
use crate::table::metered::MeteredTable;
use crate::table::partitioned::PartitionedTable;
use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::datasource::{source_as_provider, MemTable, ViewTable};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, LogicalPlan, WriteOp};
use futures::StreamExt;

/// The refusal of a plan whose target glaux never lets DataFusion write
/// (a view, or a system table, which DataFusion would change in memory).
pub fn refused_before_running(plan: &LogicalPlan) -> Option<Error> {
    let LogicalPlan::Dml(dml) = plan else { return Some(refusal(plan)) };
    if matches!(dml.op, WriteOp::Delete | WriteOp::Update) && reads_another_relation(&dml.input) {
        // DataFusion hands a table only the conditions on its own columns:
        // one a subquery or join decides would be dropped, and every row
        // changed.
        let verb = if dml.op == WriteOp::Delete { "DELETE" } else { "UPDATE" };
        return Some(
            Error::new(
                SqlState::FeatureNotSupported,
                format!("{verb} on {} with a subquery or another table in it is not supported", dml.table_name),
            )
            .with_hint("write the condition on the table's own columns, or use MERGE INTO"),
        );
    }
    let target = source_as_provider(&dml.target).ok()?;
    let any = target.as_any();
    (any.is::<ViewTable>() || any.is::<MemTable>()).then(|| refusal(plan))
}

/// Whether a DELETE's or UPDATE's input reads anything but its target:
/// a join, a subquery node, or a subquery inside an expression.
fn reads_another_relation(input: &LogicalPlan) -> bool {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut found = false;
    let _ = input.apply(|node| {
        let subquery_expr = node.expressions().iter().any(|e| {
            e.exists(|e| {
                Ok(matches!(
                    e,
                    Expr::ScalarSubquery(_)
                        | Expr::Exists(_)
                        | Expr::InSubquery(_)
                        | Expr::SetComparison(_)
                        | Expr::OuterReferenceColumn(..)
                ))
            })
            .unwrap_or(true)
        });
        found |= subquery_expr || matches!(node, LogicalPlan::Join(_) | LogicalPlan::Subquery(_));
        Ok(if found { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    found
}

/// The running plan's stream, with a target that turned out not to be
/// writable (DataFusion's `NotImplemented`) reported as [`refusal`].
pub fn start(stream: SendableRecordBatchStream, plan: &LogicalPlan) -> SendableRecordBatchStream {
    let plan = plan.clone();
    let schema = stream.schema();
    let mapped = stream.map(move |item| {
        item.map_err(|e| match e.find_root() {
            DataFusionError::NotImplemented(_) => refusal(&plan).into_datafusion(),
            // iceberg-rust's own write plans (INSERT's commit) raise its
            // errors as they are: a lost commit race is 40001, not XX000.
            DataFusionError::External(inner) if inner.downcast_ref::<iceberg::Error>().is_some() => {
                let iceberg = inner.downcast_ref::<iceberg::Error>().expect("checked");
                crate::iceberg::error_of(iceberg, &statement(&plan)).into_datafusion()
            }
            _ => e,
        })
    });
    Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, mapped))
}

/// `INSERT INTO t`, `DELETE FROM t`...: the statement, for messages.
fn statement(plan: &LogicalPlan) -> String {
    match plan {
        LogicalPlan::Dml(dml) => {
            let verb = match &dml.op {
                WriteOp::Insert(_) => "INSERT INTO",
                WriteOp::Delete => "DELETE FROM",
                WriteOp::Update => "UPDATE",
                WriteOp::Ctas => "CREATE TABLE",
                WriteOp::Truncate => "TRUNCATE",
            };
            format!("{verb} {}", dml.table_name)
        }
        _ => "a data-changing statement".to_string(),
    }
}

/// Drain a data-changing statement's stream into its command tag: the
/// rows it changed, summed over the `count` column DataFusion answers.
pub async fn changed(stream: SendableRecordBatchStream, plan: &LogicalPlan) -> Result<Tag> {
    let rows = changed_rows(stream).await?;
    Ok(Tag::Changed { verb: verb(plan)?, rows })
}

/// Drain a data-changing plan's stream: the rows it changed, summed over
/// the `count` column DataFusion answers.
pub async fn changed_rows(mut stream: SendableRecordBatchStream) -> Result<u64> {
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let Some(counts) = batch.columns().first().and_then(|c| c.as_any().downcast_ref::<UInt64Array>()) else {
            return Err(Error::internal("a data-changing statement answered without its count"));
        };
        rows += counts.iter().flatten().sum::<u64>();
    }
    Ok(rows)
}

/// The tag's verb for a data-changing plan.
fn verb(plan: &LogicalPlan) -> Result<Changed> {
    let LogicalPlan::Dml(dml) = plan else { return Err(Error::internal("a data-changing statement without its plan")) };
    Ok(match &dml.op {
        WriteOp::Insert(_) => Changed::Insert,
        WriteOp::Delete | WriteOp::Truncate => Changed::Delete,
        WriteOp::Update => Changed::Update,
        WriteOp::Ctas => Changed::CreateTableAs,
    })
}

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
                "cannot {verb} table {table}: it is an external (Hive) table, to which glaux only appends (INSERT INTO)"
            ),
        )
        .with_hint(
            "DELETE, UPDATE and MERGE change Iceberg tables (CREATE TABLE ... WITH (table_type = 'ICEBERG') AS SELECT)",
        )
    } else {
        Error::new(SqlState::FeatureNotSupported, format!("cannot {verb} {table}: glaux cannot write to it"))
    }
}
