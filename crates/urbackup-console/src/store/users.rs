//! Console users, their sessions and the messages a session carries to its next page.

use super::{Store, StoreError};
use crate::auth::{self, Role, Scope};
use rusqlite::{params, Connection, OptionalExtension};

/// A session ends after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 8 * 3600;
/// A session ends this long after the login, used or not.
pub const SESSION_MAX_SECS: i64 = 7 * 24 * 3600;

/// A console user as listed (never with the hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Unix time of creation.
    pub created: i64,
    /// Unix time of the last password change.
    pub password_changed: i64,
    /// Where the password is checked.
    pub source: UserSource,
    /// What the user may see (admins: always everything).
    pub scope: Scope,
    /// The user has a second factor (TOTP).
    pub totp: bool,
}

/// Where a console user's password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    /// Here: an Argon2id hash in the database.
    Local,
    /// In the directory (LDAP); the role and scope are copied from its groups at each login.
    Directory,
}

impl UserSource {
    /// `local` or `directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::Local => "local",
            UserSource::Directory => "directory",
        }
    }
}

/// The columns [`user_row`] reads, from `users u`.
pub(super) const USER_COLUMNS: &str = "u.id, u.name, u.role, u.created, u.password_changed, u.source, u.scope_servers, u.scope_groups, u.totp_secret IS NOT NULL";

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Its user.
    pub user: UserInfo,
    /// The CSRF token its forms carry.
    pub csrf: String,
    /// SHA-256 of the cookie's token (its key).
    pub token_hash: Vec<u8>,
    /// The id the sessions page ends it by.
    pub public_id: String,
}

/// A message for the next page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// Success (else failure).
    pub ok: bool,
    /// What to say.
    pub text: String,
}

fn valid_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid user name `{}`: 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
            name.escape_debug()
        )))
    }
}

/// Who changes users from outside the web pages (`urbackup console user ...`), as the audit
/// trail names them.
pub const COMMAND_LINE: &str = "(command line)";

/// Checks a new user's name and password (the password rule: [`auth::check_new_password`]).
pub fn check_new_user(name: &str, password: &str) -> Result<(), StoreError> {
    valid_name(name)?;
    auth::check_new_password(name, password).map_err(StoreError::Invalid)
}

fn hash(password: &str) -> Result<String, StoreError> {
    auth::hash_password(password).map_err(StoreError::Invalid)
}

