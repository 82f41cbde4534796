//! The console's SQLite database: users and sessions, and the history the console has seen
//! (clients, backups, durations, error logs, actions taken).
//!
//! One connection behind a mutex, used from blocking threads (`spawn_blocking`) or from the
//! history writer's thread; WAL mode, so that a reader of another process (a backup of the
//! file) never blocks it. The schema is versioned by the migrations in `migrations/`.

use crate::auth::{self, Role};
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The schema's migrations, in order (`migrations/NNNN_*.sql`).
const MIGRATIONS: &[M<'static>] = &[M::up(include_str!("../migrations/0001_init.sql"))];

/// A session ends after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 8 * 3600;
/// A session ends this long after the login, used or not.
pub const SESSION_MAX_SECS: i64 = 7 * 24 * 3600;

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("console database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("console database: migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The file or its folder could not be created.
    #[error("console database {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A user of that name exists.
    #[error("a console user named `{0}` exists already")]
    UserExists(String),
    /// No user of that name.
    #[error("no console user named `{0}`")]
    UnknownUser(String),
    /// The change would leave no administrator.
    #[error("`{0}` is the last admin: add another admin first")]
    LastAdmin(String),
    /// A user name or password the console does not accept.
    #[error("{0}")]
    Invalid(String),
}

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
}

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Its user.
    pub user: UserInfo,
    /// The CSRF token its forms carry.
    pub csrf: String,
    /// SHA-256 of the cookie's token (its key).
    pub token_hash: Vec<u8>,
}

/// A message for the next page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// Success (else failure).
    pub ok: bool,
    /// What to say.
    pub text: String,
}

/// One backup as the console keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRow {
    /// `file` or `image`.
    pub image: bool,
    /// The server's backup id.
    pub id: i64,
    /// Unix time it started.
    pub time: i64,
    /// Size as the server reports it (-1: not calculated).
    pub size_bytes: i64,
    /// 0: full.
    pub incremental: i64,
    /// Seconds, when the server said.
    pub duration: Option<i64>,
    /// The server no longer lists it.
    pub gone: bool,
}

/// One error log as the console keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// The server's log id.
    pub id: i64,
    /// Unix time.
    pub time: i64,
    /// Error count.
    pub errors: i64,
    /// Warning count.
    pub warnings: i64,
    /// Of an image backup.
    pub image: bool,
    /// Of an incremental backup.
    pub incremental: bool,
    /// Of a restore.
    pub restore: bool,
    /// Error and warning lines: (level: 2 error, 1 warning), time, text.
    pub lines: Vec<(i64, i64, String)>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Unix time.
    pub time: i64,
    /// The console user.
    pub user: String,
    /// What (e.g. `start incr_file`).
    pub action: String,
    /// The server confirmed it.
    pub ok: bool,
    /// The outcome in words.
    pub detail: String,
}

/// What the history writer records (the poller's observations, stored in batches).
#[derive(Debug)]
pub enum Record {
    /// The clients of a `status` reply.
    Clients {
        /// Server name.
        server: String,
        /// Unix time.
        at: i64,
        /// (id, name).
        clients: Vec<(i64, String)>,
    },
    /// A client's backup lists.
    Backups {
        /// Server name.
        server: String,
        /// Unix time.
        at: i64,
        /// Client id.
        clientid: i64,
        /// Client name.
        name: String,
        /// The client's last file and image backup times in `status` when they were read.
        seen: (i64, i64),
        /// (image, id, time, size, incremental).
        entries: Vec<(bool, i64, i64, i64, i64)>,
    },
    /// Durations of finished backups: (clientid, image, backup id, seconds).
    Durations {
        /// Server name.
        server: String,
        /// The durations.
        durations: Vec<(i64, bool, i64, i64)>,
    },
    /// An error log.
    Log {
        /// Server name.
        server: String,
        /// The log.
        log: LogRow,
        /// Its client's name.
        clientname: String,
    },
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn kind_str(image: bool) -> &'static str {
    if image {
        "image"
    } else {
        "file"
    }
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

fn valid_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < auth::MIN_PASSWORD_LEN {
        return Err(StoreError::Invalid(format!(
            "the password is too short: at least {} characters",
            auth::MIN_PASSWORD_LEN
        )));
    }
    Ok(())
}

