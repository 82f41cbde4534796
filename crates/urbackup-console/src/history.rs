//! What the poller sees, written to the store by a thread of its own: the poller's tasks
//! only hand records to a channel (no database work on the async threads), and the writer
//! stores whatever has arrived in one transaction.

use crate::store::{LogRow, Record, Store};
use std::sync::mpsc;
use std::sync::Arc;
use urbackup::{Activity, ClientBackups, Log, LogLevel, LogSummary};
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
            },
        }));
    }
}
