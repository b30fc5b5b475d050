//! MERGE INTO an Iceberg table (Athena's, Trino's and PostgreSQL's
//! syntax):
//!
//! ```sql
//! MERGE INTO t [AS x] USING source [AS s] ON condition
//!   WHEN MATCHED [AND condition] THEN UPDATE SET c = e, ... | DELETE
//!   WHEN NOT MATCHED [AND condition] THEN INSERT [(c, ...)] VALUES (e, ...)
//! ```
//!
//! The statement becomes one query, planned and run as the session's
//! queries are (metered, cancellable, in the query history): the source
//! joined with the target's current snapshot as
//! `crate::iceberg::merge::MergeTarget` (its rows with their data file and
//! position), a LEFT JOIN when a NOT MATCHED clause can insert and an
//! inner join otherwise. For each joined row it works out which clause
//! applies (the first whose kind and condition hold, as the standard
//! says) and the row that clause writes, cast to the table's column
//! types. [`Merge::run`] turns the rows into the snapshot's changes
//! (`crate::iceberg::merge::Changes`) and commits them; if another
//! statement commits first, the whole statement runs again on the new
//! snapshot.
//!
//! Refused: WHEN NOT MATCHED BY SOURCE (BigQuery's) and INSERT ROW
//! (0A000), and a target that is not an Iceberg table (0A000).

use super::{Claimed, Command, Context, Family};
use crate::engine::output::{Changed, Output, Tag};
use crate::engine::statement::{ident_name, object_name_parts};
use crate::error::{Error, Result, SqlState};
use crate::iceberg::merge::{column, MergeTarget, FILE, POS};
use datafusion::arrow::array::{Array, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider};
use datafusion::logical_expr::{cast as cast_expr, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, Ident, MergeAction, MergeClauseKind, MergeInsertKind, Statement as Ast, TableFactor,
};
use futures::StreamExt;
use std::sync::Arc;

pub(super) const FAMILY: Family = Family { own_syntax: None, from_ast: Some(from_ast) };

/// The catalog, schema and table the target is in the merge's query.
const TARGET: [&str; 3] = ["glaux merge", "target", "rows"];
/// The merge's query's own columns.
const ACTION: &str = "__glaux_action";

fn from_ast(ast: Ast) -> Result<Claimed> {
    match ast {
        Ast::Merge(merge) => Ok(Claimed::Command(Box::new(Merge::parse(merge)?))),
        ast => Ok(Claimed::Not(Box::new(ast))),
    }
}

/// What a WHEN clause does.
#[derive(Debug, Clone)]
enum Action {
    Delete,
    /// `column = value`s, by column name.
    Update(Vec<(String, ast::Expr)>),
    /// The columns named (none: all, in order) and their values.
    Insert(Vec<String>, Vec<ast::Expr>),
}

/// One WHEN clause.
#[derive(Debug, Clone)]
struct Clause {
    matched: bool,
    condition: Option<ast::Expr>,
    action: Action,
}

#[derive(Debug, Clone)]
pub(super) struct Merge {
    target: Vec<String>,
    /// The name the statement gives the target's rows.
    alias: Ident,
    source: TableFactor,
    on: ast::Expr,
    clauses: Vec<Clause>,
}

fn unsupported(what: &str) -> Error {
    Error::new(SqlState::FeatureNotSupported, format!("MERGE: {what} is not supported"))
}

