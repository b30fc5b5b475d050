//! Iceberg table maintenance, in Athena's syntax:
//!
//! ```sql
//! OPTIMIZE [db.]t REWRITE DATA USING BIN_PACK [WHERE condition]
//! VACUUM [db.]t
//! ```
//!
//! OPTIMIZE compacts small files and files with deletes
//! (`crate::iceberg::optimize`); its WHERE clause chooses partitions, so
//! it may name only partition columns (0A000 otherwise, and for a
//! subquery). VACUUM expires old snapshots and deletes the files nothing
//! reaches any more (`crate::iceberg::vacuum`). Both destroy history or
//! rewrite a table's files, so they take an admin or the table's creator
//! (42501); both read as queries do (metered, in the query history); both
//! answer with their name as the tag and a NOTICE saying what they did.
//! A table that is not Iceberg is refused with 0A000, a view with 42809.

use super::{Command, Context, Family};
use crate::catalog::Table;
use crate::engine::output::{Output, Tag};
use crate::engine::parser::GlauxParser;
use crate::engine::statement::SqlText;
use crate::error::{Error, Result, SqlState};
use crate::iceberg::commit::TableCatalog;
use datafusion::common::tree_node::TreeNode;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::sqlparser::ast::{Ident, Statement as Ast};
use std::sync::Arc;

pub(super) const FAMILY: Family =
    Family { own_syntax: Some((|w| matches!(w, ["OPTIMIZE", ..] | ["VACUUM", ..]), parse)), from_ast: None };

/// `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE condition]`.
#[derive(Debug, Clone)]
struct Optimize {
    table: Vec<String>,
    /// The WHERE clause's condition, as written.
    condition: Option<String>,
}

/// `VACUUM t`.
#[derive(Debug, Clone)]
struct Vacuum {
    table: Vec<String>,
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut w = GlauxParser::new(stmt)?;
    if w.word("VACUUM") {
        if w.at_end() {
            return Err(w.expected("the name of an Iceberg table (VACUUM [db.]table)"));
        }
        let table = w.object_name()?;
        w.finish()?;
        return Ok(Box::new(Vacuum { table }));
    }
    w.expect_word("OPTIMIZE")?;
    let table = w.object_name()?;
    if !w.words(&["REWRITE", "DATA", "USING", "BIN_PACK"]) {
        return Err(w.expected("REWRITE DATA USING BIN_PACK"));
    }
    let condition = if w.word("WHERE") {
        let rest = w.remaining();
        let Some((from, _)) = rest.first() else {
            return Err(w.expected("a condition after WHERE"));
        };
        Some(w.text_between(*from, None))
    } else {
        w.finish()?;
        None
    };
    Ok(Box::new(Optimize { table, condition }))
}

/// The table `parts` names: its catalog entry, checked to be an Iceberg
/// table that `cx`'s user may maintain, and the committer of its
/// snapshots, reading through the running statement's metered stores.
async fn maintained(
    cx: &dyn Context,
    parts: &[String],
    verb: &str,
) -> Result<(String, Table, TableCatalog, Arc<dyn ObjectStoreRegistry>)> {
    let (metastore, database, table, entry) = super::named_table(cx, parts).await?;
    let name = format!("{database}.{table}");
    if entry.is_view() {
        return Err(Error::new(SqlState::WrongObjectType, format!("{verb} works on Iceberg tables; {name} is a view")));
    }
    if !crate::iceberg::is_iceberg(&entry.parameters) {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!("{verb} works on Iceberg tables; {name} is an external (Hive) table"),
        ));
    }
    let what = format!("{} table {name}", verb.to_ascii_lowercase());
    super::require_admin_or_owner(cx, entry.owner.as_deref(), &what).await?;
    let stores = cx.running_stores()?;
    let catalog = TableCatalog::new(metastore, Arc::clone(&stores), &database, &table);
    Ok((name, entry, catalog, stores))
}

impl Optimize {
    /// The query whose WHERE clause is the statement's.
    fn select(&self) -> Result<Ast> {
        let table: Vec<String> = self.table.iter().map(|p| Ident::with_quote('"', p.as_str()).to_string()).collect();
        let mut sql = format!("SELECT * FROM {}", table.join("."));
        if let Some(condition) = &self.condition {
            sql.push_str(&format!(" WHERE {condition}"));
        }
        let mut parsed = crate::engine::time_travel::parse_statements(&sql)
            .map_err(|e| Error::syntax(format!("OPTIMIZE ... WHERE: {e}"), None))?;
        parsed.pop().ok_or_else(|| Error::syntax("OPTIMIZE ... WHERE has no condition", None))
    }

    /// The WHERE clause's conditions, planned against the table.
    async fn filters(&self, cx: &dyn Context, name: &str) -> Result<Vec<Expr>> {
        if self.condition.is_none() {
            return Ok(Vec::new());
        }
        let plan = cx.plan_query(&self.select()?).await?;
        let mut predicate = None;
        plan.apply(|node| {
            if let LogicalPlan::Filter(filter) = node {
                predicate = Some((filter.predicate.clone(), Arc::clone(filter.input.schema())));
                return Ok(datafusion::common::tree_node::TreeNodeRecursion::Stop);
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })?;
        let Some((predicate, schema)) = predicate else { return Ok(Vec::new()) };
        let subquery =
            predicate.exists(|e| Ok(matches!(e, Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_))))?;
        if subquery {
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!("OPTIMIZE {name} ... WHERE may not hold a subquery"),
            ));
        }
        // Constants folded (`DATE '2024-01-01'` is a cast until then), as
        // the files are planned with literals.
        let simplifier = ExprSimplifier::new(SimplifyContext::default().with_schema(schema));
        let predicate = simplifier.simplify(predicate)?;
        Ok(split_conjunction(&predicate).into_iter().cloned().collect())
    }
}

#[async_trait::async_trait]
impl Command for Optimize {
    fn query(&self) -> Option<Ast> {
        self.select().ok()
    }

    fn metered(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let cx: &dyn Context = cx;
        let (name, entry, catalog, _) = maintained(cx, &self.table, "OPTIMIZE").await?;
        let filters = self.filters(cx, &name).await?;
        let table = catalog.current().await.map_err(|e| crate::iceberg::error(e, &format!("OPTIMIZE {name}")))?;
        crate::iceberg::optimize::check_filter(&table, &name, &filters)?;
        let done = crate::iceberg::optimize::optimize(&catalog, &name, &entry.parameters, &filters).await?;
        cx.notice(if done.data_files == 0 {
            format!("OPTIMIZE {name}: no files needed rewriting")
        } else {
            format!(
                "OPTIMIZE {name}: rewrote {} data files (and removed {} delete files) as {} files",
                done.data_files, done.delete_files, done.written
            )
        });
        Ok(Output::Done { tag: Tag::Done("OPTIMIZE") })
    }
}

#[async_trait::async_trait]
impl Command for Vacuum {
    fn metered(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let cx: &dyn Context = cx;
        let (name, entry, catalog, stores) = maintained(cx, &self.table, "VACUUM").await?;
        let done = crate::iceberg::vacuum::vacuum(&catalog, &name, &entry.parameters, stores).await?;
        cx.notice(format!(
            "VACUUM {name}: expired {} snapshots, deleted {} unreferenced files and {} orphan files",
            done.expired, done.deleted, done.orphans
        ));
        Ok(Output::Done { tag: Tag::Done("VACUUM") })
    }
}
