//! The session as its commands see it: [`Context`] for [`Session`].

use super::{client_names, Session};
use crate::catalog::list::{Catalogs, Qualified};
use crate::catalog::{Metastore, SecurityStore};
use crate::engine::colnames::ColumnNames;
use crate::engine::commands::Context;
use crate::engine::cursor::Cursors;
use crate::engine::metering::ActiveQueries;
use crate::engine::sql_prepare::SqlPrepared;
use crate::engine::transaction::Transaction;
use crate::error::Result;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{CatalogProvider, CatalogProviderList};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::DataFrame;
use datafusion::sql::sqlparser::ast::Statement as Ast;
use std::sync::Arc;

#[async_trait]
impl Context for Session {
    fn user(&self) -> &str {
        &self.user
    }

    fn local(&self) -> bool {
        self.local
    }

    fn metastore(&self) -> Arc<dyn Metastore> {
        Arc::clone(&self.catalog.metastore)
    }

    fn security(&self) -> Arc<dyn SecurityStore> {
        Arc::clone(&self.shared.security)
    }

    fn catalogs(&self) -> &Catalogs {
        &self.shared.catalogs
    }

    fn active(&self) -> &ActiveQueries {
        &self.shared.active
    }

    fn database(&self) -> &str {
        &self.database
    }

    fn qualify(&self, parts: &[String]) -> Result<Qualified> {
        Session::qualify(self, parts)
    }

    fn state(&self) -> &SessionState {
        &self.state
    }

    fn running_stores(&self) -> Result<Arc<dyn ObjectStoreRegistry>> {
        let state = self.running_state();
        let runtime = crate::table::metered::query_runtime(state.config(), state.runtime_env())?;
        Ok(Arc::clone(&runtime.object_store_registry))
    }

    fn notice(&self, text: String) {
        self.notices.push(crate::engine::notices::Severity::Notice, text);
    }

    async fn plan_query(&self, ast: &Ast) -> Result<LogicalPlan> {
        Session::plan_query(self, ast).await
    }

    async fn plan_query_with(&self, ast: &Ast, name: &str, catalog: Arc<dyn CatalogProvider>) -> Result<LogicalPlan> {
        let catalogs = WithCatalog { inner: Arc::clone(self.state.catalog_list()), name: name.to_string(), catalog };
        let state =
            SessionStateBuilder::new_from_existing(self.state.clone()).with_catalog_list(Arc::new(catalogs)).build();
        self.plan_verified_in(&state, ast, false).await
    }

    fn client_schema(&self, plan: &LogicalPlan, ast: &Ast) -> SchemaRef {
        client_names(plan.schema().as_arrow(), ColumnNames::of(ast).as_ref())
    }

    fn start(&self, plan: LogicalPlan, checked: bool) -> SendableRecordBatchStream {
        let cutoff = if checked { self.preflight() } else { None };
        crate::engine::stream::execute_apart(DataFrame::new(self.running_state(), plan), cutoff)
    }

    async fn set_variable(&mut self, name: &str, value: &str) -> Result<()> {
        Session::set_variable(self, name, value).await
    }

    async fn reset_variables(&mut self, name: Option<&str>) -> Result<()> {
        Session::reset_variables(self, name).await
    }

    fn show_setting(&self, name: &str) -> Result<String> {
        Session::show_setting(self, name)
    }

    fn setting(&self, name: &str) -> Option<String> {
        Session::setting(self, name)
    }

    async fn current_workgroup(&self) -> Result<String> {
        Session::current_workgroup(self).await
    }

    async fn set_database(&mut self, database: &str) -> Result<()> {
        Session::set_database(self, database).await
    }

    fn transaction(&mut self) -> &mut Transaction {
        &mut self.transaction
    }

    fn cursors(&mut self) -> &mut Cursors {
        &mut self.cursors
    }

    fn cursor_schema(&self, name: &str) -> Result<SchemaRef> {
        self.cursors.schema(name)
    }

    fn cursors_changed(&mut self) {
        self.show_cursors();
    }

    fn sql_prepared(&mut self) -> &mut SqlPrepared {
        &mut self.sql_prepared
    }
}

/// A session's catalogs and one more, seen by one statement's planning.
#[derive(Debug)]
struct WithCatalog {
    inner: Arc<dyn CatalogProviderList>,
    name: String,
    catalog: Arc<dyn CatalogProvider>,
}

impl CatalogProviderList for WithCatalog {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn register_catalog(&self, name: String, catalog: Arc<dyn CatalogProvider>) -> Option<Arc<dyn CatalogProvider>> {
        self.inner.register_catalog(name, catalog)
    }

    fn catalog_names(&self) -> Vec<String> {
        let mut names = self.inner.catalog_names();
        names.push(self.name.clone());
        names
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        if name == self.name {
            return Some(Arc::clone(&self.catalog));
        }
        self.inner.catalog(name)
    }
}
