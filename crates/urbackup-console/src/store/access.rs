//! Who may see what and how they log in: scopes, directory users, the second factor (TOTP
//! secrets, recovery codes, logins waiting for their code), and the open sessions as the
//! sessions page lists them.

use super::users::{user_row, UserInfo, USER_COLUMNS};
use super::{Store, StoreError, SESSION_IDLE_SECS, SESSION_MAX_SECS};
use crate::auth::{self, Role, Scope};
use rusqlite::{params, Connection, OptionalExtension};

/// A login whose password was right waits this long for its second factor.
pub const PENDING_LOGIN_SECS: i64 = 300;
/// Wrong codes one waiting login may send before its password must be typed again.
pub const PENDING_LOGIN_FAILURES: i64 = 3;

/// An open session, as the sessions page shows it (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The id to end it by.
    pub public_id: String,
    /// Its user.
    pub user: String,
    /// The address of the login (`""`: not known, a session from before it was recorded).
    pub addr: String,
    /// Unix time of the login.
    pub created: i64,
    /// Unix time of its last request (to the minute).
    pub last_seen: i64,
}

/// A user's second factor as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The confirmed secret (base32).
    pub secret: Option<String>,
    /// The secret being enrolled (base32).
    pub pending: Option<String>,
    /// The step of the last code accepted.
    pub last_step: u64,
    /// Recovery codes not used yet.
    pub recovery_left: i64,
}

/// A login waiting for its second factor.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// Its user (as stored now).
    pub user: UserInfo,
    /// "Keep me logged in" was ticked.
    pub remember: bool,
    /// Where to go after the login.
    pub next: String,
}

