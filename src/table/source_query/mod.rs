//! Parts of a query one source answers whole, sent to it as one SELECT:
//! inner joins between tables of the same catalog, GROUP BY with COUNT,
//! SUM, MIN and MAX, ORDER BY ... LIMIT, and a LIMIT over a join or an
//! aggregate. [`SourceQueries`], a logical optimizer rule run after
//! DataFusion's, finds each such part ([`Part`]) and puts in its place a
//! scan of the SELECT that answers it ([`sql`]).
//!
//! What is sent follows the same rule as a WHERE condition
//! (`glaux_connector::pushdown`): only what the source answers exactly
//! as glaux would. So a part is made of
//!
//! - scans of connector tables whose conditions were all sent (a
//!   condition glaux keeps is a Filter above the scan, which ends the
//!   part), of catalogs with pushdown on, no column left out;
//! - projections of plain columns (renamed or reordered);
//! - inner equi-joins whose keys are plain columns of one type that
//!   compares at the source as in glaux (integers, and decimals, dates
//!   and timestamps without time zone where the pushdown rules allow
//!   them), NULL keys matching nothing, no other condition;
//! - an aggregate grouping by such columns, computing `COUNT(*)`, and
//!   `COUNT`, `SUM` (of signed integers and decimals, cast to the type
//!   glaux gives the sum), `MIN` and `MAX` of such columns, none DISTINCT
//!   or filtered;
//! - on top, ORDER BY such keys with a LIMIT (NULLs placed explicitly,
//!   `(key IS NULL)` first, as the sources differ), or a LIMIT alone.
//!
//! A join with no condition sent and nothing above it is not sent (see
//! [`Part::worth_sending`]).
//!
//! Booleans are never keys (MySQL's tinyint(1) may hold 2, which glaux
//! refuses to read), strings never (collations), floating point never.
//! glaux keeps the Sort and the Limit above the SELECT: they cost a few
//! rows and keep the order glaux promises.

mod sql;

use super::connector::ConnectorTable;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::functions_aggregate::{count::Count, min_max::Max, min_max::Min, sum::Sum};
use datafusion::logical_expr::expr::{AggregateFunction, AggregateFunctionParams};
use datafusion::logical_expr::logical_plan::{
    Aggregate, FetchType, Join, JoinType, Limit, LogicalPlan, Projection, SkipType, Sort, TableScan,
};
use datafusion::logical_expr::{Expr, SortExpr};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use glaux_connector::pushdown::{comparable, Dialect};
use glaux_connector::sql::Source;
use std::sync::Arc;

/// Sends each part of a plan one source answers whole to that source as
/// one SELECT.
#[derive(Debug)]
pub struct SourceQueries;

