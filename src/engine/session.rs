//! A session: one connection's state (user, current database, settings)
//! and the execution of its statements.
//!
//! Statements run one at a time. A query is planned by DataFusion against
//! the tables the catalog resolves, checked to be read-only, and returned as
//! a stream that produces rows while the client reads them; dropping the
//! stream cancels the query. Commands (DDL, SHOW, SET) complete before
//! `run` returns. Its variables (SET, RESET, SHOW, start-up parameters)
//! are `session/variables.rs`.

mod context;
mod variables;

use super::colnames::ColumnNames;
use super::cursor::Cursors;
use super::output::{no_columns, Output};
use super::statement::{self, SqlText, Statement};
use super::transaction::{Transaction, TxStatus};
use super::{Shared, DEFAULT_DATABASE};
use crate::catalog::list::{NamedCatalog, Qualified};
use crate::error::{Error, Result, SqlState};
use crate::pgcatalog::{self, snapshot as view, SessionView, SharedView};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::DataFrame;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement as Ast;
use std::sync::Arc;

/// A parsed (and, for queries, planned) statement with its parameter and
/// result types: what the extended query protocol's Parse/Describe need.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub sql: SqlText,
    statement: Statement,
    plan: Option<LogicalPlan>,
    /// `$1`, `$2`, ...: the type DataFusion inferred, if any.
    pub param_types: Vec<Option<DataType>>,
    /// Result columns (empty for commands that return no rows).
    pub schema: SchemaRef,
    /// The catalog snapshot the statement was planned against, installed
    /// again whenever it runs: its system tables were built from it, and
    /// catalog functions (`::regclass`, `pg_table_is_visible`) must read
    /// the same one, whatever the session prepared or ran in between.
    snapshot: Option<Arc<pgcatalog::Snapshot>>,
}