impl Merge {
    fn parse(merge: ast::Merge) -> Result<Merge> {
        if merge.output.is_some() {
            return Err(unsupported("an OUTPUT clause"));
        }
        let TableFactor::Table { name, alias, args: None, with_hints, version: None, partitions, .. } = merge.table
        else {
            return Err(Error::syntax("MERGE INTO names a table: MERGE INTO t [AS x] USING ...", None));
        };
        if !with_hints.is_empty() || !partitions.is_empty() {
            return Err(unsupported("a table hint or partition list on the target"));
        }
        let target = object_name_parts(&name);
        let alias = match alias {
            Some(alias) if alias.columns.is_empty() => alias.name,
            Some(_) => return Err(unsupported("column aliases on the target")),
            None => name.0.last().and_then(|p| p.as_ident()).cloned().unwrap_or_else(|| Ident::new("t")),
        };
        let mut clauses = Vec::new();
        for clause in merge.clauses {
            let matched = match clause.clause_kind {
                MergeClauseKind::Matched => true,
                MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget => false,
                MergeClauseKind::NotMatchedBySource => return Err(unsupported("WHEN NOT MATCHED BY SOURCE")),
            };
            let action = match (clause.action, matched) {
                (MergeAction::Delete { .. }, true) => Action::Delete,
                (MergeAction::Update(update), true) => {
                    if update.update_predicate.is_some() || update.delete_predicate.is_some() {
                        return Err(unsupported("UPDATE ... WHERE or DELETE WHERE in a WHEN clause"));
                    }
                    let mut set: Vec<(String, ast::Expr)> = Vec::new();
                    for assignment in update.assignments {
                        let AssignmentTarget::ColumnName(column) = assignment.target else {
                            return Err(unsupported("assigning a tuple of columns"));
                        };
                        // `c` or `x.c`: the target's column either way.
                        let name = column.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
                        if set.iter().any(|(c, _)| *c == name) {
                            return Err(Error::syntax(format!("MERGE: column {name} is assigned twice"), None));
                        }
                        set.push((name, assignment.value));
                    }
                    Action::Update(set)
                }
                (MergeAction::Insert(insert), false) => {
                    if insert.insert_predicate.is_some() {
                        return Err(unsupported("INSERT ... WHERE in a WHEN clause"));
                    }
                    let MergeInsertKind::Values(values) = insert.kind else {
                        return Err(unsupported("INSERT ROW"));
                    };
                    let [row] = <[Vec<ast::Expr>; 1]>::try_from(values.rows).map_err(|_| {
                        Error::syntax("MERGE: WHEN NOT MATCHED THEN INSERT takes one row of VALUES", None)
                    })?;
                    let columns = insert.columns.iter().map(|c| object_name_parts(c).join(".")).collect();
                    Action::Insert(columns, row)
                }
                (MergeAction::Insert(_), true) => {
                    return Err(Error::syntax("MERGE: WHEN MATCHED takes UPDATE or DELETE, not INSERT", None))
                }
                (_, false) => {
                    return Err(Error::syntax("MERGE: WHEN NOT MATCHED takes INSERT, not UPDATE or DELETE", None))
                }
            };
            clauses.push(Clause { matched, condition: clause.predicate, action });
        }
        if clauses.is_empty() {
            return Err(Error::syntax("MERGE needs at least one WHEN clause", None));
        }
        Ok(Merge { target, alias, source: merge.source, on: *merge.on, clauses })
    }

