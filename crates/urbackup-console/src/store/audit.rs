//! The audit trail: what console users did, and how it ended.

use super::{Store, StoreError};
use rusqlite::params;
use rusqlite::types::Value as SqlValue;

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its id.
    pub id: i64,
    /// Unix time.
    pub time: i64,
    /// The console user.
    pub user: String,
    /// The server (its name in the console).
    pub server: String,
    /// The client, when it was about one.
    pub clientid: Option<i64>,
    /// What, in words (e.g. `downloaded a file`; older rows: `start incr_file`).
    pub action: String,
    /// The server confirmed it.
    pub ok: bool,
    /// The outcome in words.
    pub detail: String,
    /// The backup it was about.
    pub backupid: Option<i64>,
    /// The path in the backup it was about.
    pub path: Option<String>,
    /// Bytes sent (downloads).
    pub bytes: Option<i64>,
    /// How it ended: `ok`, `failed`, `running`, `broken off`, `cancelled`, `refused` (`None`
    /// for rows of actions that record only `ok`).
    pub outcome: Option<String>,
}

impl AuditRow {
    /// The outcome as a word: the recorded one, else done or failed.
    pub fn outcome_word(&self) -> &str {
        match (&self.outcome, self.ok) {
            (Some(o), _) => o,
            (None, true) => "done",
            (None, false) => "failed",
        }
    }
}

/// A new entry of the audit trail with its structured fields.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    /// The console user.
    pub user: &'a str,
    /// The server.
    pub server: &'a str,
    /// The client.
    pub clientid: Option<i64>,
    /// The backup.
    pub backupid: Option<i64>,
    /// The path in the backup.
    pub path: Option<&'a str>,
    /// What, in plain words.
    pub action: &'a str,
    /// The server confirmed it.
    pub ok: bool,
    /// How it ended (see [`AuditRow::outcome`]).
    pub outcome: &'a str,
    /// The outcome in words.
    pub detail: &'a str,
    /// Bytes sent.
    pub bytes: Option<i64>,
}

/// Which audit entries to list ([`Store::audit_rows`]); empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this user.
    pub user: Option<String>,
    /// Exactly this server.
    pub server: Option<String>,
    /// Exactly this client id.
    pub clientid: Option<i64>,
    /// The action contains this text.
    pub action: Option<String>,
    /// At or after this time.
    pub since: Option<i64>,
    /// Before this time.
    pub until: Option<i64>,
}