/// One client's session.
pub struct Session {
    shared: Arc<Shared>,
    user: String,
    /// The catalog the client connected to: one- and two-part names
    /// resolve in it.
    catalog: NamedCatalog,
    database: String,
    state: SessionState,
    /// User, schema and settings as pg_catalog and functions see them.
    view: SharedView,
    transaction: Transaction,
    /// Reported settings changed since the server last asked.
    changed: Vec<&'static str>,
    cursors: Cursors,
    sql_prepared: super::sql_prepare::SqlPrepared,
    /// The local shell on the data dir: always an admin.
    local: bool,
    /// The workgroup chosen with SET workgroup (else the user's default).
    workgroup: Option<String>,
    /// The query being started, metered under its workgroup.
    run: Option<super::metering::QueryRun>,
    /// Notices for the client: what the last query scanned and cost, ...
    notices: super::notices::Notices,
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, user: &str, catalog: NamedCatalog) -> Session {
        let database = catalog.connector_schema().unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        let view = Arc::new(std::sync::RwLock::new(SessionView {
            user: user.to_string(),
            database: catalog.name.clone(),
            catalogs: shared.catalogs.names(),
            schema: database.clone(),
            ..SessionView::default()
        }));
        let state = shared.new_state(&catalog, &database, 0, &view);
        Session {
            shared,
            user: user.to_string(),
            catalog,
            database,
            state,
            view,
            transaction: Transaction::default(),
            changed: Vec::new(),
            cursors: Cursors::default(),
            sql_prepared: Default::default(),
            local: false,
            workgroup: None,
            run: None,
            notices: Default::default(),
        }
    }

    /// The notices the last statements left for the client (`scanned
    /// 1.21 GB, cost $0.0059` once a query that read data has finished),
    /// each given once.
    pub fn take_notices(&self) -> Vec<super::notices::Notice> {
        self.notices.take()
    }

    /// Mark this as the local shell's session on the data dir, which may
    /// always manage users and workgroups.
    pub fn set_local(&mut self) {
        self.local = true;
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The process id clients see (BackendKeyData, `pg_backend_pid()`).
    pub fn set_backend_pid(&mut self, pid: i32) {
        view::write(&self.view).backend_pid = pid;
    }

    /// The transaction status for ReadyForQuery.
    pub fn transaction_status(&self) -> TxStatus {
        self.transaction.status()
    }

    /// Record that a statement failed (the frontend saw the error), which
    /// fails an open transaction block.
    pub fn note_error(&self) {
        self.transaction.note_error();
    }

    /// The current database (schema) unqualified names resolve in.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The catalog the session is connected to.
    pub fn catalog_name(&self) -> &str {
        &self.catalog.name
    }

    /// Run every statement of a script, stopping at the first error.
    /// Row outputs of all but the last statement are drained.
    pub async fn run_script(&mut self, sql: &str) -> Result<Vec<Output>> {
        let mut outputs = Vec::new();
        for stmt in statement::split(sql)? {
            outputs.push(self.run(&stmt).await?);
        }
        Ok(outputs)
    }

    /// Parse, plan and start one statement.
    pub async fn run(&mut self, sql: &SqlText) -> Result<Output> {
        let prepared = self.prepare(sql).await?;
        self.execute(&prepared, ParamValues::List(vec![])).await
    }

    /// Parse and plan one statement without running it.
    pub async fn prepare(&mut self, sql: &SqlText) -> Result<Prepared> {
        let result = self.prepare_unchecked(sql).await;
        if result.is_err() {
            self.transaction.note_error();
        }
        result
    }

    async fn prepare_unchecked(&mut self, sql: &SqlText) -> Result<Prepared> {
        let statement = statement::parse(sql)?;
        self.transaction.check(statement.ends_failed_block())?;
        // EXECUTE is planned as the query it names.
        let statement = match statement {
            Statement::Execute { name, values } => {
                Statement::Query(Box::new(self.sql_prepared.execute(&name, &values)?))
            }
            other => other,
        };
        let reads_catalog = match &statement {
            Statement::Query(ast) | Statement::Change(ast) => Some(pgcatalog::reads_catalog(ast)),
            Statement::Command(command) => command.query().map(|ast| pgcatalog::reads_catalog(&ast)),
            Statement::Execute { .. } => None,
        };
        if let Some(reads_catalog) = reads_catalog {
            self.refresh_snapshot(reads_catalog).await?;
        }
        let (plan, param_types, schema) = match &statement {
            Statement::Query(ast) => {
                let plan = self.plan_query(ast).await?;
                let types = param_types(&plan)?;
                let schema = client_names(plan.schema().as_arrow(), ColumnNames::of(ast).as_ref());
                (Some(plan), types, schema)
            }
            Statement::Change(ast) => {
                let plan = self.plan_change(ast).await?;
                let types = param_types(&plan)?;
                (Some(plan), types, no_columns())
            }
            Statement::Command(command) => (None, Vec::new(), command.schema(self)?),
            Statement::Execute { .. } => return Err(Error::internal("EXECUTE left unresolved")),
        };
        let snapshot = view::read(&self.view).snapshot.clone();
        Ok(Prepared { sql: sql.clone(), statement, plan, param_types, schema, snapshot })
    }

    /// Run a prepared statement with parameter values (`$1`, ...).
    pub async fn execute(&mut self, prepared: &Prepared, params: ParamValues) -> Result<Output> {
        let started = tokio::time::Instant::now();
        if let Some(snapshot) = &prepared.snapshot {
            view::write(&self.view).snapshot = Some(Arc::clone(snapshot));
        }
        let metered = match &prepared.statement {
            Statement::Query(_) | Statement::Change(_) => true,
            Statement::Command(command) => command.metered(),
            Statement::Execute { .. } => false,
        };
        if metered {
            let by = super::metering::Submitter {
                user: &self.user,
                chosen: self.workgroup.as_deref(),
                local: self.local,
                limits: self.limits(),
                notices: &self.notices,
            };
            let run = super::metering::begin(
                self.shared.security.as_ref(),
                &self.shared.ledger,
                &self.shared.active,
                by,
                &prepared.sql.text,
            )
            .await;
            match run {
                Ok(run) => self.run = Some(run),
                Err(e) => {
                    self.transaction.note_error();
                    return Err(e);
                }
            }
        }
        let result = match self.transaction.check(prepared.statement.ends_failed_block()) {
            Ok(()) => self.execute_unchecked(prepared, params).await,
            Err(e) => Err(e),
        };
        // A query's timeout is its workgroup's, with the session's applied.
        let timeout = match &self.run {
            Some(run) => run.workgroup.statement_timeout_ms,
            None => self.limits().statement_timeout_ms.flatten(),
        };
        let result = match self.run.take() {
            None => result,
            Some(run) => run.recording(result),
        };
        let output = match result {
            Ok(Output::Rows { schema, stream, tag }) => {
                let stream = match self.transaction.failure_flag() {
                    Some(flag) => super::stream::fail_on_error(stream, flag),
                    None => stream,
                };
                let (schema, stream) = super::stream::in_time_zone(schema, stream, &self.time_zone());
                Ok(Output::Rows { schema, stream: super::stream::with_timeout(stream, started, timeout), tag })
            }
            Ok(Output::Copy { schema, stream, format }) => {
                let (schema, stream) = super::stream::in_time_zone(schema, stream, &self.time_zone());
                Ok(Output::Copy { schema, stream: super::stream::with_timeout(stream, started, timeout), format })
            }
            Ok(done) => Ok(done),
            Err(e) => {
                self.transaction.note_error();
                Err(e)
            }
        };
        // A data-changing statement ran as a query (timed, cancellable,
        // recorded); what it answers is the count of rows it changed.
        match (output, &prepared.statement, &prepared.plan) {
            (Ok(Output::Rows { stream, .. }), Statement::Change(_), Some(plan)) => {
                let tag = super::writes::changed(stream, plan).await;
                if tag.is_err() {
                    self.transaction.note_error();
                }
                Ok(Output::Done { tag: tag? })
            }
            (output, ..) => output,
        }
    }

    /// Drop the last statement's catalog snapshot, and take a fresh one
    /// for a statement that reads the system catalogs or catalog functions.
    async fn refresh_snapshot(&mut self, reads_catalog: bool) -> Result<()> {
        view::write(&self.view).snapshot = None;
        if reads_catalog {
            pgcatalog::snapshot(&self.view, self.catalog.metastore.as_ref()).await?;
        }
        Ok(())
    }

    async fn execute_unchecked(&mut self, prepared: &Prepared, params: ParamValues) -> Result<Output> {
        match (&prepared.statement, &prepared.plan) {
            (Statement::Query(_), Some(plan)) => {
                let plan = with_params(prepared, plan, &params)?;
                let estimate = match &plan {
                    LogicalPlan::Explain(explain) => Some(self.explain_estimate(&explain.plan).await?),
                    _ => None,
                };
                let df = DataFrame::new(self.running_state(), plan);
                let schema = names_of(df.schema().as_arrow(), &prepared.schema);
                let stream = super::stream::execute_apart(df, self.preflight());
                let stream = match estimate {
                    Some(line) => super::stream::then_row(stream, vec!["scan_estimate".to_string(), line]),
                    None => stream,
                };
                Ok(Output::Rows { schema, stream, tag: "SELECT" })
            }
            (Statement::Change(_), Some(plan)) => {
                if let Some(refused) = super::writes::refused_before_running(plan) {
                    return Err(refused);
                }
                let plan = with_params(prepared, plan, &params)?;
                let df = DataFrame::new(self.running_state(), plan.clone());
                let schema = Arc::new(df.schema().as_arrow().clone());
                let stream = super::writes::start(super::stream::execute_apart(df, self.preflight()), &plan);
                // Not sent as rows: `execute` turns the stream into the tag.
                Ok(Output::Rows { schema, stream, tag: "INSERT" })
            }
            (Statement::Command(command), _) => {
                let privilege = command.privilege(&self.user);
                super::privileges::require(self.shared.security.as_ref(), &self.user, self.local, privilege).await?;
                command.run(self).await
            }
            _ => Err(Error::internal("a statement without its plan")),
        }
    }

    async fn plan_query(&self, ast: &Ast) -> Result<LogicalPlan> {
        self.plan_verified(ast, false).await
    }

    /// Plan INSERT, UPDATE or DELETE (DataFusion's `LogicalPlan::Dml`).
    async fn plan_change(&self, ast: &Ast) -> Result<LogicalPlan> {
        self.plan_verified(ast, true).await
    }

    /// Plan `ast` and refuse any plan but a query (or, with `dml`, a
    /// data-changing statement).
    async fn plan_verified(&self, ast: &Ast, dml: bool) -> Result<LogicalPlan> {
        self.plan_verified_in(&self.state, ast, dml).await
    }

    /// [`Self::plan_verified`] with `state`'s catalogs.
    async fn plan_verified_in(&self, state: &SessionState, ast: &Ast, dml: bool) -> Result<LogicalPlan> {
        let mut source = super::time_travel::resolve(ast, state).await?.unwrap_or_else(|| ast.clone());
        super::passthrough::rewrite(&mut source)?;
        let mut ast = super::rewrite::for_datafusion(&source);
        let mut plan = state.statement_to_plan(DfStatement::Statement(Box::new(ast.clone()))).await;
        if matches!(&plan, Err(e) if super::refusals::duplicate_output_names(e)) {
            ast = super::rewrite::with_distinct_output_names(&ast);
            plan = state.statement_to_plan(DfStatement::Statement(Box::new(ast.clone()))).await;
        }
        if matches!(&plan, Err(e) if super::refusals::uncomparable_types(e)) {
            if let Some((parameterized, texts)) = super::literals::as_parameters(&ast) {
                if let Ok(p) = state.statement_to_plan(DfStatement::Statement(Box::new(parameterized))).await {
                    let values = super::literals::typed_values(&texts, &p)?;
                    plan =
                        p.replace_params_with_values(&ParamValues::List(values.into_iter().map(Into::into).collect()));
                }
            }
        }
        // DataFusion refuses some correlated subqueries only when it
        // analyzes the plan: analyze it here, and restate them if so.
        // Only a statement with a scalar subquery can be refused so.
        let refused = |plan: &datafusion::error::Result<LogicalPlan>| match plan {
            Err(e) => super::refusals::unsupported_correlation(e),
            Ok(p) => {
                super::decorrelate::has_scalar_subquery(&ast)
                    && self
                        .state
                        .analyzer()
                        .execute_and_check(p.clone(), state.config_options(), |_, _| {})
                        .is_err_and(|e| super::refusals::unsupported_correlation(&e))
            }
        };
        if refused(&plan) {
            let restated = super::decorrelate::scalar_subqueries(&ast);
            plan = state.statement_to_plan(DfStatement::Statement(Box::new(restated))).await;
        }
        let plan = plan.map_err(Error::from);
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => return Err(self.explain_missing_table(e).await),
        };
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(dml)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|_| Error::not_supported("this statement"))?;
        Ok(plan)
    }

    /// Replace DataFusion's "table 'c.s.t' not found" with a message that
    /// lists the tables that do exist.
    async fn explain_missing_table(&self, e: Error) -> Error {
        let Error::DataFusion(df) = &e else { return e };
        let DataFusionError::Plan(message) = df.find_root() else { return e };
        let Some(name) = message.strip_prefix("table '").and_then(|m| m.strip_suffix("' not found")) else {
            return e;
        };
        let parts: Vec<&str> = name.split('.').collect();
        let (catalog, database, table) = match parts.as_slice() {
            [c, d, t] => (*c, *d, *t),
            _ => return e,
        };
        let catalog = match self.shared.catalogs.require(catalog, SqlState::UndefinedTable) {
            Ok(catalog) => catalog,
            Err(unknown) => {
                return Error::new(SqlState::UndefinedTable, format!("table {name} does not exist: {unknown}"))
            }
        };
        let known = match catalog.metastore.list_table_names(database).await {
            Ok(tables) => tables,
            Err(other) => return other,
        };
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        Error::new(
            SqlState::UndefinedTable,
            format!("table {database}.{table} does not exist; tables in database {database}: {known}"),
        )
    }

    /// The result columns of SQL cursor `name`, if it is open.
    pub fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        self.cursors.schema(name).ok()
    }

    /// EXPLAIN's last line: what the query would read and cost.
    async fn explain_estimate(&self, plan: &LogicalPlan) -> Result<String> {
        super::metering::explain_line(&self.running_state(), plan, self.run.as_ref()).await
    }

    /// The cutoff the running query's plan is checked against.
    fn preflight(&self) -> Option<crate::workgroup::Cutoff> {
        self.run.as_ref()?.preflight()
    }

    /// The state a statement runs with: `now()` is its start time, and a
    /// metered query reads through stores that charge its meter (and
    /// uses its workgroup's memory limit).
    fn running_state(&self) -> SessionState {
        let mut state = match &self.run {
            Some(run) if crate::table::metered::enabled() => {
                let meter = crate::table::metered::QueryMeter {
                    tally: Arc::clone(&run.meter) as Arc<dyn crate::table::store::Tally>,
                    memory_limit: run.workgroup.query_memory_limit.or(self.shared.default_memory_limit),
                };
                crate::table::metered::charged_state(&self.state, meter)
            }
            _ => self.state.clone(),
        };
        let notices = self.notices.clone();
        let sink = crate::table::ScanNotices::new(move |text| notices.push(super::notices::Severity::Notice, text));
        state.config_mut().set_extension(Arc::new(sink));
        state.mark_start_execution();
        state
    }

    /// Keep pg_cursors current.
    fn show_cursors(&self) {
        view::write(&self.view).cursors = self.cursors.list();
    }

    /// `[[catalog.]db.]name` as the catalog, database and name it means
    /// (42P01 naming the known catalogs for an unknown catalog).
    pub fn qualify(&self, parts: &[String]) -> Result<Qualified> {
        let named = |catalog: &NamedCatalog, database: &str, name: &str| Qualified {
            catalog: catalog.clone(),
            database: database.to_string(),
            name: name.to_string(),
        };
        match parts {
            [name] => Ok(named(&self.catalog, &self.database, name)),
            [db, name] => Ok(named(&self.catalog, db, name)),
            [catalog, db, name] => {
                Ok(named(&self.shared.catalogs.require(catalog, SqlState::UndefinedTable)?, db, name))
            }
            _ => Err(Error::syntax(
                format!("improper qualified name (too many dotted names): {}", parts.join(".")),
                None,
            )),
        }
    }
}