impl Store {
    /// Opens (creating it and its folder if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: path.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        // The file holds password hashes and session keys: owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Store::setup(conn, Some(path.to_owned()))
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::setup(Connection::open_in_memory()?, None)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The schema version (SQLite's `user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    // ---- users ----------------------------------------------------------------------------

    /// Adds a user.
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), StoreError> {
        valid_name(name)?;
        valid_password(password)?;
        let hash = auth::hash_password(password).map_err(StoreError::Invalid)?;
        let now = urbackup_fleet::unix_now();
        let r = self.conn().execute(
            "INSERT INTO users (name, role, password_hash, created, password_changed) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role.as_str(), hash, now],
        );
        match r {
            Ok(_) => Ok(()),
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
        let mut stmt = conn
            .prepare("SELECT id, name, role, created, password_changed FROM users ORDER BY name")?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The number of users.
    pub fn user_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    fn admins_besides(conn: &Connection, name: &str) -> Result<i64, StoreError> {
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND name <> ?1",
            [name],
            |r| r.get(0),
        )?)
    }

    fn role_of(conn: &Connection, name: &str) -> Result<Role, StoreError> {
        let role: Option<String> = conn
            .query_row("SELECT role FROM users WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        role.ok_or_else(|| StoreError::UnknownUser(name.to_owned()))?
            .parse()
            .map_err(StoreError::Invalid)
    }

    /// Removes a user and their sessions. The last admin cannot be removed.
    pub fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        if Store::role_of(&conn, name)? == Role::Admin && Store::admins_besides(&conn, name)? == 0 {
            return Err(StoreError::LastAdmin(name.to_owned()));
        }
        conn.execute("DELETE FROM users WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Changes a user's role. The last admin keeps theirs.
    pub fn set_role(&self, name: &str, role: Role) -> Result<(), StoreError> {
        let conn = self.conn();
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
        Ok(())
    }

    /// Sets a user's password and ends all their sessions.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        valid_password(password)?;
        let hash = auth::hash_password(password).map_err(StoreError::Invalid)?;
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE users SET password_hash = ?2, password_changed = ?3 WHERE name = ?1",
            params![name, hash, urbackup_fleet::unix_now()],
        )?;
        if n == 0 {
            return Err(StoreError::UnknownUser(name.to_owned()));
        }
        conn.execute(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
            [name],
        )?;
        Ok(())
    }

    /// The user when `password` is theirs. Takes as long for an unknown user (the hash of a
    /// dummy is verified instead).
    pub fn check_login(&self, name: &str, password: &str) -> Result<Option<UserInfo>, StoreError> {
        let found: Option<(UserInfo, String)> = self
            .conn()
            .query_row(
                "SELECT id, name, role, created, password_changed, password_hash FROM users WHERE name = ?1",
                [name],
                |r| Ok((user_row(r)?, r.get(5)?)),
            )
            .optional()?;
        // Verified without the lock held: Argon2 takes tens of milliseconds.
        Ok(match found {
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
        let token = auth::random_token();
        let conn = self.conn();
        conn.execute(
            "DELETE FROM sessions WHERE last_seen < ?1 OR created < ?2",
            params![now - SESSION_IDLE_SECS, now - SESSION_MAX_SECS],
        )?;
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, created, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![auth::token_hash(&token), user_id, auth::random_token(), now],
        )?;
        Ok(token)
    }

    /// The live session of this cookie token (and marks it used at `now`).
    pub fn session(&self, token: &str, now: i64) -> Result<Option<SessionInfo>, StoreError> {
        let hash = auth::token_hash(token);
        let conn = self.conn();
        let found = conn
            .query_row(
                "SELECT u.id, u.name, u.role, u.created, u.password_changed, s.csrf, s.last_seen, s.created
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
                [&hash],
                |r| Ok((user_row(r)?, r.get::<_, String>(5)?, r.get::<_, i64>(6)?, r.get::<_, i64>(7)?)),
            )
            .optional()?;
        let Some((user, csrf, last_seen, created)) = found else {
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
        }))
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