    /// The merge's query: for each source row joined with the target's
    /// rows, the clause that applies (numbered from 1), the target row's
    /// file and position, and the row the clause writes.
    fn query(&self, columns: &SchemaRef) -> Result<Ast> {
        let x = &self.alias;
        let matched = format!("{x}.\"{POS}\" IS NOT NULL");
        let when = |clause: &Clause| {
            let kind = if clause.matched { matched.clone() } else { format!("NOT ({matched})") };
            match &clause.condition {
                Some(condition) => format!("{kind} AND ({condition})"),
                None => kind,
            }
        };
        let each = |value: &dyn Fn(&Clause) -> String| -> String {
            let arms: Vec<String> =
                self.clauses.iter().map(|c| format!("WHEN {} THEN {}", when(c), value(c))).collect();
            format!("CASE {} END", arms.join(" "))
        };
        let mut items = vec![
            format!("{} AS \"{ACTION}\"", {
                let numbered: Vec<String> = self
                    .clauses
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("WHEN {} THEN CAST({} AS BIGINT)", when(c), i + 1))
                    .collect();
                format!("CASE {} END", numbered.join(" "))
            }),
            format!("{x}.\"{FILE}\" AS \"{FILE}\""),
            format!("{x}.\"{POS}\" AS \"{POS}\""),
        ];
        for (index, field) in columns.fields().iter().enumerate() {
            let name = field.name();
            let quoted = Ident::with_quote('"', name.as_str()).to_string();
            let value = |clause: &Clause| -> String {
                match &clause.action {
                    Action::Delete => "NULL".to_string(),
                    Action::Update(set) => match set.iter().find(|(c, _)| c == name) {
                        Some((_, e)) => format!("({e})"),
                        None => format!("{x}.{quoted}"),
                    },
                    Action::Insert(named, values) if named.is_empty() => {
                        values.get(index).map(|e| format!("({e})")).unwrap_or_else(|| "NULL".to_string())
                    }
                    Action::Insert(named, values) => match named.iter().position(|c| c == name) {
                        Some(i) => format!("({})", values[i]),
                        None => "NULL".to_string(),
                    },
                }
            };
            items.push(format!("{} AS {quoted}", each(&value)));
        }
        let inserts = self.clauses.iter().any(|c| !c.matched);
        let join = if inserts { "LEFT JOIN" } else { "JOIN" };
        let target = TARGET.map(|p| Ident::with_quote('"', p).to_string()).join(".");
        let sql = format!(
            "SELECT * FROM (SELECT {} FROM {} {join} {target} AS {x} ON {}) AS \"__glaux_merge\" WHERE \"{ACTION}\" IS NOT NULL",
            items.join(", "),
            self.source,
            self.on
        );
        let mut parsed = crate::engine::time_travel::parse_statements(&sql)
            .map_err(|e| Error::internal(format!("the query of a MERGE did not parse: {e}")))?;
        parsed.pop().ok_or_else(|| Error::internal("the query of a MERGE is empty"))
    }

    /// Names every column the clauses write that the table lacks, and an
    /// INSERT with as many values as columns.
    fn check_columns(&self, name: &str, columns: &SchemaRef) -> Result<()> {
        let known = |c: &str| columns.field_with_name(c).is_ok();
        for clause in &self.clauses {
            let (named, values): (Vec<&String>, Option<&Vec<ast::Expr>>) = match &clause.action {
                Action::Delete => (Vec::new(), None),
                Action::Update(set) => (set.iter().map(|(c, _)| c).collect(), None),
                Action::Insert(named, values) => (named.iter().collect(), Some(values)),
            };
            if let Some(missing) = named.iter().find(|c| !known(c)) {
                return Err(Error::new(
                    SqlState::UndefinedColumn,
                    format!("column {missing} of Iceberg table {name} does not exist"),
                ));
            }
            if let (Action::Insert(named, _), Some(values)) = (&clause.action, values) {
                let expected = if named.is_empty() { columns.fields().len() } else { named.len() };
                if values.len() != expected {
                    return Err(Error::syntax(
                        format!("MERGE: INSERT into {name} has {} values for {expected} columns", values.len()),
                        None,
                    ));
                }
            }
        }
        Ok(())
    }

    /// One attempt on `table`: plans and runs the query, and gathers the
    /// changes its rows ask for.
    async fn attempt(
        &self,
        cx: &dyn Context,
        name: &str,
        table: iceberg::table::Table,
    ) -> Result<(crate::iceberg::snapshot::RowDelta, u64)> {
        let context = format!("MERGE INTO {name}");
        let columns = iceberg::arrow::schema_to_arrow_schema(table.metadata().current_schema())
            .map_err(|e| crate::iceberg::error(e, &context))?;
        let columns: SchemaRef = Arc::new(columns);
        if columns.fields().iter().any(|f| f.name() == FILE || f.name() == POS) {
            return Err(unsupported(&format!("a target with a column named {FILE} or {POS}")));
        }
        self.check_columns(name, &columns)?;
        let target = Arc::new(MergeTarget::new(name.to_string(), table, Arc::clone(&columns)));
        let schema = MemorySchemaProvider::new();
        schema.register_table(TARGET[2].to_string(), Arc::clone(&target) as _)?;
        let catalog = MemoryCatalogProvider::new();
        catalog.register_schema(TARGET[1], Arc::new(schema))?;
        let plan = cx.plan_query_with(&self.query(&columns)?, TARGET[0], Arc::new(catalog)).await?;
        let plan = as_table_types(plan, &columns)?;
        let kinds: Vec<&Action> = self.clauses.iter().map(|c| &c.action).collect();
        let mut changes = target.changes();
        let mut stream = cx.start(plan, true);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let action = cast(batch.column(0), &DataType::Int64).map_err(datafusion::error::DataFusionError::from)?;
            let action = action.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
            let file = column::<StringArray>(&batch, FILE)?;
            let pos = column::<Int64Array>(&batch, POS)?;
            let mut writes = Vec::with_capacity(batch.num_rows());
            let mut inserted = 0u64;
            for row in 0..batch.num_rows() {
                let kind = kinds
                    .get(action.value(row) as usize - 1)
                    .ok_or_else(|| Error::internal(format!("{context}: a row chose clause {}", action.value(row))))?;
                let removes = matches!(kind, Action::Update(_) | Action::Delete);
                if removes && !file.is_null(row) {
                    changes.remove(file.value(row), pos.value(row));
                }
                writes.push(matches!(kind, Action::Update(_) | Action::Insert(..)));
                inserted += matches!(kind, Action::Insert(..)) as u64;
            }
            let values = batch
                .project(&(3..batch.num_columns()).collect::<Vec<_>>())
                .map_err(datafusion::error::DataFusionError::from)?;
            let written = filter_record_batch(&values, &BooleanArray::from(writes))
                .map_err(datafusion::error::DataFusionError::from)?;
            let written = crate::iceberg::write::as_table_schema(&columns, name, written)?;
            changes.write(written, inserted);
        }
        let count = changes.count();
        Ok((changes.delta(&target).await?, count))
    }
}

