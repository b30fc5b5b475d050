//! glaux's own statements: everything that is not a query or a
//! data-changing statement planned by DataFusion.
//!
//! Each statement family is one module here, and each statement one type
//! implementing [`Command`], which owns in one place its result columns,
//! what it may do in a failed transaction block, whether it reads data
//! like a query (and so is metered), and how it runs. A command runs
//! against a [`Context`], the narrow view of its session that it needs
//! (catalog, names, planning, settings, the session's own state), never
//! against the session itself: this module does not import the session.
//!
//! [`FAMILIES`] lists the families and how each recognises its
//! statements: by leading words, for the syntax glaux parses itself
//! (Athena's Hive DDL, partitions, crawl, users, workgroups), or by the
//! statement sqlparser parsed. Adding a command is one new file and one
//! line there.

mod catalog_ddl;
mod catalogs;
mod copy;
mod crawl;
mod cursors;
mod maintenance;
mod merge;
mod migrate;
mod partitions;
mod prepared;
mod show;
mod transactions;
mod unload;
mod users;
mod variables;
mod workgroups;

use super::cursor::Cursors;
use super::metering::ActiveQueries;
use super::output::{no_columns, Output};
use super::privileges::Privilege;
use super::sql_prepare::SqlPrepared;
use super::statement::SqlText;
use super::transaction::Transaction;
use crate::catalog::list::{Catalogs, Qualified};
use crate::catalog::{Metastore, SecurityStore};
use crate::error::Result;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::Statement as Ast;
use std::sync::Arc;

/// One of glaux's own statements, parsed.
#[async_trait]
pub trait Command: std::fmt::Debug + Send + Sync {
    /// The columns it answers with; none for most commands.
    fn schema(&self, _cx: &dyn Context) -> Result<SchemaRef> {
        Ok(no_columns())
    }

    /// What running it takes of `user` (checked before it runs).
    fn privilege(&self, _user: &str) -> Privilege {
        Privilege::Anyone
    }

    /// Whether it may run in a failed transaction block (only what ends
    /// the block or rolls back to a savepoint may).
    fn ends_failed_block(&self) -> bool {
        false
    }

    /// The query it plans, if it plans one: the session takes a fresh
    /// catalog snapshot for it as for any query that reads the catalogs.
    fn query(&self) -> Option<Ast> {
        None
    }

    /// Whether it reads data as a query does: checked against the
    /// workgroup, metered and recorded in the query history.
    fn metered(&self) -> bool {
        false
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output>;
}

/// What a command may see and change of its session.
#[async_trait]
pub trait Context: Send + Sync {
    /// The user running the command.
    fn user(&self) -> &str;
    /// Whether this is the local shell on the data dir (always an admin).
    fn local(&self) -> bool;
    /// The metastore of the catalog the session is connected to.
    fn metastore(&self) -> Arc<dyn Metastore>;
    /// Users and workgroups.
    fn security(&self) -> Arc<dyn SecurityStore>;
    /// Every catalog served.
    fn catalogs(&self) -> &Catalogs;
    /// The queries running on the server (for workgroup administration).
    fn active(&self) -> &ActiveQueries;
    /// The database unqualified names resolve in.
    fn database(&self) -> &str;
    /// `[[catalog.]db.]name` as the catalog, database and name it means.
    fn qualify(&self, parts: &[String]) -> Result<Qualified>;
    /// DataFusion's state: object stores and table formats.
    fn state(&self) -> &SessionState;
    /// The object stores a statement that reads files itself reads
    /// through: [`Context::state`]'s, charging the running statement's
    /// meter when it is metered.
    fn running_stores(&self) -> Result<Arc<dyn ObjectStoreRegistry>>;
    /// Leave a NOTICE for the client, sent after the statement.
    fn notice(&self, text: String);

    /// Plan a query as the session plans queries (rewrites, checks).
    async fn plan_query(&self, ast: &Ast) -> Result<LogicalPlan>;
    /// [`Context::plan_query`], with one more catalog, `name`, that only
    /// this query sees.
    async fn plan_query_with(
        &self,
        ast: &Ast,
        name: &str,
        catalog: Arc<dyn datafusion::catalog::CatalogProvider>,
    ) -> Result<LogicalPlan>;
    /// The plan's result columns with the names PostgreSQL would give
    /// the query `ast`.
    fn client_schema(&self, plan: &LogicalPlan, ast: &Ast) -> SchemaRef;
    /// Start a planned query; `checked` applies the running statement's
    /// workgroup cutoff (a cursor's later fetches are not checked again).
    fn start(&self, plan: LogicalPlan, checked: bool) -> SendableRecordBatchStream;