impl Store {
    /// Refuses a change of `what` for a directory user (their role and scope come from the
    /// directory, their password is the directory's).
    pub(super) fn refuse_directory(
        conn: &Connection,
        name: &str,
        what: &str,
    ) -> Result<(), StoreError> {
        let source: Option<String> = conn
            .query_row("SELECT source FROM users WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        match source.as_deref() {
            None => Err(StoreError::UnknownUser(name.to_owned())),
            Some("directory") => Err(StoreError::Invalid(format!(
                "`{name}` is a directory user: their {what} comes from the directory"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// A user by name.
    pub fn user(&self, name: &str) -> Result<Option<UserInfo>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = ?1"),
                [name],
                user_row,
            )
            .optional()?)
    }

    // ---- scopes ---------------------------------------------------------------------------

    /// Sets a local user's scope (from the command line).
    pub fn set_scope(&self, name: &str, scope: &Scope) -> Result<(), StoreError> {
        self.set_scope_by(super::COMMAND_LINE, name, scope)
    }

    /// Sets a local user's scope; `by` is who did it. Admins are never scoped; a directory
    /// user's scope comes from the directory. Takes effect at the user's next request.
    pub fn set_scope_by(&self, by: &str, name: &str, scope: &Scope) -> Result<(), StoreError> {
        {
            let conn = self.conn();
            Store::refuse_directory(&conn, name, "scope")?;
            if !scope.is_all() && Store::role_of(&conn, name)? == Role::Admin {
                return Err(StoreError::Invalid(format!(
                    "`{name}` is an admin: admins see every server (give them another role first)"
                )));
            }
            conn.execute(
                "UPDATE users SET scope_servers = ?2, scope_groups = ?3 WHERE name = ?1",
                params![
                    name,
                    Scope::to_column(&scope.servers),
                    Scope::to_column(&scope.groups)
                ],
            )?;
        }
        self.audit_users(
            by,
            "user.scope",
            &format!("gave console user {name} the scope: {}", scope.describe()),
        )
    }

    /// Adds a local user with a role and a scope (from the command line).
    pub fn add_user_scoped(
        &self,
        name: &str,
        role: Role,
        password: &str,
        scope: &Scope,
    ) -> Result<(), StoreError> {
        super::check_new_user(name, password)?;
        let hash = auth::hash_password(password).map_err(StoreError::Invalid)?;
        self.add_user_hashed_scoped(super::COMMAND_LINE, name, role, &hash, scope)
    }

    /// Adds a local user whose password is already hashed, with a scope; `by` is who did it.
    pub fn add_user_hashed_scoped(
        &self,
        by: &str,
        name: &str,
        role: Role,
        password_hash: &str,
        scope: &Scope,
    ) -> Result<(), StoreError> {
        if role == Role::Admin && !scope.is_all() {
            return Err(StoreError::Invalid(
                "admins see every server: a scope is for viewers and operators".into(),
            ));
        }
        self.add_user_hashed(by, name, role, password_hash)?;
        if !scope.is_all() {
            self.set_scope_by(by, name, scope)?;
        }
        Ok(())
    }

    // ---- directory users ------------------------------------------------------------------

    /// Records a directory login of `dn` typed as `name`: the user's row is created at the
    /// first login (named as typed then) and its role and scope are the directory's from then
    /// on, updated at each login. A local user of that name keeps it (refused).
    pub fn directory_login(
        &self,
        dn: &str,
        name: &str,
        role: Role,
        scope: &Scope,
    ) -> Result<UserInfo, StoreError> {
        let now = urbackup_fleet::unix_now();
        let (servers, groups) = (
            Scope::to_column(&scope.servers),
            Scope::to_column(&scope.groups),
        );
        let change = {
            let conn = self.conn();
            let old: Option<(String, String, Option<String>)> = conn
                .query_row(
                    "SELECT name, role, scope_servers FROM users WHERE dn = ?1 AND source = 'directory'",
                    [dn],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match old {
                Some((stored, old_role, old_servers)) => {
                    conn.execute(
                        "UPDATE users SET role = ?2, scope_servers = ?3, scope_groups = ?4 WHERE dn = ?1",
                        params![dn, role.as_str(), servers, groups],
                    )?;
                    (old_role != role.as_str() || old_servers != servers).then(|| {
                        format!(
                            "directory user {stored} is now {role}, scope: {} (from the directory's groups)",
                            scope.describe()
                        )
                    })
                }
                None => {
                    let r = conn.execute(
                        "INSERT INTO users (name, role, password_hash, created, password_changed, source, dn, scope_servers, scope_groups)
                         VALUES (?1, ?2, '', ?3, ?3, 'directory', ?4, ?5, ?6)",
                        params![name, role.as_str(), now, dn, servers, groups],
                    );
                    match r {
                        Ok(_) => Some(format!(
                            "directory user {name} logged in for the first time: {role}, scope: {}",
                            scope.describe()
                        )),
                        Err(rusqlite::Error::SqliteFailure(e, _))
                            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            return Err(StoreError::UserExists(name.to_owned()));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        };
        if let Some(detail) = change {
            self.audit_users("(directory)", "user.directory", &detail)?;
        }
        self.conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.dn = ?1"),
                [dn],
                user_row,
            )
            .map_err(Into::into)
    }

    // ---- the second factor ----------------------------------------------------------------

    /// A user's second factor.
    pub fn totp_state(&self, user_id: i64) -> Result<TotpState, StoreError> {
        let conn = self.conn();
        let row: Option<(Option<String>, Option<String>, i64)> = conn
            .query_row(
                "SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE id = ?1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((secret, pending, last_step)) = row else {
            return Ok(TotpState::default());
        };
        let recovery_left = conn.query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        Ok(TotpState {
            secret,
            pending,
            last_step: last_step.max(0) as u64,
            recovery_left,
        })
    }

    /// Starts (or restarts) the enrolment of a local user: the secret waits for its first code.
    pub fn totp_begin(&self, user_id: i64, secret: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE users SET totp_pending = ?2 WHERE id = ?1 AND source = 'local'",
            params![user_id, secret],
        )?;
        Ok(())
    }

    /// Confirms the enrolment with the step of a right code: the pending secret becomes the
    /// user's, with these recovery codes (their hashes; the old ones are dropped). False when
    /// nothing was pending.
    pub fn totp_confirm(
        &self,
        user_id: i64,
        step: u64,
        recovery_hashes: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let name = {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            let n = tx.execute(
                "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ?2
                 WHERE id = ?1 AND totp_pending IS NOT NULL",
                params![user_id, step as i64],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
            for h in recovery_hashes {
                tx.execute(
                    "INSERT OR IGNORE INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                    params![user_id, h],
                )?;
            }
            let name: String =
                tx.query_row("SELECT name FROM users WHERE id = ?1", [user_id], |r| {
                    r.get(0)
                })?;
            tx.commit()?;
            name
        };
        self.audit_users(
            &name,
            "user.totp",
            &format!("console user {name} set up a second factor (TOTP)"),
        )?;
        Ok(true)
    }

    /// Marks the code of `step` used, if it comes after the last one accepted (a code is
    /// accepted once, also when two logins send it at the same time). True when it does.
    pub fn totp_use_step(&self, user_id: i64, step: u64) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_secret IS NOT NULL AND totp_last_step < ?2",
            params![user_id, step as i64],
        )? == 1)
    }

    /// Uses up a recovery code (its hash). True when it was one of the user's, unused.
    pub fn use_recovery_code(&self, user_id: i64, code_hash: &[u8]) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2",
            params![user_id, code_hash],
        )? == 1)
    }

    /// Removes a user's second factor (from the command line): they log in with their
    /// password alone (or enrol again when the console requires a second factor); their
    /// sessions end.
    pub fn totp_reset(&self, name: &str) -> Result<(), StoreError> {
        self.totp_reset_by(super::COMMAND_LINE, name)
    }

    /// Removes a user's second factor; `by` is who did it. Their sessions end.
    pub fn totp_reset_by(&self, by: &str, name: &str) -> Result<(), StoreError> {
        let ended = {
            let conn = self.conn();
            Store::refuse_directory(&conn, name, "second factor")?;
            conn.execute(
                "UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE name = ?1",
                [name],
            )?;
            conn.execute(
                "DELETE FROM recovery_codes WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
                [name],
            )?;
            conn.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
                [name],
            )?
        };
        self.audit_users(
            by,
            "user.totp",
            &format!("removed the second factor of console user {name} (sessions ended: {ended})"),
        )
    }

    // ---- logins waiting for their second factor -------------------------------------------

    /// Records a login whose password was right and that waits for its code; returns the
    /// token of its cookie.
    pub fn pending_login(
        &self,
        user_id: i64,
        now: i64,
        remember: bool,
        next: &str,
    ) -> Result<String, StoreError> {
        let token = auth::random_token();
        let conn = self.conn();
        conn.execute(
            "DELETE FROM pending_logins WHERE created < ?1",
            [now - PENDING_LOGIN_SECS],
        )?;
        conn.execute(
            "INSERT INTO pending_logins (token_hash, user_id, created, remember, next) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![auth::token_hash(&token), user_id, now, remember, next],
        )?;
        Ok(token)
    }

    /// The login waiting under this cookie token, if it has not expired nor failed too often.
    pub fn pending(&self, token: &str, now: i64) -> Result<Option<PendingLogin>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS}, p.remember, p.next FROM pending_logins p JOIN users u ON u.id = p.user_id
                     WHERE p.token_hash = ?1 AND p.created >= ?2 AND p.failures < ?3"
                ),
                params![auth::token_hash(token), now - PENDING_LOGIN_SECS, PENDING_LOGIN_FAILURES],
                |r| {
                    Ok(PendingLogin {
                        user: user_row(r)?,
                        remember: r.get(9)?,
                        next: r.get(10)?,
                    })
                },
            )
            .optional()?)
    }

    /// Counts a wrong code for a waiting login; true when it may not try again.
    pub fn pending_failed(&self, token: &str) -> Result<bool, StoreError> {
        let conn = self.conn();
        let hash = auth::token_hash(token);
        conn.execute(
            "UPDATE pending_logins SET failures = failures + 1 WHERE token_hash = ?1",
            [&hash],
        )?;
        let failures: Option<i64> = conn
            .query_row(
                "SELECT failures FROM pending_logins WHERE token_hash = ?1",
                [&hash],
                |r| r.get(0),
            )
            .optional()?;
        let spent = failures.is_none_or(|f| f >= PENDING_LOGIN_FAILURES);
        if spent {
            conn.execute("DELETE FROM pending_logins WHERE token_hash = ?1", [&hash])?;
        }
        Ok(spent)
    }

    /// Ends a waiting login (it succeeded, or was given up).
    pub fn pending_done(&self, token: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM pending_logins WHERE token_hash = ?1",
            [auth::token_hash(token)],
        )?;
        Ok(())
    }

    // ---- the sessions page ----------------------------------------------------------------

    /// The open sessions at `now`, the most recently used first.
    pub fn sessions(&self, now: i64) -> Result<Vec<SessionRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.public_id, u.name, s.addr, s.created, s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.last_seen >= ?1 AND s.created >= ?2 ORDER BY s.last_seen DESC, u.name",
        )?;
        let rows = stmt.query_map(
            params![now - SESSION_IDLE_SECS, now - SESSION_MAX_SECS],
            |r| {
                Ok(SessionRow {
                    public_id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    user: r.get(1)?,
                    addr: r.get(2)?,
                    created: r.get(3)?,
                    last_seen: r.get(4)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Ends the session of this public id; `by` is who did it. Returns its user's name (`None`:
    /// no such session, e.g. it ended already).
    pub fn end_session_by(&self, by: &str, public_id: &str) -> Result<Option<String>, StoreError> {
        let user: Option<String> = {
            let conn = self.conn();
            let user = conn
                .query_row(
                    "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.public_id = ?1",
                    [public_id],
                    |r| r.get(0),
                )
                .optional()?;
            conn.execute("DELETE FROM sessions WHERE public_id = ?1", [public_id])?;
            user
        };
        if let Some(u) = &user {
            self.audit_users(
                by,
                "user.session",
                &format!("ended a session of console user {u}"),
            )?;
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_stored_and_admins_are_never_scoped() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Admin, "a long password").unwrap();
        let scope = Scope::servers(["alpha"]).with_groups(["office"]);
        s.add_user_scoped("sam", Role::Operator, "sam's password!", &scope)
            .unwrap();
        assert_eq!(s.user("sam").unwrap().unwrap().scope, scope);
        assert!(s.set_scope("ann", &scope).is_err());
        assert!(s
            .add_user_scoped("adm", Role::Admin, "adm's password!", &scope)
            .is_err());
        assert!(s.user("adm").unwrap().is_none(), "nothing added");
        // Made admin: the stored scope no longer applies.
        s.set_role("sam", Role::Admin).unwrap();
        assert!(s.user("sam").unwrap().unwrap().scope.is_all());
        s.set_role("sam", Role::Viewer).unwrap();
        assert_eq!(s.user("sam").unwrap().unwrap().scope, scope);
        s.set_scope("sam", &Scope::all()).unwrap();
        assert!(s.user("sam").unwrap().unwrap().scope.is_all());
        assert!(matches!(
            s.set_scope("nobody", &scope),
            Err(StoreError::UnknownUser(_))
        ));
    }

    #[test]
    fn directory_users_follow_the_directory_and_keep_their_hands_off_local_ones() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Admin, "a long password").unwrap();
        let u = s
            .directory_login("uid=dora,dc=x", "dora", Role::Viewer, &Scope::all())
            .unwrap();
        assert_eq!(u.source, super::super::UserSource::Directory);
        // Never a local login, whatever the password.
        assert!(s.login_hash("dora").unwrap().is_none());
        let again = s
            .directory_login(
                "uid=dora,dc=x",
                "DORA",
                Role::Operator,
                &Scope::servers(["beta"]),
            )
            .unwrap();
        assert_eq!((again.id, again.name.as_str()), (u.id, "dora"));
        assert_eq!(again.role, Role::Operator);
        assert_eq!(again.scope, Scope::servers(["beta"]));
        assert!(s.set_role("dora", Role::Admin).is_err());
        assert!(s.set_scope("dora", &Scope::all()).is_err());
        assert!(s.set_password("dora", "another long one").is_err());
        // A local user's name is theirs.
        assert!(matches!(
            s.directory_login("uid=ann,dc=x", "ann", Role::Admin, &Scope::all()),
            Err(StoreError::UserExists(_))
        ));
        // A directory admin does not count as the last admin.
        s.directory_login("uid=root,dc=x", "root", Role::Admin, &Scope::all())
            .unwrap();
        assert!(matches!(
            s.set_role("ann", Role::Viewer),
            Err(StoreError::LastAdmin(_))
        ));
    }

    #[test]
    fn codes_steps_and_recovery_codes_are_used_once() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Admin, "a long password").unwrap();
        let id = s.user("ann").unwrap().unwrap().id;
        assert!(!s.totp_confirm(id, 5, &[]).unwrap(), "nothing pending");
        s.totp_begin(id, "SECRET").unwrap();
        assert!(!s.user("ann").unwrap().unwrap().totp);
        s.totp_confirm(id, 10, &[vec![1; 32], vec![2; 32]]).unwrap();
        let st = s.totp_state(id).unwrap();
        assert_eq!(st.secret.as_deref(), Some("SECRET"));
        assert_eq!((st.pending, st.last_step, st.recovery_left), (None, 10, 2));
        assert!(s.user("ann").unwrap().unwrap().totp);
        assert!(!s.totp_use_step(id, 10).unwrap());
        assert!(s.totp_use_step(id, 11).unwrap());
        assert!(!s.totp_use_step(id, 11).unwrap());
        assert!(s.use_recovery_code(id, &[1; 32]).unwrap());
        assert!(!s.use_recovery_code(id, &[1; 32]).unwrap());
        let t = s.create_session(id, urbackup_fleet::unix_now()).unwrap();
        s.totp_reset("ann").unwrap();
        assert!(!s.user("ann").unwrap().unwrap().totp);
        assert_eq!(s.totp_state(id).unwrap().recovery_left, 0);
        assert!(s.session(&t, urbackup_fleet::unix_now()).unwrap().is_none());
    }

    #[test]
    fn pending_logins_expire_and_run_out_of_tries() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Admin, "a long password").unwrap();
        let id = s.user("ann").unwrap().unwrap().id;
        let t0 = 1_000_000;
        let t = s.pending_login(id, t0, true, "/servers").unwrap();
        let p = s.pending(&t, t0 + 1).unwrap().unwrap();
        assert_eq!(
            (p.user.name.as_str(), p.remember, p.next.as_str()),
            ("ann", true, "/servers")
        );
        assert!(s
            .pending(&t, t0 + PENDING_LOGIN_SECS + 1)
            .unwrap()
            .is_none());
        assert!(s.pending("other", t0).unwrap().is_none());
        assert!(!s.pending_failed(&t).unwrap());
        assert!(!s.pending_failed(&t).unwrap());
        assert!(s.pending_failed(&t).unwrap());
        assert!(s.pending(&t, t0 + 1).unwrap().is_none());
    }

    #[test]
    fn sessions_are_listed_and_ended_by_their_public_id() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Admin, "a long password").unwrap();
        let id = s.user("ann").unwrap().unwrap().id;
        let now = urbackup_fleet::unix_now();
        let t = s.create_session_from(id, now, "192.0.2.7").unwrap();
        let list = s.sessions(now).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].user.as_str(), list[0].addr.as_str()),
            ("ann", "192.0.2.7")
        );
        assert_eq!(list[0].public_id.len(), 16);
        assert!(!t.contains(&list[0].public_id));
        assert_eq!(
            s.end_session_by("ann", &list[0].public_id)
                .unwrap()
                .as_deref(),
            Some("ann")
        );
        assert!(s.session(&t, now).unwrap().is_none());
        assert_eq!(s.end_session_by("ann", &list[0].public_id).unwrap(), None);
    }
}