/// The prepared plan with its parameters' values in place.
fn with_params(prepared: &Prepared, plan: &LogicalPlan, params: &ParamValues) -> Result<LogicalPlan> {
    if prepared.param_types.is_empty() {
        return Ok(plan.clone());
    }
    check_param_count(&prepared.param_types, params)?;
    Ok(plan.clone().replace_params_with_values(params)?)
}

/// `$1..$n` in order (DataFusion keys them by name).
fn param_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let types = plan.get_parameter_types()?;
    let mut numbered: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .map(|(k, v)| {
            let n = k.trim_start_matches('$').parse::<usize>().map_err(|_| {
                Error::new(SqlState::SyntaxError, format!("parameter {k} must be numbered: $1, $2, ..."))
            })?;
            // The protocol carries at most 65535 parameters (PostgreSQL's
            // limit too); a number past it must never size anything.
            if !(1..=super::complexity::MAX_PARAMETERS).contains(&n) {
                return Err(Error::new(
                    SqlState::UndefinedParameter,
                    format!(
                        "there is no parameter {k}: parameters are numbered $1 to ${}",
                        super::complexity::MAX_PARAMETERS
                    ),
                ));
            }
            Ok((n, v))
        })
        .collect::<Result<_>>()?;
    numbered.sort_by_key(|(n, _)| *n);
    let count = numbered.last().map(|(n, _)| *n).unwrap_or(0);
    let mut out = vec![None; count];
    for (n, t) in numbered {
        out[n - 1] = t;
    }
    // `$1::bigint` types `$1` as bigint, as in PostgreSQL.
    for (id, t) in cast_placeholder_types(plan)? {
        if let Some(slot) =
            id.trim_start_matches('$').parse::<usize>().ok().and_then(|n| out.get_mut(n.wrapping_sub(1)))
        {
            slot.get_or_insert(t);
        }
    }
    Ok(out)
}

