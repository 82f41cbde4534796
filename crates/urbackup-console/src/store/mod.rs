//! The console's SQLite database: users and sessions, and the history the console has seen
//! (clients, backups, durations, error logs, actions taken).
//!
//! One connection behind a mutex, used from blocking threads (`spawn_blocking`) or from the
//! history writer's thread; WAL mode, so that a reader of another process (a backup of the
//! file) never blocks it. The schema is versioned by the migrations in `migrations/`.

mod access;
mod audit;
mod history;
mod users;

pub use access::{PendingLogin, SessionRow, TotpState, PENDING_LOGIN_FAILURES, PENDING_LOGIN_SECS};

pub use audit::{AuditEntry, AuditFilter, AuditRow};
pub use history::{BackupRow, BackupTimes, LogRow, Record};
pub use users::{
    check_new_user, Flash, SessionInfo, UserInfo, UserSource, COMMAND_LINE, SESSION_IDLE_SECS,
    SESSION_MAX_SECS,
};

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The schema's migrations, in order (`migrations/NNNN_*.sql`).
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_init.sql")),
    M::up(include_str!("../../migrations/0003_restore_audit.sql")),
    M::up(include_str!(
        "../../migrations/0004_scopes_directory_totp.sql"
    )),
    M::up(include_str!("../../migrations/0005_failed_attempts.sql")),
];

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

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    /// Grows whenever the history records something compliance reads (see
    /// [`Store::compliance_generation`]).
    compliance_generation: std::sync::atomic::AtomicU64,
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
/// Runs a store call on a blocking thread (the async handlers' way to the database).
pub async fn blocking<T: Send + 'static>(
    store: &std::sync::Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::Invalid(format!("database task failed: {e}"))),
    }
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
            compliance_generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A number that grows whenever the history records what compliance reads: backups,
    /// failed verdicts, logs of failed backups (so a cached computation knows it is stale).
    pub fn compliance_generation(&self) -> u64 {
        self.compliance_generation
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn compliance_changed(&self) {
        self.compliance_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The schema version (SQLite's `user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{self, Role};

    #[test]
    fn migrations_are_valid_and_versioned() {
        assert!(Migrations::from_slice(MIGRATIONS).validate().is_ok());
        let s = Store::in_memory().unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn logs_stored_before_the_failed_column_are_judged_by_their_lines() {
        let mut conn = Connection::open_in_memory().unwrap();
        let m = Migrations::from_slice(MIGRATIONS);
        m.to_version(&mut conn, 1).unwrap();
        for (id, restore, lines) in [
            (1, 0, r#"[[2,10,"Backup failed"]]"#),
            (2, 0, r#"[[2,10,"Cannot read file x"]]"#),
            (3, 1, r#"[[2,10,"Backup failed"]]"#),
        ] {
            conn.execute(
                "INSERT INTO logs (server, logid, clientname, time, errors, warnings, image, incremental, restore, lines)
                 VALUES ('a', ?1, 'pc', 10, 1, 0, 0, 1, ?2, ?3)",
                rusqlite::params![id, restore, lines],
            )
            .unwrap();
        }
        m.to_latest(&mut conn).unwrap();
        let failed: Vec<i64> = conn
            .prepare("SELECT logid FROM logs WHERE failed = 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(failed, vec![1]);
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
        // What compliance reads changed twice (two batches of backups); a poll that only
        // sees the clients changes nothing of it, a failed verdict does, once.
        assert_eq!(s.compliance_generation(), 2);
        let clients = |failed: Vec<(i64, bool, i64)>| Record::Clients {
            server: "a".into(),
            at: 300,
            clients: vec![(1, "pc".into())],
            failed,
        };
        s.record(&[clients(Vec::new())]).unwrap();
        assert_eq!(s.compliance_generation(), 2);
        s.record(&[clients(vec![(1, false, 190)])]).unwrap();
        s.record(&[clients(vec![(1, false, 190)])]).unwrap();
        assert_eq!(s.compliance_generation(), 3);
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
