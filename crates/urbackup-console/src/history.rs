//! What the poller sees, written to the store by a thread of its own: the poller's tasks
//! only hand records to a channel (no database work on the async threads), and the writer
//! stores whatever has arrived in one transaction.

use crate::store::{LogRow, Record, Store};
use std::sync::mpsc;
use std::sync::Arc;
use urbackup::{Activity, BackupState, ClientBackups, Log, LogLevel, LogSummary};
use urbackup_fleet::{ClientRow, Observer, Poller};

/// The [`Observer`] the console gives its poller.
#[derive(Debug)]
pub struct History {
    tx: mpsc::Sender<Msg>,
}

#[derive(Debug)]
enum Msg {
    Record(Record),
    /// Answered once everything sent before is stored.
    Flush(mpsc::Sender<()>),
}

impl History {
    /// Starts the writer thread for `store`.
    pub fn start(store: Arc<Store>) -> History {
        let (tx, rx) = mpsc::channel::<Msg>();
        let writer = move || {
            let mut waiting = Vec::new();
            while let Ok(first) = rx.recv() {
                let mut batch = Vec::new();
                for m in std::iter::once(first).chain(rx.try_iter().take(10_000)) {
                    match m {
                        Msg::Record(r) => batch.push(r),
                        Msg::Flush(done) => waiting.push(done),
                    }
                }
                if !batch.is_empty() {
                    if let Err(e) = store.record(&batch) {
                        tracing::error!("cannot record the history: {e}");
                    }
                }
                for done in waiting.drain(..) {
                    let _ = done.send(());
                }
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("console-history".into())
            .spawn(writer)
        {
            tracing::error!("cannot start the history writer: {e}");
        }
        History { tx }
    }

    fn send(&self, m: Msg) {
        let _ = self.tx.send(m);
    }

    /// Waits (blocking) until everything observed so far is stored.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        self.send(Msg::Flush(done));
        let _ = wait.recv();
    }
}

/// Whether a log with errors is of a backup that failed (a failed attempt, for compliance):
/// the server ends the log of a backup that did not fail with "Backup succeeded" or "Backup
/// completed with issues" (info lines); one that failed says "Backup failed", or, failing
/// early, neither. A restore's log is never a failed backup.
fn backup_failed<'a>(restore: bool, mut messages: impl Iterator<Item = &'a str>) -> bool {
    !restore
        && !messages.any(|m| {
            m.starts_with("Backup succeeded") || m.starts_with("Backup completed with issues")
        })
}

/// Tells every server poller what an earlier run read (backup lists, error logs), so that a
/// restart reads only what changed since.
pub fn seed(poller: &Poller, store: &Store) -> Result<(), crate::store::StoreError> {
    for s in poller.servers() {
        let (seen, logs) = store.seeds(s.name())?;
        for (id, last) in seen {
            s.seed_backups_seen(id, last);
        }
        s.seed_logs_read(logs);
    }
    Ok(())
}

impl Observer for History {
    fn status(&self, server: &str, clients: &[ClientRow], at: i64) {
        self.send(Msg::Record(Record::Clients {
            server: server.to_owned(),
            at,
            clients: clients
                .iter()
                .map(|c| (c.id(), c.name().to_owned()))
                .collect(),
            failed: clients
                .iter()
                .flat_map(|c| {
                    [(false, &c.health.file), (true, &c.health.image)]
                        .into_iter()
                        .filter(|(_, k)| k.state == BackupState::Failed)
                        .map(|(image, k)| (c.id(), image, k.last_backup.unwrap_or(0)))
                })
                .collect(),
        }));
    }

    fn backups(&self, server: &str, client: &ClientRow, lists: &ClientBackups) {
        let h = &client.health;
        let entries = lists
            .file_backups
            .iter()
            .chain(&lists.image_backups)
            .map(|b| (b.image, b.id, b.backuptime, b.size_bytes, b.incremental))
            .collect();
        self.send(Msg::Record(Record::Backups {
            server: server.to_owned(),
            at: urbackup_fleet::unix_now(),
            clientid: client.id(),
            name: client.name().to_owned(),
            seen: (
                h.file.last_backup.unwrap_or(0),
                h.image.last_backup.unwrap_or(0),
            ),
            entries,
        }));
    }

    fn activities(&self, server: &str, activities: &[Activity]) {
        let durations: Vec<(i64, bool, i64, i64)> = activities
            .iter()
            .filter(|a| !a.deletion && !a.restore && a.duration >= 0)
            .map(|a| (a.clientid, a.image, a.id, a.duration))
            .collect();
        if !durations.is_empty() {
            self.send(Msg::Record(Record::Durations {
                server: server.to_owned(),
                durations,
            }));
        }
    }

    fn error_log(&self, server: &str, summary: &LogSummary, log: &Log) {
        let failed = backup_failed(
            summary.restore,
            log.lines.iter().map(|l| l.message.as_str()),
        );
        let lines = log
            .lines
            .iter()
            .filter(|l| matches!(l.level, LogLevel::Error | LogLevel::Warning))
            .take(200)
            .map(|l| {
                let level = if l.level == LogLevel::Error { 2 } else { 1 };
                (level, l.time, l.message.clone())
            })
            .collect();
        self.send(Msg::Record(Record::Log {
            server: server.to_owned(),
            clientname: summary.name.clone(),
            log: LogRow {
                id: summary.id,
                time: summary.time,
                errors: summary.errors,
                warnings: summary.warnings,
                image: summary.image,
                incremental: summary.incremental,
                restore: summary.restore,
                lines,
                failed,
            },
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of a log as a real UrBackup 2.5.33 server sent it (`level-time-text`
    /// lines), from a capture in `fixtures/real-2.5/`.
    fn real_log(case: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/real-2.5")
            .join(format!("logs__{case}.json"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["response"]["body_json"]["log"]["data"]
            .as_str()
            .unwrap()
            .lines()
            .filter_map(|l| l.splitn(3, '-').nth(2).map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_failed_backup_by_its_log() {
        let failed = real_log("logid-failed-backup");
        assert!(backup_failed(false, failed.iter().map(String::as_str)));
        let good = real_log("logid");
        assert!(!backup_failed(false, good.iter().map(String::as_str)));
        assert!(
            !backup_failed(true, failed.iter().map(String::as_str)),
            "a restore"
        );
        assert!(!backup_failed(
            false,
            ["Backup completed with issues"].into_iter()
        ));
    }
}