impl OptimizerRule for SourceQueries {
    fn name(&self) -> &str {
        "glaux_source_queries"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(&self, plan: LogicalPlan, _: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        rewrite(plan)
    }
}

/// `plan` with each part worth sending replaced by its SELECT.
fn rewrite(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    if let Some(part) = Part::of(&plan) {
        if part.worth_sending() {
            return Ok(Transformed::yes(sql::plan(part, plan.schema())?));
        }
        return Ok(Transformed::no(plan));
    }
    match &plan {
        LogicalPlan::Sort(sort) => {
            if let Some(part) = Part::of(&sort.input).and_then(|p| p.sorted(sort)) {
                let input = Arc::new(sql::plan(part, sort.input.schema())?);
                return Ok(Transformed::yes(LogicalPlan::Sort(Sort { input, ..sort.clone() })));
            }
        }
        LogicalPlan::Limit(limit) => {
            if let Some(part) = Part::of(&limit.input).and_then(|p| p.limited(limit)) {
                let input = Arc::new(sql::plan(part, limit.input.schema())?);
                return Ok(Transformed::yes(LogicalPlan::Limit(Limit { input, ..limit.clone() })));
            }
        }
        _ => {}
    }
    plan.map_children(rewrite)?.transform_data(|plan| plan.map_subqueries(rewrite))
}

/// Column `index` of the part's table number `table`.
#[derive(Debug, Clone, Copy)]
struct Ref {
    table: usize,
    index: usize,
}

/// One column a part gives.
#[derive(Debug, Clone)]
enum Value {
    Column(Ref),
    CountAll,
    Count(Ref),
    /// The sum, of the type glaux gives it.
    Sum(Ref, DataType),
    Min(Ref),
    Max(Ref),
}

/// An ORDER BY key: one of the part's columns.
#[derive(Debug, Clone)]
struct Key {
    /// Its place among the part's columns.
    column: usize,
    descending: bool,
    nulls_first: bool,
}

/// A table of a part: named `t<n>` in its SELECT.
#[derive(Debug, Clone)]
struct Table {
    source: Arc<dyn Source>,
    /// `catalog.schema.table`, for EXPLAIN.
    name: String,
}

/// A subtree of a plan that one source answers: its tables, what they are
/// joined on, the conditions sent, and its columns in the subtree's
/// order.
#[derive(Debug, Clone)]
pub(super) struct Part {
    catalog: String,
    dialect: Dialect,
    tables: Vec<Table>,
    /// Columns equal, of tables joined.
    joins: Vec<(Ref, Ref)>,
    /// Conditions on one table each (its columns unqualified).
    conditions: Vec<(usize, Expr)>,
    columns: Vec<Value>,
    group_by: Option<Vec<Ref>>,
    order: Vec<Key>,
    limit: Option<usize>,
}

impl Part {
    /// The part `plan` is, if a source answers all of it.
    fn of(plan: &LogicalPlan) -> Option<Part> {
        match plan {
            LogicalPlan::TableScan(scan) => Part::scan(scan),
            LogicalPlan::Projection(projection) => Part::of(&projection.input)?.project(projection),
            LogicalPlan::SubqueryAlias(alias) => Part::of(&alias.input),
            LogicalPlan::Join(join) => Part::join(join),
            LogicalPlan::Aggregate(aggregate) => Part::of(&aggregate.input)?.aggregate(aggregate),
            _ => None,
        }
    }

    fn scan(scan: &TableScan) -> Option<Part> {
        if scan.fetch.is_some() {
            return None;
        }
        let provider = source_as_provider(&scan.source).ok()?;
        let table = provider.as_any().downcast_ref::<ConnectorTable>()?;
        let (catalog, source, dialect) = table.for_queries()?;
        let all = (0..source.schema().fields().len()).collect();
        let columns = scan.projection.as_ref().unwrap_or(&all);
        let unqualified = |e: &Expr| {
            e.clone().transform(|e| match e {
                Expr::Column(c) => {
                    Ok(Transformed::yes(Expr::Column(datafusion::common::Column::new_unqualified(c.name))))
                }
                other => Ok(Transformed::no(other)),
            })
        };
        let conditions =
            scan.filters.iter().map(|f| unqualified(f).map(|f| (0, f.data))).collect::<Result<_>>().ok()?;
        Some(Part {
            catalog: catalog.to_string(),
            dialect,
            tables: vec![Table { source: Arc::clone(source), name: table.name().to_string() }],
            joins: Vec::new(),
            conditions,
            columns: columns.iter().map(|&index| Value::Column(Ref { table: 0, index })).collect(),
            group_by: None,
            order: Vec::new(),
            limit: None,
        })
    }

    /// Whether sending the part saves reading: an aggregate or a limit
    /// does; a join only when a condition is sent with it. A join alone
    /// repeats one side's columns for each match of the other, so it may
    /// return more than its tables (TPC-H Q18's customer JOIN orders: 87
    /// MB joined, 48 MB as two tables); with a condition, the source
    /// returns only the rows that match it. One table's scan is its
    /// ConnectorTable's, as it is. A part of no columns (a join under
    /// `count(*) OVER ()`) is not sent: a SELECT needs a column.
    fn worth_sending(&self) -> bool {
        let joined = self.tables.len() > 1 && !self.conditions.is_empty();
        !self.columns.is_empty() && (joined || self.group_by.is_some() || self.limit.is_some())
    }