const COLUMNS: &str =
    "id, time, user, server, clientid, action, ok, detail, backupid, path, bytes, outcome";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        time: r.get(1)?,
        user: r.get(2)?,
        server: r.get(3)?,
        clientid: r.get(4)?,
        action: r.get(5)?,
        ok: r.get(6)?,
        detail: r.get(7)?,
        backupid: r.get(8)?,
        path: r.get(9)?,
        bytes: r.get(10)?,
        outcome: r.get(11)?,
    })
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
        self.audit_entry(&AuditEntry {
            user,
            server,
            clientid,
            action,
            ok,
            outcome: if ok { "done" } else { "failed" },
            detail,
            ..AuditEntry::default()
        })
        .map(drop)
    }

    /// Records an entry with its structured fields; returns its id (to record how it ended
    /// with [`Store::audit_finish`]).
    pub fn audit_entry(&self, e: &AuditEntry<'_>) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO audit (time, user, server, clientid, action, ok, detail, backupid, path, bytes, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                urbackup_fleet::unix_now(),
                e.user,
                e.server,
                e.clientid,
                e.action,
                e.ok,
                e.detail,
                e.backupid,
                e.path,
                e.bytes,
                e.outcome
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Records how an entry made by [`Store::audit_entry`] ended.
    pub fn audit_finish(
        &self,
        id: i64,
        ok: bool,
        outcome: &str,
        detail: &str,
        bytes: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE audit SET ok = ?2, outcome = ?3, detail = ?4, bytes = COALESCE(?5, bytes) WHERE id = ?1",
            params![id, ok, outcome, detail, bytes],
        )?;
        Ok(())
    }

    /// Whether `user` did `action` on this backup since `since` (a browse of a backup is
    /// recorded once a day per user).
    pub fn audit_seen(
        &self,
        user: &str,
        server: &str,
        clientid: i64,
        backupid: i64,
        action: &str,
        since: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM audit WHERE server = ?1 AND clientid = ?2 AND backupid = ?3
               AND user = ?4 AND action = ?5 AND time >= ?6)",
            params![server, clientid, backupid, user, action, since],
            |r| r.get(0),
        )?)
    }

    /// One entry.
    pub fn audit_get(&self, id: i64) -> Result<Option<AuditRow>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM audit WHERE id = ?1"))?;
        let mut rows = stmt.query_map(params![id], row)?;
        Ok(rows.next().transpose()?)
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
        self.audit_rows(
            &AuditFilter {
                server: Some(String::new()),
                action: Some("user.".into()),
                ..AuditFilter::default()
            },
            limit,
            0,
        )
    }

    /// The newest audit entries about a client.
    pub fn client_audit(
        &self,
        server: &str,
        clientid: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_rows(
            &AuditFilter {
                server: Some(server.to_owned()),
                clientid: Some(clientid),
                ..AuditFilter::default()
            },
            limit,
            0,
        )
    }

    /// Audit entries matching `filter`, newest first: `limit` of them after skipping
    /// `offset`.
    pub fn audit_rows(
        &self,
        filter: &AuditFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut wheres = Vec::new();
        let mut args: Vec<SqlValue> = Vec::new();
        let mut add = |clause: &str, v: SqlValue| {
            args.push(v);
            wheres.push(clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(u) = &filter.user {
            add("user = ?", SqlValue::Text(u.clone()));
        }
        if let Some(s) = &filter.server {
            add("server = ?", SqlValue::Text(s.clone()));
        }
        if let Some(c) = filter.clientid {
            add("clientid = ?", SqlValue::Integer(c));
        }
        if let Some(a) = &filter.action {
            add("instr(action, ?) > 0", SqlValue::Text(a.clone()));
        }
        if let Some(t) = filter.since {
            add("time >= ?", SqlValue::Integer(t));
        }
        if let Some(t) = filter.until {
            add("time < ?", SqlValue::Integer(t));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit {} ORDER BY id DESC LIMIT {} OFFSET {}",
            if wheres.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", wheres.join(" AND "))
            },
            limit.min(i64::MAX as usize),
            offset
        );
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_finished_found_and_filtered() {
        let s = Store::in_memory().unwrap();
        s.audit("otto", "a", Some(1), "start incr_file", true, "running")
            .unwrap();
        let id = s
            .audit_entry(&AuditEntry {
                user: "otto",
                server: "a",
                clientid: Some(1),
                backupid: Some(7),
                path: Some("/C/x.txt"),
                action: "downloaded a file",
                outcome: "running",
                detail: "started",
                ..AuditEntry::default()
            })
            .unwrap();
        s.audit_finish(id, true, "ok", "sent 12 bytes", Some(12))
            .unwrap();
        let r = s.audit_get(id).unwrap().unwrap();
        assert_eq!(
            (r.ok, r.outcome_word(), r.bytes, r.path.as_deref()),
            (true, "ok", Some(12), Some("/C/x.txt"))
        );
        assert!(s
            .audit_seen("otto", "a", 1, 7, "downloaded a file", 0)
            .unwrap());
        assert!(!s
            .audit_seen("ann", "a", 1, 7, "downloaded a file", 0)
            .unwrap());
        assert_eq!(s.client_audit("a", 1, 10).unwrap().len(), 2);
        let only = |f: AuditFilter| s.audit_rows(&f, 100, 0).unwrap().len();
        assert_eq!(
            only(AuditFilter {
                action: Some("download".into()),
                ..AuditFilter::default()
            }),
            1
        );
        assert_eq!(
            only(AuditFilter {
                user: Some("ann".into()),
                ..AuditFilter::default()
            }),
            0
        );
        assert_eq!(
            only(AuditFilter {
                until: Some(0),
                ..AuditFilter::default()
            }),
            0
        );
        assert_eq!(
            s.audit_rows(&AuditFilter::default(), 1, 1).unwrap()[0].action,
            "start incr_file"
        );
    }
}
