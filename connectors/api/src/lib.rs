//! The crate a glaux connector implements against.
//!
//! A connector (PostgreSQL, MySQL, ...) lives in its own crate under
//! `connectors/` and depends on this one, never on glaux itself, which
//! depends on the connectors. Today it holds what glaux and a connector
//! must share to speak of failure: [`error::Error`] and [`error::SqlState`]
//! (glaux re-exports them as `glaux::error`); [`connector::Connector`],
//! the catalog a connector serves; [`pushdown`], the rules that decide
//! which filters a source may evaluate; [`sql`], the SELECT sent to an SQL
//! source; [`types`], the Arrow marks of uuid and json; and [`values`], exact
//! conversions of a source's decimals and dates.

pub mod connector;
pub mod error;
pub mod pushdown;
pub mod sql;
pub mod types;
pub mod values;

pub use error::{Error, Result, SqlState};
