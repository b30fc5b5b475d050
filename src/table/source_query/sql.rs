//! A part's SELECT, in its source's dialect, and the plan that reads it:
//! a scan of a [`QueryTable`] (columns `c0`, `c1`, ...) under a
//! projection giving the part's columns their names back, so the plan
//! above it reads the same schema as before.
//!
//! The tables are named `t0`, `t1`, ... in the order of the plan; a join's
//! equal columns go in the ON of the later of the two tables (CROSS JOIN
//! for a table whose keys all join a later one); the conditions sent are
//! DataFusion's unparser's, as for one table's scan. Each column is named
//! `c<n>` (`AS "c0"`), so no two have one name. An ordered part is read
//! as `SELECT ... FROM (<its SELECT>) AS "q" ORDER BY ... LIMIT n`, its
//! keys by those names (no aggregate written twice, which some engines
//! refuse), each written `("c1" IS NULL) ASC|DESC, "c1" ASC|DESC`, as the
//! sources place NULLs differently and MySQL has no NULLS FIRST.

use super::{Key, Part, Ref, Value};
use crate::table::connector::{as_read, ConnectorScan};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchemaRef, Result, TableReference};
use datafusion::datasource::{provider_as_source, TableType};
use datafusion::logical_expr::logical_plan::{LogicalPlan, LogicalPlanBuilder, Projection};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::unparser::Unparser;
use glaux_connector::pushdown::Dialect;
use glaux_connector::sql::{quote, unparser_dialect, Output, Source};
use std::any::Any;
use std::sync::Arc;

/// The name of a part's scan inside the projection that renames its
/// columns (never seen outside it).
const SCAN: &str = "source_query";

/// The plan reading `part`, whose columns are those of `schema`.
pub(super) fn plan(part: Part, schema: &DFSchemaRef) -> Result<LogicalPlan> {
    let table = QueryTable::new(&part, schema)?;
    let scan = LogicalPlanBuilder::scan(SCAN, provider_as_source(Arc::new(table)), None)?.build()?;
    let renamed = schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            let column = Expr::Column(Column::new(Some(TableReference::bare(SCAN)), format!("c{i}")));
            column.alias_qualified(qualifier.cloned(), field.name())
        })
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new_with_schema(renamed, Arc::new(scan), Arc::clone(schema))?))
}

/// A part's SELECT as a table: its columns are `c0`, `c1`, ...
#[derive(Debug)]
struct QueryTable {
    /// The part's tables, for EXPLAIN.
    label: String,
    /// What runs the SELECT (a table of the source).
    runner: Arc<dyn Source>,
    dialect: Dialect,
    /// Each column's SQL in the SELECT list, named `c<n>`.
    select: Vec<String>,
    /// How each column is read.
    outputs: Vec<Output>,
    /// ` FROM ...` to the GROUP BY.
    body: String,
    tail: Tail,
    schema: SchemaRef,
}

/// What follows a part's SELECT.
#[derive(Debug)]
enum Tail {
    None,
    /// ` LIMIT n`.
    Limit(usize),
    /// ` ORDER BY ... LIMIT n` of the columns' names, over the SELECT as
    /// a derived table.
    Order(String),
}

impl QueryTable {
    fn new(part: &Part, schema: &DFSchemaRef) -> Result<QueryTable> {
        let writer = Writer { part, dialect: part.dialect };
        let fields: Vec<Field> =
            schema.fields().iter().enumerate().map(|(i, f)| f.as_ref().clone().with_name(format!("c{i}"))).collect();
        let outputs = part
            .columns
            .iter()
            .map(|v| match v {
                Value::Column(r) | Value::Min(r) | Value::Max(r) => {
                    Output::Column(Arc::clone(&part.tables[r.table].source), r.index)
                }
                other => Output::Value(part.data_type(other)),
            })
            .collect();
        let names: Vec<&str> = part.tables.iter().map(|t| t.name.as_str()).collect();
        Ok(QueryTable {
            label: names.join(" JOIN "),
            runner: Arc::clone(&part.tables[0].source),
            dialect: part.dialect,
            select: part
                .columns
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{} AS {}", writer.select(v), writer.name(i)))
                .collect(),
            outputs,
            body: writer.body()?,
            tail: writer.tail(),
            schema: Arc::new(Schema::new(fields)),
        })
    }
}

#[async_trait::async_trait]
impl TableProvider for QueryTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters are not taken (DataFusion applies them above), nor the
    /// limit (the Limit above applies it).
    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.select.len()).collect();
        let wanted = projection.unwrap_or(&all);
        // None at all (count(*) above): the first is read and dropped.
        let asked = if wanted.is_empty() { vec![0] } else { wanted.clone() };
        let sql = match &self.tail {
            Tail::Order(order) => {
                let names: Vec<String> = asked.iter().map(|i| quote(self.dialect, &format!("c{i}"))).collect();
                let inner = format!("SELECT {}{}", self.select.join(", "), self.body);
                format!("SELECT {} FROM ({inner}) AS {}{order}", names.join(", "), quote(self.dialect, "q"))
            }
            tail => {
                let select: Vec<&str> = asked.iter().map(|i| self.select[*i].as_str()).collect();
                let limit = match tail {
                    Tail::Limit(n) => format!(" LIMIT {n}"),
                    _ => String::new(),
                };
                format!("SELECT {}{}{limit}", select.join(", "), self.body)
            }
        };
        let outputs: Vec<Output> = asked.iter().map(|i| self.outputs[*i].clone()).collect();
        let schema = Arc::new(self.schema.project(&asked)?);
        let (inner, shown) = as_read(self.runner.plan_query(sql, &outputs, schema)?, wanted.is_empty())?;
        Ok(Arc::new(ConnectorScan::new(self.label.clone(), shown, inner)))
    }
}

