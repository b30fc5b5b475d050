//! The SELECT a connector sends to its source, written the same way for
//! every SQL source: the columns read, the filters glaux decided to send
//! (`crate::pushdown`), unparsed by DataFusion in the source's dialect
//! with column names alone, each in parentheses, and a LIMIT; and the
//! plan node that sends it ([`SourceScan`]), whose rows a connector's
//! [`Reader`] decodes.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::sql::unparser::dialect::Dialect;
use datafusion::sql::unparser::Unparser;
use std::any::Any;
use std::sync::Arc;

/// `SELECT <select> FROM <from> [WHERE (f1) AND (f2) ...] [LIMIT n]`;
/// `select` and `from` are already quoted for the source.
pub fn select(
    select: &str,
    from: &str,
    filters: &[Expr],
    limit: Option<usize>,
    dialect: &dyn Dialect,
) -> Result<String> {
    let mut sql = format!("SELECT {select} FROM {from}");
    let unparser = Unparser::new(dialect);
    let mut conditions = Vec::new();
    for filter in filters {
        // Columns by their name alone: the source knows no glaux names.
        let filter = filter.clone().transform(|e| match e {
            Expr::Column(c) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))),
            other => Ok(Transformed::no(other)),
        })?;
        conditions.push(format!("({})", unparser.expr_to_sql(&filter.data)?));
    }
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok(sql)
}

/// A passthrough query's text without the `;` and blanks that may end it.
pub fn passthrough_text(sql: &str) -> &str {
    sql.trim_end().trim_end_matches(';').trim_end()
}

/// A passthrough query as a derived table, `(<sql>) AS "query"`; on
/// lines of its own when it holds `--`, so a comment ends before the
/// parenthesis.
pub fn passthrough_from(sql: &str) -> String {
    let sql = passthrough_text(sql);
    if sql.contains("--") {
        format!("(\n{sql}\n) AS \"query\"")
    } else {
        format!("({sql}) AS \"query\"")
    }
}

/// A source scan's plan properties: one partition, bounded, incremental.
fn scan_properties(schema: &SchemaRef) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(Arc::clone(schema)),
        Partitioning::UnknownPartitioning(1),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}

/// A source's table: the schema of its columns, and the plan that reads
/// the columns `projection` (indices) of the rows passing `filters`, at
/// most `limit` of them. Every filter given is sent: glaux decides which
/// (`crate::pushdown`), and may plan again at run time with the keys of
/// a join added.
pub trait Source: Send + Sync + std::fmt::Debug + 'static {
    fn schema(&self) -> SchemaRef;
    fn plan(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>>;
}

/// What runs a source's SELECT and turns its rows into batches of
/// `schema` (one per connector).
pub trait Reader: Send + Sync + std::fmt::Debug {
    fn read(&self, sql: &str, schema: SchemaRef) -> Result<SendableRecordBatchStream>;
}

/// The plan that sends one SELECT to a source: EXPLAIN shows
/// `<Kind>Scan: sql=<the SQL sent>`.
#[derive(Debug)]
pub struct SourceScan {
    name: &'static str,
    sql: String,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    reader: Arc<dyn Reader>,
}

impl SourceScan {
    /// `name` is the plan node's (`PostgresScan`).
    pub fn new(name: &'static str, sql: String, schema: SchemaRef, reader: Arc<dyn Reader>) -> SourceScan {
        let properties = scan_properties(&schema);
        SourceScan { name, sql, schema, properties, reader }
    }
}

impl DisplayAs for SourceScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}: sql={}", self.name, self.sql)
    }
}

impl ExecutionPlan for SourceScan {
    fn name(&self) -> &str {
        self.name
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, _partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.reader.read(&self.sql, Arc::clone(&self.schema))
    }
}
