//! The audit trail: what console users did, and how it ended.

use super::{Store, StoreError};
use rusqlite::params;

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

impl Store {
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
        let rows = stmt.query_map(params![server, clientid, limit as i64], audit_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Records a change to the console's users (server `""`: the console itself).
    pub(crate) fn audit_users(
        &self,
        by: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.audit(by, "", None, action, true, detail)
    }

    /// The newest changes to the console's users.
    pub fn users_audit(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT time, user, action, ok, detail FROM audit WHERE server = '' AND action LIKE 'user.%'
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], audit_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// An audit row from `SELECT time, user, action, ok, detail`.
fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        time: r.get(0)?,
        user: r.get(1)?,
        action: r.get(2)?,
        ok: r.get(3)?,
        detail: r.get(4)?,
    })
}