/// Writes a part's SQL.
struct Writer<'a> {
    part: &'a Part,
    dialect: Dialect,
}

impl Writer<'_> {
    fn alias(&self, table: usize) -> String {
        quote(self.dialect, &format!("t{table}"))
    }

    /// `t<n>."column"`.
    fn reference(&self, r: Ref) -> String {
        let schema = self.part.tables[r.table].source.schema();
        format!("{}.{}", self.alias(r.table), quote(self.dialect, schema.field(r.index).name()))
    }

    /// A value as the SELECT list reads it.
    fn select(&self, value: &Value) -> String {
        match value {
            Value::Column(r) => self.part.tables[r.table].source.select_column(&self.alias(r.table), r.index),
            other => self.value(other),
        }
    }

    /// A value as a key or an aggregate.
    fn value(&self, value: &Value) -> String {
        match value {
            Value::Column(r) => self.reference(*r),
            Value::CountAll => "COUNT(*)".to_string(),
            Value::Count(r) => format!("COUNT({})", self.reference(*r)),
            Value::Min(r) => format!("MIN({})", self.reference(*r)),
            Value::Max(r) => format!("MAX({})", self.reference(*r)),
            Value::Sum(r, data_type) => {
                let sum = format!("SUM({})", self.reference(*r));
                match (self.dialect, data_type) {
                    // SQLite sums integers as an integer (or fails). A sum of
                    // decimals is exact at the source and read into glaux's
                    // decimal exactly or not at all (a cast would round or
                    // clip where glaux fails).
                    (Dialect::Sqlite, _) | (_, DataType::Decimal128(..)) => sum,
                    (Dialect::Postgres | Dialect::FlightSql, _) => format!("CAST({sum} AS BIGINT)"),
                    (Dialect::MySql, _) => format!("CAST({sum} AS SIGNED)"),
                }
            }
        }
    }

    /// The name of column `i`, `"c<i>"`.
    fn name(&self, i: usize) -> String {
        quote(self.dialect, &format!("c{i}"))
    }

    /// ` FROM ... [WHERE ...] [GROUP BY ...]`.
    fn body(&self) -> Result<String> {
        let part = self.part;
        let relation = |t: usize| {
            let name = part.tables[t].source.relation().unwrap_or_default();
            format!("{name} AS {}", self.alias(t))
        };
        let mut sql = format!(" FROM {}", relation(0));
        for t in 1..part.tables.len() {
            let on: Vec<String> = part
                .joins
                .iter()
                .filter(|(a, b)| a.table.max(b.table) == t)
                .map(|(a, b)| format!("{} = {}", self.reference(*a), self.reference(*b)))
                .collect();
            if on.is_empty() {
                sql.push_str(&format!(" CROSS JOIN {}", relation(t)));
            } else {
                sql.push_str(&format!(" JOIN {} ON {}", relation(t), on.join(" AND ")));
            }
        }
        let unparser = Unparser::new(unparser_dialect(self.dialect));
        let mut conditions = Vec::new();
        for (t, condition) in &part.conditions {
            let qualified = condition.clone().transform(|e| match e {
                Expr::Column(c) => {
                    Ok(Transformed::yes(Expr::Column(Column::new(Some(TableReference::bare(format!("t{t}"))), c.name))))
                }
                other => Ok(Transformed::no(other)),
            })?;
            conditions.push(format!("({})", unparser.expr_to_sql(&qualified.data)?));
        }
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        if let Some(group_by) = &part.group_by {
            if !group_by.is_empty() {
                let keys: Vec<String> = group_by.iter().map(|r| self.reference(*r)).collect();
                sql.push_str(&format!(" GROUP BY {}", keys.join(", ")));
            }
        }
        Ok(sql)
    }

    fn tail(&self) -> Tail {
        let part = self.part;
        match part.limit {
            None => Tail::None,
            Some(limit) if part.order.is_empty() => Tail::Limit(limit),
            Some(limit) => {
                let keys: Vec<String> = part.order.iter().map(|k| self.order_key(k)).collect();
                Tail::Order(format!(" ORDER BY {} LIMIT {limit}", keys.join(", ")))
            }
        }
    }

    fn order_key(&self, key: &Key) -> String {
        let value = self.name(key.column);
        let nulls = if key.nulls_first { "DESC" } else { "ASC" };
        let direction = if key.descending { "DESC" } else { "ASC" };
        format!("({value} IS NULL) {nulls}, {value} {direction}")
    }
}
