//! Transaction control: BEGIN / START TRANSACTION, COMMIT, ROLLBACK,
//! SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT. The block's
//! state is `engine/transaction.rs`.

use super::{Claimed, Command, Context, Family};
use crate::engine::output::Output;
use crate::engine::transaction::TxCommand;
use crate::error::Result;
use datafusion::sql::sqlparser::ast::Statement as Ast;

pub(super) const FAMILY: Family = Family { own_syntax: None, from_ast: Some(from_ast) };

fn from_ast(ast: Ast) -> Result<Claimed> {
    let command = match ast {
        Ast::StartTransaction { .. } => TxCommand::Begin,
        Ast::Commit { .. } => TxCommand::Commit,
        Ast::Rollback { savepoint: None, .. } => TxCommand::Rollback,
        Ast::Rollback { savepoint: Some(name), .. } => TxCommand::RollbackTo(name.value),
        Ast::Savepoint { name } => TxCommand::Savepoint(name.value),
        Ast::ReleaseSavepoint { name } => TxCommand::Release(name.value),
        other => return Ok(Claimed::Not(Box::new(other))),
    };
    Ok(Claimed::Command(Box::new(command)))
}

#[async_trait::async_trait]
impl Command for TxCommand {
    fn ends_failed_block(&self) -> bool {
        TxCommand::ends_failed_block(self)
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let tag = cx.transaction().apply(self)?;
        if !cx.transaction().is_open() {
            // Cursors without HOLD end with their block.
            cx.cursors().end_transaction();
            cx.cursors_changed();
        }
        Ok(Output::Done { tag })
    }
}