    /// Nothing but tables joined and conditions: what a join or an
    /// aggregate may build on.
    fn plain(&self) -> bool {
        self.group_by.is_none() && self.order.is_empty() && self.limit.is_none()
    }

    fn data_type(&self, value: &Value) -> DataType {
        let column = |r: &Ref| self.tables[r.table].source.schema().field(r.index).data_type().clone();
        match value {
            Value::Column(r) | Value::Min(r) | Value::Max(r) => column(r),
            Value::CountAll | Value::Count(_) => DataType::Int64,
            Value::Sum(_, data_type) => data_type.clone(),
        }
    }

    /// Whether `value` may be a key (of a join, a group, an order).
    fn key(&self, value: &Value) -> bool {
        let data_type = self.data_type(value);
        data_type != DataType::Boolean && comparable(&data_type, self.dialect)
    }

    /// The column of the part's `schema` that `e` names, if it is a
    /// column (perhaps renamed).
    fn column_of(&self, e: &Expr, schema: &DFSchema) -> Option<Value> {
        let Expr::Column(column) = unalias(e) else { return None };
        let index = schema.index_of_column(column).ok()?;
        self.columns.get(index).cloned()
    }

    /// A key column of a plain part.
    fn key_column(&self, e: &Expr, schema: &DFSchema) -> Option<Ref> {
        match self.column_of(e, schema)? {
            Value::Column(r) if self.key(&Value::Column(r)) => Some(r),
            _ => None,
        }
    }

    fn project(mut self, projection: &Projection) -> Option<Part> {
        let schema = projection.input.schema();
        self.columns = projection.expr.iter().map(|e| self.column_of(e, schema)).collect::<Option<_>>()?;
        Some(self)
    }

    fn join(join: &Join) -> Option<Part> {
        let plain = join.join_type == JoinType::Inner
            && join.filter.is_none()
            && !join.on.is_empty()
            && join.null_equality == datafusion::common::NullEquality::NullEqualsNothing;
        if !plain {
            return None;
        }
        let (left, right) = (Part::of(&join.left)?, Part::of(&join.right)?);
        if left.catalog != right.catalog || left.dialect != right.dialect || !left.plain() || !right.plain() {
            return None;
        }
        let mut joins = Vec::new();
        for (l, r) in &join.on {
            let (l, r) = (left.key_column(l, join.left.schema())?, right.key_column(r, join.right.schema())?);
            if left.data_type(&Value::Column(l)) != right.data_type(&Value::Column(r)) {
                return None;
            }
            joins.push((l, r));
        }
        let offset = left.tables.len();
        let moved = |r: Ref| Ref { table: r.table + offset, index: r.index };
        let mut part = left;
        part.tables.extend(right.tables);
        part.joins.extend(right.joins.into_iter().map(|(a, b)| (moved(a), moved(b))));
        part.joins.extend(joins.into_iter().map(|(l, r)| (l, moved(r))));
        part.conditions.extend(right.conditions.into_iter().map(|(t, e)| (t + offset, e)));
        part.columns.extend(right.columns.into_iter().map(|v| match v {
            Value::Column(r) => Value::Column(moved(r)),
            // A plain part's columns are columns.
            other => other,
        }));
        Some(part)
    }

    fn aggregate(self, aggregate: &Aggregate) -> Option<Part> {
        if !self.plain() {
            return None;
        }
        let schema = aggregate.input.schema();
        let group_by: Vec<Ref> =
            aggregate.group_expr.iter().map(|e| self.key_column(e, schema)).collect::<Option<_>>()?;
        let mut columns: Vec<Value> = group_by.iter().map(|r| Value::Column(*r)).collect();
        for (i, e) in aggregate.aggr_expr.iter().enumerate() {
            let output = aggregate.schema.field(group_by.len() + i).data_type();
            columns.push(self.aggregate_value(e, schema, output)?);
        }
        Some(Part { group_by: Some(group_by), columns, ..self })
    }

