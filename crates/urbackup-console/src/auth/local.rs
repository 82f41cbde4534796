//! Local console users: the password checked against the Argon2id hash in the database, on
//! the bounded [`Hasher`] (a login for a name that has no local user verifies a dummy hash,
//! so that it takes as long).

use super::{Busy, Hasher};
use crate::store::{Store, StoreError, UserInfo};
use std::sync::Arc;

/// How a local check ended.
pub(super) enum Local {
    /// No local user of that name (the hash was not looked at).
    Nobody,
    /// The password is theirs.
    Right(UserInfo),
    /// It is not.
    Wrong,
    /// The hasher is busy: not checked.
    Busy,
}

/// Checks `password` for the local user `name`.
pub(super) async fn check(
    hasher: &Hasher,
    store: &Arc<Store>,
    name: &str,
    password: String,
) -> Result<Local, StoreError> {
    let found = crate::store::blocking(store, {
        let name = name.to_owned();
        move |s| s.login_hash(&name)
    })
    .await?;
    let Some((user, hash)) = found else {
        return Ok(Local::Nobody);
    };
    Ok(match hasher.verify(password, Some(hash)).await {
        Ok(true) => Local::Right(user),
        Ok(false) => Local::Wrong,
        Err(Busy) => Local::Busy,
    })
}

/// Verifies a dummy hash, for a name nobody has (a login takes as long as a wrong password).
pub(super) async fn nobody(hasher: &Hasher, password: String) -> Result<(), Busy> {
    hasher.verify(password, None).await.map(|_| ())
}
