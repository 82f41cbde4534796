//! The history the poller records: clients, backups, durations, error logs.

use super::{kind_str, Store, StoreError};
use crate::compliance::{Failed, KindFacts};
use rusqlite::{params, OptionalExtension};
use urbackup::BackupKind;

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
    /// The log of a backup that failed (a failed attempt for compliance): no "Backup
    /// succeeded" or "Backup completed with issues" line, and not a restore.
    pub failed: bool,
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
        /// The kinds whose server verdict is not OK: (id, image, the kind's last backup).
        failed: Vec<(i64, bool, i64)>,
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

impl Store {
    /// Records a batch, in one transaction.
    pub fn record(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // Something compliance reads was added.
        let mut changed = false;
        for r in batch {
            match r {
                Record::Clients {
                    server,
                    at,
                    clients,
                    failed,
                } => {
                    let mut up = tx.prepare_cached(
                        "INSERT INTO clients (server, clientid, name, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
                         ON CONFLICT (server, clientid) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen",
                    )?;
                    for (id, name) in clients {
                        up.execute(params![server, id, name, at])?;
                    }
                    // The first poll that sees a failure after a given last backup.
                    let mut up = tx.prepare_cached(
                        "INSERT OR IGNORE INTO verdict_failures (server, clientid, kind, after_backup, seen) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for (id, image, after) in failed {
                        changed |=
                            up.execute(params![server, id, kind_str(*image), after, at])? > 0;
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
                    changed |= !entries.is_empty();
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
                    let inserted = tx.prepare_cached(
                        "INSERT OR IGNORE INTO logs (server, logid, clientname, time, errors, warnings, image, incremental, restore, lines, failed)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
                        lines,
                        log.failed
                    ])?;
                    changed |= log.failed && inserted > 0;
                }
            }
        }
        tx.commit()?;
        drop(conn);
        if changed {
            self.compliance_changed();
        }
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
            "SELECT logid, time, errors, warnings, image, incremental, restore, lines, failed FROM logs
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
                failed: r.get(8)?,
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
            let key = kind_key(r)?;
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
            let key = kind_key(r)?;
            out.oldest.insert(key, r.get(3)?);
        }
        let mut stmt = conn
            .prepare("SELECT server, clientid, kind, after_backup, seen FROM verdict_failures")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let key = kind_key(r)?;
            out.failures.entry(key).or_default().push(Failed {
                after: r.get(3)?,
                at: r.get(4)?,
            });
        }
        let mut stmt =
            conn.prepare("SELECT server, clientname, image, time FROM logs WHERE failed = 1")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let key = (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?);
            out.failed_logs.entry(key).or_default().push(r.get(3)?);
        }
        Ok(out)
    }

    /// The failed attempts of one client (see [`crate::compliance`]): (image, attempt).
    pub fn failed_attempts(
        &self,
        server: &str,
        clientid: i64,
        clientname: &str,
    ) -> Result<Vec<(bool, Failed)>, StoreError> {
        let conn = self.conn();
        let mut out = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT kind, after_backup, seen FROM verdict_failures WHERE server = ?1 AND clientid = ?2",
        )?;
        let mut rows = stmt.query(params![server, clientid])?;
        while let Some(r) = rows.next()? {
            out.push((
                r.get::<_, String>(0)? == "image",
                Failed {
                    after: r.get(1)?,
                    at: r.get(2)?,
                },
            ));
        }
        let mut stmt = conn.prepare_cached(
            "SELECT image, time FROM logs WHERE server = ?1 AND clientname = ?2 AND failed = 1",
        )?;
        let mut rows = stmt.query(params![server, clientname])?;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(1)?;
            out.push((r.get(0)?, Failed { after: t, at: t }));
        }
        Ok(out)
    }
}

/// (server, client id, image) of a row whose first three columns are server, clientid, kind.
fn kind_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, bool)> {
    Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)? == "image"))
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
    /// Failed verdicts per (server, client id, image).
    pub failures: std::collections::HashMap<(String, i64, bool), Vec<Failed>>,
    /// Times of logs of failed backups per (server, client name, image).
    pub failed_logs: std::collections::HashMap<(String, String, bool), Vec<i64>>,
}

impl BackupTimes {
    /// What compliance needs of one kind of one client, read at `data_at`.
    pub fn facts(
        &self,
        server: &str,
        clientid: i64,
        name: &str,
        kind: BackupKind,
        data_at: i64,
    ) -> KindFacts {
        let image = kind == BackupKind::Image;
        let key = (server.to_owned(), clientid, image);
        // The oldest backup seen stands for the history before the window.
        let mut good: Vec<i64> = self.times.get(&key).cloned().unwrap_or_default();
        good.extend(self.oldest.get(&key));
        let mut failed: Vec<Failed> = self.failures.get(&key).cloned().unwrap_or_default();
        if let Some(logs) = self
            .failed_logs
            .get(&(server.to_owned(), name.to_owned(), image))
        {
            failed.extend(logs.iter().map(|&t| Failed { after: t, at: t }));
        }
        KindFacts {
            good,
            failed,
            first_seen: self
                .first_seen
                .get(&(server.to_owned(), clientid))
                .copied()
                .unwrap_or(data_at),
            seen_at: data_at,
        }
    }
}
