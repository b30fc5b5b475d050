//! A session's transaction block: BEGIN ... COMMIT/ROLLBACK, savepoints,
//! and the failed state in which PostgreSQL refuses every statement but
//! ROLLBACK (25P02). glaux statements only read, so a transaction changes
//! nothing but this state; clients (psql, JDBC with autocommit off,
//! psycopg) rely on its error codes and on ReadyForQuery's status.

use super::output::Tag;
use crate::error::{Error, Result, SqlState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A transaction control statement.
#[derive(Debug, Clone, PartialEq)]
pub enum TxCommand {
    Begin,
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
}

impl TxCommand {
    /// Whether it may run in a failed block: it ends the block or rolls
    /// back to a savepoint.
    pub fn ends_failed_block(&self) -> bool {
        matches!(self, TxCommand::Commit | TxCommand::Rollback | TxCommand::RollbackTo(_))
    }
}

/// The transaction status ReadyForQuery reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InBlock,
    /// `E`: in a failed transaction block.
    Failed,
}

/// The state of one session's transaction.
#[derive(Debug, Default)]
pub struct Transaction {
    open: bool,
    savepoints: Vec<String>,
    /// Set by a failing statement, including one whose error comes while
    /// its rows stream (hence shared with the stream).
    failed: Arc<AtomicBool>,
}

impl Transaction {
    pub fn status(&self) -> TxStatus {
        match (self.open, self.failed.load(Ordering::Relaxed)) {
            (false, _) => TxStatus::Idle,
            (true, false) => TxStatus::InBlock,
            (true, true) => TxStatus::Failed,
        }
    }

    /// The flag a streaming result raises when it fails inside a block.
    pub fn failure_flag(&self) -> Option<Arc<AtomicBool>> {
        self.open.then(|| Arc::clone(&self.failed))
    }

    /// Note that a statement failed: a block it was in is now failed.
    pub fn note_error(&self) {
        if self.open {
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    /// Refuse what a failed block does not allow: every statement but
    /// one that `ends_failed_block` (ending it or rolling back to a
    /// savepoint).
    pub fn check(&self, ends_failed_block: bool) -> Result<()> {
        if self.status() != TxStatus::Failed || ends_failed_block {
            return Ok(());
        }
        Err(Error::new(
            SqlState::InFailedTransaction,
            "current transaction is aborted, commands ignored until end of transaction block",
        ))
    }

    /// Apply a transaction command; returns its command tag.
    pub fn apply(&mut self, command: &TxCommand) -> Result<Tag> {
        match command {
            TxCommand::Begin => {
                // PostgreSQL warns and carries on when a block is open.
                self.open = true;
                Ok(Tag::Begin)
            }
            TxCommand::Commit => {
                let failed = self.status() == TxStatus::Failed;
                self.end();
                Ok(Tag::End(if failed { "ROLLBACK" } else { "COMMIT" }))
            }
            TxCommand::Rollback => {
                self.end();
                Ok(Tag::End("ROLLBACK"))
            }
            TxCommand::Savepoint(name) => {
                self.require_block("SAVEPOINT")?;
                self.savepoints.push(name.clone());
                Ok(Tag::Done("SAVEPOINT"))
            }
            TxCommand::Release(name) => {
                self.require_block("RELEASE SAVEPOINT")?;
                let at = self.find(name)?;
                self.savepoints.truncate(at);
                Ok(Tag::Done("RELEASE"))
            }
            TxCommand::RollbackTo(name) => {
                self.require_block("ROLLBACK TO SAVEPOINT")?;
                let at = self.find(name)?;
                self.savepoints.truncate(at + 1);
                self.failed.store(false, Ordering::Relaxed);
                // The block goes on: not an end.
                Ok(Tag::Done("ROLLBACK"))
            }
        }
    }

    /// Whether a block is open (cursors without HOLD need one).
    pub fn is_open(&self) -> bool {
        self.open
    }

    fn end(&mut self) {
        self.open = false;
        self.savepoints.clear();
        self.failed = Arc::new(AtomicBool::new(false));
    }

    fn require_block(&self, what: &str) -> Result<()> {
        if self.open {
            Ok(())
        } else {
            Err(Error::new(SqlState::InvalidTransactionState, format!("{what} can only be used in transaction blocks")))
        }
    }

    fn find(&self, name: &str) -> Result<usize> {
        self.savepoints.iter().rposition(|s| s == name).ok_or_else(|| {
            Error::new(SqlState::InvalidTransactionState, format!("savepoint \"{name}\" does not exist"))
        })
    }
}