/// `plan`'s rows with the written columns cast to the table's types.
fn as_table_types(plan: LogicalPlan, columns: &SchemaRef) -> Result<LogicalPlan> {
    let input = plan.schema().columns();
    let mut exprs: Vec<Expr> = input.iter().take(3).cloned().map(Expr::Column).collect();
    for (column, field) in input.into_iter().skip(3).zip(columns.fields()) {
        exprs.push(cast_expr(Expr::Column(column), field.data_type().clone()).alias(field.name()));
    }
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

#[async_trait::async_trait]
impl Command for Merge {
    fn query(&self) -> Option<Ast> {
        crate::engine::time_travel::parse_statements(&format!("SELECT * FROM {}", self.source)).ok()?.pop()
    }

    fn metered(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let (metastore, database, table, entry) = super::named_table(cx, &self.target).await?;
        let name = format!("{database}.{table}");
        if entry.is_view() {
            return Err(Error::new(
                SqlState::WrongObjectType,
                format!("cannot merge into view {name}: views are read-only"),
            ));
        }
        if !crate::iceberg::is_iceberg(&entry.parameters) {
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!("cannot merge into table {name}: it is an external (Hive) table; MERGE writes Iceberg tables"),
            ));
        }
        let stores = cx.running_stores()?;
        let catalog = crate::iceberg::commit::TableCatalog::new(metastore, stores, &database, &table);
        let cx: &dyn Context = cx;
        let statement = format!("MERGE INTO {name}");
        let rows = crate::iceberg::snapshot::commit_retrying(&catalog, &statement, |current| {
            let name = name.clone();
            async move { self.attempt(cx, &name, current).await }
        })
        .await?;
        Ok(Output::Done { tag: Tag::Changed { verb: Changed::Merge, rows } })
    }
}