    /// Session settings: SET, RESET, SHOW.
    async fn set_variable(&mut self, name: &str, value: &str) -> Result<()>;
    async fn reset_variables(&mut self, name: Option<&str>) -> Result<()>;
    fn show_setting(&self, name: &str) -> Result<String>;
    /// The setting's value, if it is one.
    fn setting(&self, name: &str) -> Option<String>;
    /// The workgroup the session's queries run in.
    async fn current_workgroup(&self) -> Result<String>;
    /// Move to `database` (after the current one was dropped).
    async fn set_database(&mut self, database: &str) -> Result<()>;

    /// The session's transaction block.
    fn transaction(&mut self) -> &mut Transaction;
    /// The session's SQL cursors; call [`Context::cursors_changed`] after
    /// declaring or closing one.
    fn cursors(&mut self) -> &mut Cursors;
    /// The result columns of SQL cursor `name` (34000 if it is not open).
    fn cursor_schema(&self, name: &str) -> Result<SchemaRef>;
    fn cursors_changed(&mut self);
    /// The session's SQL-level prepared statements.
    fn sql_prepared(&mut self) -> &mut SqlPrepared;
}

/// The table `parts` names, as its catalog's metastore, database, name
/// and entry (42P01 if there is none).
pub(crate) async fn named_table(
    cx: &dyn Context,
    parts: &[String],
) -> Result<(Arc<dyn Metastore>, String, String, crate::catalog::Table)> {
    let qualified = cx.qualify(parts)?;
    let (database, table) = (qualified.database, qualified.name);
    let metastore = Arc::clone(&qualified.catalog.metastore);
    let entry = metastore
        .get_table(&database, &table)
        .await?
        .ok_or_else(|| crate::catalog::no_such_table(&database, &table))?;
    Ok((metastore, database, table, entry))
}

/// The running user must be an admin or `owner`, the creator of what the
/// command destroys or rewrites (42501 naming `what` otherwise).
pub(crate) async fn require_admin_or_owner(cx: &dyn Context, owner: Option<&str>, what: &str) -> Result<()> {
    let security = cx.security();
    crate::engine::privileges::require_admin_or_owner(security.as_ref(), cx.user(), cx.local(), owner, what).await
}

/// How a family of commands is recognised.
pub(crate) struct Family {
    /// Its own syntax: whether the leading words (upper-cased) are one of
    /// its statements, and the parser of the whole statement.
    pub own_syntax: Option<(fn(&[&str]) -> bool, fn(&SqlText) -> Result<Box<dyn Command>>)>,
    /// The statements sqlparser parses that are its own: the command, or
    /// the statement handed back when it is not.
    pub from_ast: Option<fn(Ast) -> Result<Claimed>>,
}

/// A statement a family was offered: its command, or handed back.
pub(crate) enum Claimed {
    Command(Box<dyn Command>),
    Not(Box<Ast>),
}

/// Every family of commands. Own syntax is tried in this order on the
/// leading words before sqlparser parses the statement.
pub(crate) const FAMILIES: &[Family] = &[
    catalog_ddl::FAMILY,
    catalogs::FAMILY,
    users::FAMILY,
    partitions::FAMILY,
    crawl::FAMILY,
    workgroups::FAMILY,
    show::FAMILY,
    variables::FAMILY,
    transactions::FAMILY,
    cursors::FAMILY,
    prepared::FAMILY,
    copy::FAMILY,
    merge::FAMILY,
    maintenance::FAMILY,
    unload::FAMILY,
    migrate::FAMILY,
];

/// The family whose own syntax the leading `words` are, parsing it.
pub(crate) fn parse_own_syntax(words: &[&str], stmt: &SqlText) -> Option<Result<Box<dyn Command>>> {
    FAMILIES.iter().filter_map(|f| f.own_syntax).find(|(recognises, _)| recognises(words)).map(|(_, parse)| parse(stmt))
}

/// The command sqlparser's statement is, if a family claims it.
pub(crate) fn claim(mut ast: Ast) -> Result<Option<Box<dyn Command>>> {
    for from_ast in FAMILIES.iter().filter_map(|f| f.from_ast) {
        match from_ast(ast)? {
            Claimed::Not(back) => ast = *back,
            Claimed::Command(command) => return Ok(Some(command)),
        }
    }
    Ok(None)
}
