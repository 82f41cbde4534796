//! The one door of every login: [`Authenticator`]. The web's login handlers call it and nothing
//! else to check a password (a local user's on the Argon2 [`Hasher`], `auth/local.rs`; else the
//! directory's, [`super::ldap`]) and a second factor ([`super::totp`]: a code, or a recovery
//! code). The login limit ([`super::limit`]) is the caller's: it counts every attempt before
//! it reaches this door.

use super::ldap::{Directory, DirectoryOutcome};
use super::local::{self, Local};
use super::{totp, Busy, Hasher, MAX_PASSWORD_LEN};
use crate::store::{Store, StoreError, UserInfo, UserSource};
use std::sync::Arc;

/// How a password check ended.
#[derive(Debug)]
pub enum Verdict {
    /// The password is right: this user (whose second factor, `user.totp`, may still be due).
    Accepted(UserInfo),
    /// A wrong user name or password (or an empty one).
    Wrong,
    /// The password is right, but the directory's groups give no access: the message says
    /// why, in the user's words.
    NoAccess(String),
    /// Too many checks at once (hashes or directory logins): not checked, try again.
    Busy,
    /// The directory could not be asked (down, too slow, misconfigured): not checked.
    DirectoryUnavailable,
}

/// How a second-factor check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A right code, not used before.
    Code,
    /// One of the user's unused recovery codes (now used up).
    RecoveryCode,
    /// Wrong, used before, or the user has no second factor.
    Wrong,
}

/// Checks passwords and second factors; see the module's documentation.
#[derive(Debug, Clone)]
pub struct Authenticator {
    hasher: Hasher,
    directory: Option<Directory>,
}

impl Authenticator {
    /// Local users on `hasher`, and directory users when a directory is given.
    pub fn new(hasher: Hasher, directory: Option<Directory>) -> Authenticator {
        Authenticator { hasher, directory }
    }

    /// The Argon2 hasher (new passwords are hashed on it too).
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// The directory, when directory logins are on.
    pub fn directory(&self) -> Option<&Directory> {
        self.directory.as_ref()
    }

    /// Checks `name`'s `password`: a local user's against their hash; a name without a local
    /// user against the directory (its user then recorded, with the role and scope of their
    /// groups), or against a dummy hash when there is no directory. An empty password (or one
    /// longer than [`MAX_PASSWORD_LEN`]) is wrong before anything is asked.
    pub async fn password(
        &self,
        store: &Arc<Store>,
        name: &str,
        password: String,
    ) -> Result<Verdict, StoreError> {
        if password.is_empty()
            || password.chars().count() > MAX_PASSWORD_LEN
            || name.is_empty()
            || name.chars().count() > 256
            || name.contains(char::is_control)
        {
            return Ok(Verdict::Wrong);
        }
        match local::check(&self.hasher, store, name, password.clone()).await? {
            Local::Right(user) => return Ok(Verdict::Accepted(user)),
            Local::Wrong => return Ok(Verdict::Wrong),
            Local::Busy => return Ok(Verdict::Busy),
            Local::Nobody => {}
        }
        let Some(directory) = &self.directory else {
            return Ok(match local::nobody(&self.hasher, password).await {
                Ok(()) => Verdict::Wrong,
                Err(Busy) => Verdict::Busy,
            });
        };
        match directory.authenticate(name, &password).await {
            DirectoryOutcome::User(u) => {
                let shown = name.escape_debug().to_string();
                tracing::info!(target: super::SECURITY, user = %shown, role = %u.role, groups = ?u.groups, "directory login accepted");
                let typed = name.to_owned();
                match crate::store::blocking(store, move |s| {
                    s.directory_login(&u.dn, &typed, u.role, &u.scope)
                })
                .await
                {
                    Ok(user) => Ok(Verdict::Accepted(user)),
                    Err(StoreError::UserExists(_)) => Ok(Verdict::NoAccess(
                        "A console user of this name exists already; ask the console's administrator."
                            .into(),
                    )),
                    Err(e) => Err(e),
                }
            }
            DirectoryOutcome::Wrong => Ok(Verdict::Wrong),
            DirectoryOutcome::NoAccess(m) => Ok(Verdict::NoAccess(m)),
            DirectoryOutcome::Busy => Ok(Verdict::Busy),
            DirectoryOutcome::Unavailable(why) => {
                tracing::warn!(target: super::SECURITY, "directory login not checked: {why}");
                Ok(Verdict::DirectoryUnavailable)
            }
        }
    }

    /// Checks a second factor of `user` at Unix time `now`: a TOTP code (within a step either
    /// side, once) or one of their recovery codes (once).
    pub async fn second_factor(
        &self,
        store: &Arc<Store>,
        user: &UserInfo,
        code: &str,
        now: u64,
    ) -> Result<SecondFactor, StoreError> {
        if user.source != UserSource::Local {
            return Ok(SecondFactor::Wrong);
        }
        let (id, code) = (user.id, code.to_owned());
        crate::store::blocking(store, move |s| {
            let state = s.totp_state(id)?;
            let Some(secret) = state.secret.as_deref().and_then(totp::secret_bytes) else {
                return Ok(SecondFactor::Wrong);
            };
            if let Some(hash) = totp::recovery_hash(&code) {
                return Ok(if s.use_recovery_code(id, &hash)? {
                    SecondFactor::RecoveryCode
                } else {
                    SecondFactor::Wrong
                });
            }
            Ok(match totp::check(&secret, &code, now, state.last_step) {
                Some(step) if s.totp_use_step(id, step)? => SecondFactor::Code,
                _ => SecondFactor::Wrong,
            })
        })
        .await
    }

    /// Confirms a user's enrolment with the first code of the secret being enrolled; returns
    /// the new recovery codes (shown once; only their hashes are kept), `None` for a wrong
    /// code or when nothing is being enrolled.
    pub async fn confirm_enrolment(
        &self,
        store: &Arc<Store>,
        user: &UserInfo,
        code: &str,
        now: u64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        if user.source != UserSource::Local {
            return Ok(None);
        }
        let (id, code) = (user.id, code.to_owned());
        crate::store::blocking(store, move |s| {
            let state = s.totp_state(id)?;
            let Some(secret) = state.pending.as_deref().and_then(totp::secret_bytes) else {
                return Ok(None);
            };
            let Some(step) = totp::check(&secret, &code, now, 0) else {
                return Ok(None);
            };
            let codes = totp::new_recovery_codes();
            let hashes: Vec<Vec<u8>> = codes
                .iter()
                .filter_map(|c| totp::recovery_hash(c))
                .collect();
            Ok(s.totp_confirm(id, step, &hashes)?.then_some(codes))
        })
        .await
    }
}
