//! The crate a glaux connector implements against.
//!
//! A connector (PostgreSQL, MySQL, ...) lives in its own crate under
//! `connectors/` and depends on this one, never on glaux itself, which
//! depends on the connectors. Today it holds what glaux and a connector
//! must share to speak of failure: [`error::Error`] and [`error::SqlState`]
//! (glaux re-exports them as `glaux::error`). The connector trait itself
//! comes with the first connector.

pub mod error;

pub use error::{Error, Result, SqlState};