/// Placeholders that appear directly under a CAST, with the cast's type.
fn cast_placeholder_types(plan: &LogicalPlan) -> Result<Vec<(String, DataType)>> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Cast, Expr};
    let mut found = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::Cast(Cast { expr, data_type })
                | Expr::TryCast(datafusion::logical_expr::TryCast { expr, data_type }) = e
                {
                    if let Expr::Placeholder(p) = expr.as_ref() {
                        found.push((p.id.clone(), data_type.clone()));
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    Ok(found)
}

fn check_param_count(types: &[Option<DataType>], params: &ParamValues) -> Result<()> {
    let given = match params {
        ParamValues::List(v) => v.len(),
        ParamValues::Map(m) => m.len(),
    };
    if given != types.len() {
        return Err(Error::new(
            SqlState::ProtocolViolation,
            format!("the statement takes {} parameters but {given} were supplied", types.len()),
        ));
    }
    Ok(())
}

/// The plan's schema with the column names PostgreSQL would give.
fn client_names(schema: &Schema, names: Option<&ColumnNames>) -> SchemaRef {
    let count = schema.fields().len();
    renamed(schema, |i| names.and_then(|n| n.name(i, count)))
}

/// `schema` with the column names of `named` (the prepared statement's).
fn names_of(schema: &Schema, named: &Schema) -> SchemaRef {
    let same_width = schema.fields().len() == named.fields().len();
    renamed(schema, |i| same_width.then(|| named.field(i).name().as_str()))
}

/// `schema` with column `i` renamed to `name(i)` where that is Some.
fn renamed<'a>(schema: &Schema, name: impl Fn(usize) -> Option<&'a str>) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match name(i) {
            Some(n) => f.as_ref().clone().with_name(n),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