    /// COUNT, SUM, MIN or MAX of a key column (or COUNT(*)) whose value
    /// is `output`.
    fn aggregate_value(&self, e: &Expr, schema: &DFSchema, output: &DataType) -> Option<Value> {
        let Expr::AggregateFunction(AggregateFunction { func, params }) = unalias(e) else { return None };
        let AggregateFunctionParams { args, distinct, filter, order_by, null_treatment } = params;
        if *distinct || filter.is_some() || !order_by.is_empty() || null_treatment.is_some() {
            return None;
        }
        let function = func.inner().as_any();
        if function.is::<Count>() {
            return match args.as_slice() {
                [] => Some(Value::CountAll),
                [Expr::Literal(value, _)] if !value.is_null() => Some(Value::CountAll),
                [arg] => self.key_column(arg, schema).map(Value::Count),
                _ => None,
            };
        }
        let [arg] = args.as_slice() else { return None };
        // SUM of a smaller integer is of the integer widened to bigint.
        let arg = match arg {
            Expr::Cast(cast) if function.is::<Sum>() && cast.data_type == DataType::Int64 => cast.expr.as_ref(),
            other => other,
        };
        let column = self.key_column(arg, schema)?;
        if function.is::<Min>() {
            Some(Value::Min(column))
        } else if function.is::<Max>() {
            Some(Value::Max(column))
        } else if function.is::<Sum>() {
            // Signed integers (summed as bigint) and decimals (as glaux's
            // wider decimal); SQLite only sums integers, and as integers.
            let summed = match self.data_type(&Value::Column(column)) {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => *output == DataType::Int64,
                DataType::Decimal128(..) => {
                    matches!(output, DataType::Decimal128(..))
                        && matches!(self.dialect, Dialect::Postgres | Dialect::MySql)
                }
                _ => false,
            };
            summed.then(|| Value::Sum(column, output.clone()))
        } else {
            None
        }
    }

    /// This part, ordered by `sort`'s keys and limited to its fetch.
    fn sorted(self, sort: &Sort) -> Option<Part> {
        let fetch = sort.fetch?;
        if !self.order.is_empty() || self.limit.is_some() {
            return None;
        }
        let schema = sort.input.schema();
        let order = sort.expr.iter().map(|key| self.order_key(key, schema)).collect::<Option<_>>()?;
        Some(Part { order, limit: Some(fetch), ..self })
    }

    fn order_key(&self, key: &SortExpr, schema: &DFSchema) -> Option<Key> {
        let Expr::Column(column) = unalias(&key.expr) else { return None };
        let column = schema.index_of_column(column).ok()?;
        let value = self.columns.get(column)?;
        self.key(value).then_some(Key { column, descending: !key.asc, nulls_first: key.nulls_first })
    }

    /// This part (a join or an aggregate) limited as `limit` (skip and
    /// fetch both sent, glaux skipping again).
    fn limited(self, limit: &Limit) -> Option<Part> {
        let (Ok(SkipType::Literal(skip)), Ok(FetchType::Literal(Some(fetch)))) =
            (limit.get_skip_type(), limit.get_fetch_type())
        else {
            return None;
        };
        let joined_or_grouped = self.tables.len() > 1 || self.group_by.is_some();
        if !joined_or_grouped || !self.order.is_empty() || self.limit.is_some() || self.columns.is_empty() {
            return None;
        }
        Some(Part { limit: Some(skip.checked_add(fetch)?), ..self })
    }
}

/// `e` without the names given to it.
fn unalias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(alias) => unalias(&alias.expr),
        other => other,
    }
}