    // ---- history --------------------------------------------------------------------------

    /// Records a batch, in one transaction.
    pub fn record(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for r in batch {
            match r {
                Record::Clients {
                    server,
                    at,
                    clients,
                } => {
                    let mut up = tx.prepare_cached(
                        "INSERT INTO clients (server, clientid, name, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
                         ON CONFLICT (server, clientid) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen",
                    )?;
                    for (id, name) in clients {
                        up.execute(params![server, id, name, at])?;
                    }
                }
                Record::Backups {
                    server,
                    at,
                    clientid,
                    name,
                    seen,
                    entries,
                } => {
                    tx.prepare_cached(
                        "INSERT INTO clients (server, clientid, name, first_seen, last_seen, lists_file, lists_image) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)
                         ON CONFLICT (server, clientid) DO UPDATE SET lists_file = excluded.lists_file, lists_image = excluded.lists_image",
                    )?
                    .execute(params![server, clientid, name, at, seen.0, seen.1])?;
                    let mut up = tx.prepare_cached(
                        "INSERT INTO backups (server, clientid, kind, backupid, backuptime, size_bytes, incremental, first_listed, last_listed)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                         ON CONFLICT (server, clientid, kind, backupid) DO UPDATE SET
                           backuptime = excluded.backuptime, size_bytes = excluded.size_bytes,
                           incremental = excluded.incremental, last_listed = excluded.last_listed",
                    )?;
                    for (image, id, time, size, incr) in entries {
                        up.execute(params![
                            server,
                            clientid,
                            kind_str(*image),
                            id,
                            time,
                            size,
                            incr,
                            at
                        ])?;
                    }
                }
                Record::Durations { server, durations } => {
                    let mut up = tx.prepare_cached(
                        "INSERT OR REPLACE INTO durations (server, clientid, kind, backupid, duration) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for (clientid, image, id, secs) in durations {
                        up.execute(params![server, clientid, kind_str(*image), id, secs])?;
                    }
                }
                Record::Log {
                    server,
                    log,
                    clientname,
                } => {
                    let lines = serde_json::to_string(&log.lines).unwrap_or_else(|_| "[]".into());
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO logs (server, logid, clientname, time, errors, warnings, image, incremental, restore, lines)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )?
                    .execute(params![
                        server,
                        log.id,
                        clientname,
                        log.time,
                        log.errors,
                        log.warnings,
                        log.image,
                        log.incremental,
                        log.restore,
                        lines
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What the poller of `server` needs from an earlier run: the clients whose backup lists
    /// were read, with the last backup times they were read at, and the error logs read.
    #[allow(clippy::type_complexity)]
    pub fn seeds(&self, server: &str) -> Result<(Vec<(i64, (i64, i64))>, Vec<i64>), StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT clientid, lists_file, lists_image FROM clients WHERE server = ?1 AND lists_file IS NOT NULL",
        )?;
        let seen = stmt
            .query_map([server], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare("SELECT logid FROM logs WHERE server = ?1")?;
        let logs = stmt
            .query_map([server], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((seen, logs))
    }

    /// When the console first saw the client (`None`: never).
    pub fn first_seen(&self, server: &str, clientid: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT first_seen FROM clients WHERE server = ?1 AND clientid = ?2",
                params![server, clientid],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every backup of a client the console has seen, oldest first.
    pub fn backups(&self, server: &str, clientid: i64) -> Result<Vec<BackupRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT b.kind, b.backupid, b.backuptime, b.size_bytes, b.incremental, d.duration,
                    b.last_listed < (SELECT MAX(last_listed) FROM backups m
                                      WHERE m.server = b.server AND m.clientid = b.clientid)
             FROM backups b LEFT JOIN durations d
               ON d.server = b.server AND d.clientid = b.clientid AND d.kind = b.kind AND d.backupid = b.backupid
             WHERE b.server = ?1 AND b.clientid = ?2
             ORDER BY b.backuptime, b.backupid",
        )?;
        let rows = stmt.query_map(params![server, clientid], |r| {
            Ok(BackupRow {
                image: r.get::<_, String>(0)? == "image",
                id: r.get(1)?,
                time: r.get(2)?,
                size_bytes: r.get(3)?,
                incremental: r.get(4)?,
                duration: r.get(5)?,
                gone: r.get::<_, Option<bool>>(6)?.unwrap_or(false),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The newest error logs of a client (by name), newest first.
    pub fn logs(
        &self,
        server: &str,
        clientname: &str,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT logid, time, errors, warnings, image, incremental, restore, lines FROM logs
             WHERE server = ?1 AND clientname = ?2 ORDER BY time DESC, logid DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![server, clientname, limit as i64], |r| {
            let lines: String = r.get(7)?;
            Ok(LogRow {
                id: r.get(0)?,
                time: r.get(1)?,
                errors: r.get(2)?,
                warnings: r.get(3)?,
                image: r.get(4)?,
                incremental: r.get(5)?,
                restore: r.get(6)?,
                lines: serde_json::from_str(&lines).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// For compliance: per (server, client id, image), the times of its backups since
    /// `since` plus the newest one before it, sorted, and when the console first saw each
    /// client.
    pub fn backup_times(&self, since: i64) -> Result<BackupTimes, StoreError> {
        let conn = self.conn();
        let mut out = BackupTimes::default();
        let mut stmt = conn.prepare(
            "SELECT server, clientid, kind, backuptime FROM backups WHERE backuptime >= ?1
             UNION ALL
             SELECT server, clientid, kind, MAX(backuptime) FROM backups WHERE backuptime < ?1
             GROUP BY server, clientid, kind",
        )?;
        let mut rows = stmt.query([since])?;
        while let Some(r) = rows.next()? {
            let key = (
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get::<_, String>(2)? == "image",
            );
            out.times.entry(key).or_default().push(r.get(3)?);
        }
        for v in out.times.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let mut stmt = conn.prepare("SELECT server, clientid, first_seen FROM clients")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.first_seen.insert((r.get(0)?, r.get(1)?), r.get(2)?);
        }
        let mut stmt =
            conn.prepare("SELECT server, clientid, kind, MIN(backuptime) FROM backups GROUP BY server, clientid, kind")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let key = (
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get::<_, String>(2)? == "image",
            );
            out.oldest.insert(key, r.get(3)?);
        }
        Ok(out)
    }

    // ---- audit ----------------------------------------------------------------------------

    /// Records what a console user did and how it ended.
    pub fn audit(
        &self,
        user: &str,
        server: &str,
        clientid: Option<i64>,
        action: &str,
        ok: bool,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO audit (time, user, server, clientid, action, ok, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![urbackup_fleet::unix_now(), user, server, clientid, action, ok, detail],
        )?;
        Ok(())
    }

    /// The newest audit entries about a client.
    pub fn client_audit(
        &self,
        server: &str,
        clientid: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT time, user, action, ok, detail FROM audit WHERE server = ?1 AND clientid = ?2
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![server, clientid, limit as i64], |r| {
            Ok(AuditRow {
                time: r.get(0)?,
                user: r.get(1)?,
                action: r.get(2)?,
                ok: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Inputs of the compliance computation (see [`Store::backup_times`]).
#[derive(Debug, Default)]
pub struct BackupTimes {
    /// Sorted backup times per (server, client id, image).
    pub times: std::collections::HashMap<(String, i64, bool), Vec<i64>>,
    /// The oldest backup ever seen per (server, client id, image).
    pub oldest: std::collections::HashMap<(String, i64, bool), i64>,
    /// When the console first saw each (server, client id).
    pub first_seen: std::collections::HashMap<(String, i64), i64>,
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserInfo> {
    let role: String = r.get(2)?;
    Ok(UserInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        role: role.parse().unwrap_or(Role::Viewer),
        created: r.get(3)?,
        password_changed: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid_and_versioned() {
        assert!(Migrations::from_slice(MIGRATIONS).validate().is_ok());
        let s = Store::in_memory().unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn users_roles_and_the_last_admin() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Admin, "a long password").unwrap();
        assert!(matches!(
            s.add_user("ann", Role::Viewer, "another password"),
            Err(StoreError::UserExists(_))
        ));
        assert!(matches!(
            s.add_user("bob", Role::Viewer, "short"),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.add_user("<b>", Role::Viewer, "a long password"),
            Err(StoreError::Invalid(_))
        ));
        s.add_user("bob", Role::Viewer, "bob's password").unwrap();
        assert!(matches!(
            s.remove_user("ann"),
            Err(StoreError::LastAdmin(_))
        ));
        assert!(matches!(
            s.set_role("ann", Role::Operator),
            Err(StoreError::LastAdmin(_))
        ));
        s.set_role("bob", Role::Admin).unwrap();
        s.remove_user("ann").unwrap();
        assert_eq!(s.users().unwrap().len(), 1);
        assert!(matches!(
            s.remove_user("ann"),
            Err(StoreError::UnknownUser(_))
        ));
        assert!(s.check_login("bob", "bob's password").unwrap().is_some());
        assert!(s.check_login("bob", "wrong password").unwrap().is_none());
        assert!(s.check_login("nobody", "bob's password").unwrap().is_none());
    }

    #[test]
    fn sessions_expire_and_end_with_a_new_password() {
        let s = Store::in_memory().unwrap();
        s.add_user("ann", Role::Operator, "a long password")
            .unwrap();
        let user = s.check_login("ann", "a long password").unwrap().unwrap();
        let t0 = 1_000_000;
        let token = s.create_session(user.id, t0).unwrap();
        let live = s.session(&token, t0 + 10).unwrap().unwrap();
        assert_eq!(live.user.name, "ann");
        assert!(s.session("not a token", t0).unwrap().is_none());
        // Idle too long.
        assert!(s
            .session(&token, t0 + 10 + SESSION_IDLE_SECS + 1)
            .unwrap()
            .is_none());
        let token = s.create_session(user.id, t0).unwrap();
        s.set_flash(
            &auth::token_hash(&token),
            &Flash {
                ok: true,
                text: "hi".into(),
            },
        )
        .unwrap();
        assert_eq!(
            s.take_flash(&auth::token_hash(&token))
                .unwrap()
                .unwrap()
                .text,
            "hi"
        );
        assert!(s.take_flash(&auth::token_hash(&token)).unwrap().is_none());
        s.set_password("ann", "another long one").unwrap();
        assert!(s.session(&token, t0 + 1).unwrap().is_none());
    }

    #[test]
    fn history_keeps_backups_the_server_dropped() {
        let s = Store::in_memory().unwrap();
        let rec = |at, entries: Vec<(bool, i64, i64, i64, i64)>| Record::Backups {
            server: "a".into(),
            at,
            clientid: 1,
            name: "pc".into(),
            seen: (at, 0),
            entries,
        };
        s.record(&[
            rec(100, vec![(false, 1, 50, 10, 0), (false, 2, 90, 5, 1)]),
            Record::Durations {
                server: "a".into(),
                durations: vec![(1, false, 2, 33)],
            },
        ])
        .unwrap();
        // The server deleted backup 1 and made backup 3.
        s.record(&[rec(200, vec![(false, 2, 90, 5, 1), (false, 3, 190, 7, 1)])])
            .unwrap();
        let rows = s.backups("a", 1).unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(rows[0].gone && !rows[1].gone && !rows[2].gone);
        assert_eq!(rows[1].duration, Some(33));
        let (seen, logs) = s.seeds("a").unwrap();
        assert_eq!(seen, vec![(1, (200, 0))]);
        assert!(logs.is_empty());
        let t = s.backup_times(95).unwrap();
        // 50 and 90 are before 95: only the newest of them (90) is kept, then 190.
        assert_eq!(t.times[&("a".to_string(), 1, false)], vec![90, 190]);
        assert_eq!(t.oldest[&("a".to_string(), 1, false)], 50);
    }
}
