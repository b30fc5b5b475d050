//! glaux: an interactive, federated SQL engine for data lakes, speaking the
//! PostgreSQL wire protocol, built on Apache DataFusion.
//!
//! Module map (docs/ARCHITECTURE.md has the full picture):
//!
//! - [`config`]: settings from file, environment and flags.
//! - [`error`]: the error type and SQLSTATE codes.
//! - [`catalog`]: the Glue data model, its stores and DataFusion adapters.
//! - [`table`]: catalog tables to DataFusion tables (formats, object stores).
//! - [`iceberg`]: Apache Iceberg tables (iceberg-rust over glaux's stores).
//! - [`engine`]: sessions, statement parsing and execution; the only owner
//!   of DataFusion's session state.
//! - [`pgcatalog`]: pg_catalog and information_schema over the catalog.
//! - [`pgtypes`]: Arrow values as Postgres types and text.
//! - [`server`]: the PostgreSQL wire-protocol frontend.
//! - [`repl`]: the interactive shell and script runner.
//! - [`sample`]: TPC-H sample data.
//!
//! Frontends (`server`, `repl`) use only `engine`, `pgtypes` and `error`.

pub mod catalog;
pub mod config;
pub mod engine;
pub mod iceberg;
pub use glaux_connector::error;
pub mod pgcatalog;
pub mod pgtypes;
pub mod repl;
pub mod sample;
pub mod scram;
pub mod server;
pub mod table;
pub mod workgroup;

/// The stack of every thread that parses, plans or runs statements (the
/// server's runtime and the query runtime). Statements deeper than the
/// engine's nesting limit are refused before planning; this leaves the
/// recursion of the statements it accepts room to spare.
pub const THREAD_STACK_BYTES: usize = 16 << 20;
