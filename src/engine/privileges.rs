//! Who may run what. A command declares the [`Privilege`] it needs
//! (`Command::privilege`), and the session checks it before the command
//! runs; access control on tables and columns will be decided here too.
//!
//! Admins (SUPERUSER users) manage users and workgroups. While no user is
//! an admin, every session is one (a fresh install, or one person on a
//! laptop); the local shell on the data dir always is.

use crate::catalog::SecurityStore;
use crate::error::{Error, Result, SqlState};

/// What running a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Any connected user.
    Anyone,
    /// An admin; `what` completes "permission denied to ...".
    Admin { what: &'static str },
}

/// Whether `user` is an admin, or no user is (`local`: the shell on the
/// data dir, always).
pub async fn is_admin(store: &dyn SecurityStore, user: &str, local: bool) -> Result<bool> {
    if local {
        return Ok(true);
    }
    let users = store.list_users().await?;
    Ok(!users.iter().any(|u| u.admin) || users.iter().any(|u| u.admin && u.name == user))
}

/// 42501 unless `user` is an admin or the object's `owner` (its
/// creator): what destroying data or history takes (`what` completes
/// "permission denied to ...").
pub async fn require_admin_or_owner(
    store: &dyn SecurityStore,
    user: &str,
    local: bool,
    owner: Option<&str>,
    what: &str,
) -> Result<()> {
    if owner == Some(user) || is_admin(store, user, local).await? {
        return Ok(());
    }
    let owner = owner.map_or_else(|| "no recorded creator".to_string(), |o| format!("created by {o}"));
    Err(Error::new(
        SqlState::InsufficientPrivilege,
        format!("permission denied to {what}: {user} is not an admin, and it was {owner}"),
    )
    .with_hint("an admin (a SUPERUSER user) or the user who created it must do this"))
}

/// 42501 unless `user` holds `privilege`.
pub async fn require(store: &dyn SecurityStore, user: &str, local: bool, privilege: Privilege) -> Result<()> {
    match privilege {
        Privilege::Anyone => Ok(()),
        Privilege::Admin { .. } if is_admin(store, user, local).await? => Ok(()),
        Privilege::Admin { what } => Err(Error::new(
            SqlState::InsufficientPrivilege,
            format!("permission denied to {what}: {user} is not an admin"),
        )
        .with_hint("an admin (a SUPERUSER user) must do this")),
    }
}
