//! The restores started from the console, each followed by a task of its own until its own
//! log on the server says how it ended (the library's outcome: never "ok" because the server
//! listed it). Pages read where a restore stands from here, without a request to the server.

use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use urbackup::{RestorePhase, RestoreStarted, UrbackupServer};

/// Time between two looks at a running restore (`progress` and `logs`).
const INTERVAL: Duration = Duration::from_secs(2);
/// How long a restore is followed at most (one waiting for a person at the client may wait).
const FOLLOW: Duration = Duration::from_secs(24 * 3600);
/// Restores kept in memory; the oldest ended ones go first (the audit trail keeps them all).
const KEEP: usize = 500;

/// Where a restore stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreStage {
    /// The server is preparing it.
    Queued,
    /// It waits for a person at the client to confirm it.
    WaitingForClient,
    /// Queued on the server, not started by the client yet.
    NotStarted,
    /// Files are being transferred: percent done (when known), bytes done and in all.
    Running(Option<u8>, i64, i64),
    /// Its log has no error.
    Done {
        /// The restore's log on the server.
        log_id: i64,
        /// Warnings in it.
        warnings: i64,
        /// The outcome in words.
        detail: String,
    },
    /// Its log has errors: the error lines (or their count when the lines cannot be read).
    Failed {
        /// The restore's log on the server.
        log_id: i64,
        /// The error lines of the log.
        errors: Vec<String>,
        /// The outcome in words.
        detail: String,
    },
    /// The console could not tell how it ended (the server could not be asked, or the
    /// restore did not end within a day).
    Unknown(String),
}

impl RestoreStage {
    /// It has ended (or the console stopped following it).
    pub fn ended(&self) -> bool {
        matches!(
            self,
            RestoreStage::Done { .. } | RestoreStage::Failed { .. } | RestoreStage::Unknown(_)
        )
    }
}

/// A restore started from the console (what it is about is in its audit entry).
#[derive(Debug, Clone)]
pub struct RestoreState {
    /// Where it stands.
    pub stage: RestoreStage,
    /// Unix time of the start.
    pub started: i64,
}

/// The restores the console follows, by their audit entry's id.
#[derive(Default)]
pub struct Restores {
    map: Mutex<HashMap<i64, Arc<Mutex<RestoreState>>>>,
}

impl std::fmt::Debug for Restores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restores").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Restores {
    /// Where restore `id` stands, if the console follows it.
    pub fn get(&self, id: i64) -> Option<RestoreState> {
        lock(&self.map).get(&id).map(|s| lock(s).clone())
    }

    /// Follows a started restore (audit entry `id`) on its own task until it ends; records
    /// the outcome in the audit trail.
    pub fn follow(
        &self,
        id: i64,
        server: UrbackupServer,
        started: RestoreStarted,
        state: RestoreState,
        store: Arc<Store>,
    ) {
        let shared = Arc::new(Mutex::new(state));
        {
            let mut map = lock(&self.map);
            if map.len() >= KEEP {
                let mut ended: Vec<(i64, i64)> = map
                    .iter()
                    .filter_map(|(k, v)| {
                        let s = lock(v);
                        s.stage.ended().then_some((s.started, *k))
                    })
                    .collect();
                ended.sort_unstable();
                for (_, k) in ended.iter().take(map.len() + 1 - KEEP) {
                    map.remove(k);
                }
            }
            map.insert(id, shared.clone());
        }
        tokio::spawn(async move {
            let confirm = started.needs_client_confirmation;
            let phases = shared.clone();
            let outcome = server
                .wait_for_restore_outcome(&started, INTERVAL, Some(FOLLOW), move |phase, item| {
                    lock(&phases).stage = match phase {
                        RestorePhase::Queued if confirm => RestoreStage::WaitingForClient,
                        RestorePhase::Queued => RestoreStage::NotStarted,
                        RestorePhase::Running => match item {
                            Some(a) => {
                                RestoreStage::Running(a.percent(), a.done_bytes, a.total_bytes)
                            }
                            None => RestoreStage::Running(None, 0, -1),
                        },
                        _ => RestoreStage::Queued,
                    };
                })
                .await;
            let (stage, ok, word, detail) = match outcome {
                Ok(Some(o)) if o.succeeded() => {
                    let detail = format!(
                        "The restore finished without errors (log {} on the server{}).",
                        o.log.id,
                        match o.log.warnings {
                            0 => String::new(),
                            n => format!(", {n} warning{}", if n == 1 { "" } else { "s" }),
                        }
                    );
                    (
                        RestoreStage::Done {
                            log_id: o.log.id,
                            warnings: o.log.warnings,
                            detail: detail.clone(),
                        },
                        true,
                        "ok",
                        detail,
                    )
                }
                Ok(Some(o)) => {
                    let mut errors: Vec<String> = o.errors().map(|l| l.message.clone()).collect();
                    if errors.is_empty() {
                        errors.push(format!("{} error(s) in its log", o.log.errors));
                    }
                    let detail = format!(
                        "The restore failed (log {} on the server): {}",
                        o.log.id,
                        errors.join("; ")
                    );
                    (
                        RestoreStage::Failed {
                            log_id: o.log.id,
                            errors,
                            detail: detail.clone(),
                        },
                        false,
                        "failed",
                        detail,
                    )
                }
                Ok(None) => {
                    let why =
                        "The restore had not ended after a day; the console stopped following it."
                            .to_string();
                    (RestoreStage::Unknown(why.clone()), false, "unknown", why)
                }
                Err(e) => {
                    let why = format!("The console could not follow the restore: {e}");
                    (RestoreStage::Unknown(why.clone()), false, "unknown", why)
                }
            };
            lock(&shared).stage = stage;
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = store.audit_finish(id, ok, word, &detail, None) {
                    tracing::error!("console: audit of restore {id}: {e}");
                }
            })
            .await;
        });
    }
}