impl Store {
    /// Adds a user (from the command line: see [`Store::add_user_hashed`]).
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), StoreError> {
        check_new_user(name, password)?;
        self.add_user_hashed(COMMAND_LINE, name, role, &hash(password)?)
    }

    /// Adds a user whose password ([`check_new_user`]) is already hashed; `by` is who did it,
    /// for the audit trail.
    pub fn add_user_hashed(
        &self,
        by: &str,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        valid_name(name)?;
        let now = urbackup_fleet::unix_now();
        let r = self.conn().execute(
            "INSERT INTO users (name, role, password_hash, created, password_changed) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role.as_str(), password_hash, now],
        );
        match r {
            Ok(_) => self.audit_users(
                by,
                "user.add",
                &format!("added console user {name} as {role}"),
            ),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::UserExists(name.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        ))?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The number of users.
    pub fn user_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    /// Local admins other than `name` (a directory admin does not count: the directory may
    /// go away, and local admins are the ones the command line can always reach).
    pub(super) fn admins_besides(conn: &Connection, name: &str) -> Result<i64, StoreError> {
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND source = 'local' AND name <> ?1",
            [name],
            |r| r.get(0),
        )?)
    }

    pub(super) fn role_of(conn: &Connection, name: &str) -> Result<Role, StoreError> {
        let role: Option<String> = conn
            .query_row("SELECT role FROM users WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        role.ok_or_else(|| StoreError::UnknownUser(name.to_owned()))?
            .parse()
            .map_err(StoreError::Invalid)
    }

    /// Removes a user and their sessions (from the command line). The last admin cannot be
    /// removed.
    pub fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        self.remove_user_by(COMMAND_LINE, name)
    }

    /// Removes a user and their sessions; `by` is who did it.
    pub fn remove_user_by(&self, by: &str, name: &str) -> Result<(), StoreError> {
        {
            let conn = self.conn();
            if Store::role_of(&conn, name)? == Role::Admin
                && Store::admins_besides(&conn, name)? == 0
            {
                return Err(StoreError::LastAdmin(name.to_owned()));
            }
            conn.execute("DELETE FROM users WHERE name = ?1", [name])?;
        }
        self.audit_users(by, "user.remove", &format!("removed console user {name}"))
    }

    /// Changes a user's role (from the command line). The last admin keeps theirs.
    pub fn set_role(&self, name: &str, role: Role) -> Result<(), StoreError> {
        self.set_role_by(COMMAND_LINE, name, role)
    }

    /// Changes a user's role; `by` is who did it.
    pub fn set_role_by(&self, by: &str, name: &str, role: Role) -> Result<(), StoreError> {
        let conn = self.conn();
        Store::refuse_directory(&conn, name, "role")?;
        if role != Role::Admin
            && Store::role_of(&conn, name)? == Role::Admin
            && Store::admins_besides(&conn, name)? == 0
        {
            return Err(StoreError::LastAdmin(name.to_owned()));
        }
        let n = conn.execute(
            "UPDATE users SET role = ?2 WHERE name = ?1",
            params![name, role.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::UnknownUser(name.to_owned()));
        }
        drop(conn);
        self.audit_users(by, "user.role", &format!("made console user {name} {role}"))
    }

    /// Sets a user's password and ends all their sessions (from the command line).
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        auth::check_new_password(name, password).map_err(StoreError::Invalid)?;
        self.set_password_hashed(COMMAND_LINE, name, &hash(password)?)
            .map(|_| ())
    }

    /// Sets a user's password, already hashed, and ends all their sessions; `by` is who did
    /// it. Returns the number of sessions ended.
    pub fn set_password_hashed(
        &self,
        by: &str,
        name: &str,
        password_hash: &str,
    ) -> Result<usize, StoreError> {
        let ended = {
            let conn = self.conn();
            Store::refuse_directory(&conn, name, "password")?;
            let n = conn.execute(
                "UPDATE users SET password_hash = ?2, password_changed = ?3 WHERE name = ?1",
                params![name, password_hash, urbackup_fleet::unix_now()],
            )?;
            if n == 0 {
                return Err(StoreError::UnknownUser(name.to_owned()));
            }
            conn.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
                [name],
            )?
        };
        self.audit_users(
            by,
            "user.password",
            &format!("set the password of console user {name} (sessions ended: {ended})"),
        )?;
        Ok(ended)
    }

    /// A local user and their password hash, for a login (the hash is verified by the caller,
    /// on the bounded [`auth::Hasher`], without the database's lock). Directory users have
    /// none: `None` for them too.
    pub fn login_hash(&self, name: &str) -> Result<Option<(UserInfo, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = ?1 AND u.source = 'local'"),
                [name],
                |r| Ok((user_row(r)?, r.get(9)?)),
            )
            .optional()?)
    }

    /// The user when `password` is theirs (verified on this thread). Takes as long for an
    /// unknown user (the hash of a dummy is verified instead).
    pub fn check_login(&self, name: &str, password: &str) -> Result<Option<UserInfo>, StoreError> {
        Ok(match self.login_hash(name)? {
            Some((user, hash)) => auth::verify_password(password, &hash).then_some(user),
            None => {
                auth::verify_password(password, auth::dummy_hash());
                None
            }
        })
    }

    // ---- sessions -------------------------------------------------------------------------

    /// Starts a session for user `user_id`; returns the cookie's token.
    pub fn create_session(&self, user_id: i64, now: i64) -> Result<String, StoreError> {
        self.create_session_from(user_id, now, "")
    }

    /// Starts a session for user `user_id` logged in from `addr` (shown on the sessions
    /// page); returns the cookie's token.
    pub fn create_session_from(
        &self,
        user_id: i64,
        now: i64,
        addr: &str,
    ) -> Result<String, StoreError> {
        let token = auth::random_token();
        let conn = self.conn();
        conn.execute(
            "DELETE FROM sessions WHERE last_seen < ?1 OR created < ?2",
            params![now - SESSION_IDLE_SECS, now - SESSION_MAX_SECS],
        )?;
        let public_id = &auth::random_token()[..16];
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, created, last_seen, public_id, addr) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            params![auth::token_hash(&token), user_id, auth::random_token(), now, public_id, addr],
        )?;
        Ok(token)
    }

    /// The live session of this cookie token (and marks it used at `now`).
    pub fn session(&self, token: &str, now: i64) -> Result<Option<SessionInfo>, StoreError> {
        let hash = auth::token_hash(token);
        let conn = self.conn();
        let found = conn
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS}, s.csrf, s.last_seen, s.created, s.public_id
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
                ),
                [&hash],
                |r| {
                    Ok((
                        user_row(r)?,
                        r.get::<_, String>(9)?,
                        r.get::<_, i64>(10)?,
                        r.get::<_, i64>(11)?,
                        r.get::<_, Option<String>>(12)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, csrf, last_seen, created, public_id)) = found else {
            return Ok(None);
        };
        if now - last_seen > SESSION_IDLE_SECS || now - created > SESSION_MAX_SECS {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [&hash])?;
            return Ok(None);
        }
        // One write a minute per session at most.
        if now - last_seen >= 60 {
            conn.execute(
                "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1",
                params![&hash, now],
            )?;
        }
        Ok(Some(SessionInfo {
            user,
            csrf,
            token_hash: hash,
            public_id: public_id.unwrap_or_default(),
        }))
    }

    /// Ends the session of a cookie's token, if it is one (a new login replaces it).
    pub fn end_session(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [auth::token_hash(token)],
        )? > 0)
    }

    /// Ends a session.
    pub fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    /// Leaves a message for the session's next page.
    pub fn set_flash(&self, token_hash: &[u8], flash: &Flash) -> Result<(), StoreError> {
        let json = serde_json::to_string(flash).unwrap_or_default();
        self.conn().execute(
            "UPDATE sessions SET flash = ?2 WHERE token_hash = ?1",
            params![token_hash, json],
        )?;
        Ok(())
    }

    /// Takes the session's message, if any.
    pub fn take_flash(&self, token_hash: &[u8]) -> Result<Option<Flash>, StoreError> {
        let conn = self.conn();
        let json: Option<Option<String>> = conn
            .query_row(
                "SELECT flash FROM sessions WHERE token_hash = ?1",
                [token_hash],
                |r| r.get(0),
            )
            .optional()?;
        let Some(Some(json)) = json else {
            return Ok(None);
        };
        conn.execute(
            "UPDATE sessions SET flash = NULL WHERE token_hash = ?1",
            [token_hash],
        )?;
        Ok(serde_json::from_str(&json).ok())
    }
}

/// A user from the columns of [`USER_COLUMNS`]. An admin's scope is every server, whatever
/// is stored.
pub(super) fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserInfo> {
    let role: Role = r.get::<_, String>(2)?.parse().unwrap_or(Role::Viewer);
    let source = match r.get::<_, String>(5)?.as_str() {
        "directory" => UserSource::Directory,
        _ => UserSource::Local,
    };
    let scope = if role == Role::Admin {
        Scope::all()
    } else {
        Scope {
            servers: Scope::from_column(r.get(6)?),
            groups: Scope::from_column(r.get(7)?),
        }
    };
    Ok(UserInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        role,
        created: r.get(3)?,
        password_changed: r.get(4)?,
        source,
        scope,
        totp: r.get(8)?,
    })
}
