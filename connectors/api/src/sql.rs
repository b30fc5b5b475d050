//! The SELECT a connector sends to its source, written the same way for
//! every SQL source: the columns read, the filters glaux decided to send
//! (`crate::pushdown`), unparsed by DataFusion in the source's dialect
//! with column names alone, each in parentheses, and a LIMIT; and the
//! plan node that sends it ([`SourceScan`]), whose rows a connector's
//! [`Reader`] decodes. A SELECT glaux writes over several tables of one
//! source (joins, GROUP BY, ORDER BY ... LIMIT) is sent by
//! [`Source::plan_query`], its columns described as [`Output`]s.

use crate::pushdown::Dialect as SourceDialect;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::sql::unparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SqliteDialect};
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

/// A passthrough query as a derived table, `(<sql>) AS "query"` (the
/// name quoted for `dialect`); on lines of its own when it holds `--`,
/// so a comment ends before the parenthesis.
pub fn passthrough_from(sql: &str, dialect: SourceDialect) -> String {
    let sql = passthrough_text(sql);
    let name = quote(dialect, "query");
    if sql.contains("--") {
        format!("(\n{sql}\n) AS {name}")
    } else {
        format!("({sql}) AS {name}")
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

/// DataFusion's unparser for a source's dialect.
pub fn unparser_dialect(dialect: SourceDialect) -> &'static dyn Dialect {
    match dialect {
        // Standard SQL for a Flight SQL server: what is sent there (integer
        // and boolean conditions) PostgreSQL's unparser writes as standard.
        SourceDialect::Postgres | SourceDialect::FlightSql => &PostgreSqlDialect {},
        SourceDialect::MySql => &MySqlDialect {},
        SourceDialect::Sqlite => &SqliteDialect {},
    }
}

/// `name` as an identifier of the source: in double quotes (backquotes
/// for MySQL), the quote doubled inside.
pub fn quote(dialect: SourceDialect, name: &str) -> String {
    match dialect {
        SourceDialect::MySql => format!("`{}`", name.replace('`', "``")),
        SourceDialect::Postgres | SourceDialect::Sqlite | SourceDialect::FlightSql => {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }
}

/// A source's table: the schema of its columns, and the plan that reads
/// the columns `projection` (indices) of the rows passing `filters`, at
/// most `limit` of them. Every filter given is sent: glaux decides which
/// (`crate::pushdown`), and may plan again at run time with the keys of
/// a join added.
pub trait Source: Send + Sync + std::fmt::Debug + 'static {
    fn schema(&self) -> SchemaRef;
    fn plan(&self, projection: &[usize], filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>>;

    /// This table as the connector's own type (to read its columns in
    /// [`Source::plan_query`]).
    fn as_any(&self) -> &dyn Any;

    /// The table's quoted name at the source, for a SELECT glaux writes
    /// over it; None when it is not a table there (a passthrough query).
    fn relation(&self) -> Option<&str>;

    /// Column `index` as a SELECT list reads it from this table named
    /// `alias` (quoted): `alias."name"`, or the form the connector reads
    /// the column's type in (without a name: glaux names it).
    fn select_column(&self, alias: &str, index: usize) -> String;

    /// The plan sending `sql`, a SELECT glaux wrote over tables of this
    /// table's source, whose columns are `outputs`, as batches of `schema`.
    fn plan_query(&self, sql: String, outputs: &[Output], schema: SchemaRef) -> Result<Arc<dyn ExecutionPlan>>;
}

/// A column of a SELECT glaux writes over tables of one source.
#[derive(Debug, Clone)]
pub enum Output {
    /// Column `index` of a table of the source, read as that table reads
    /// it (also its MIN or MAX).
    Column(Arc<dyn Source>, usize),
    /// A value the source computes (a count, a sum), which the SELECT
    /// casts to the source's form of this type.
    Value(DataType),
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
