//! One poll of one server: [`ServerPoller::poll`].

use crate::counts::{BackupCounts, BackupRefresh, Counts, LastBackups};
use crate::snapshot::{ClientRow, Failure, FailureKind, ServerSnapshot};
use crate::{unix_now, Member};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use urbackup::{
    Activity, ClientBackups, HealthPolicy, Log, LogFilter, LogLevel, LogSummary, ServerSwitches,
    UrbackupError, UrbackupServer,
};

/// What a poll reads besides `status` (which it always reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Running actions (`progress`).
    pub progress: bool,
    /// Recent finished activities (`lastacts`): durations of backups, restores, deletions.
    pub activities: bool,
    /// Storage per client (`usage`) every this many polls (0: never, 1: every poll).
    pub usage_every: u32,
    /// The newest logs with errors (`logs`).
    pub error_logs: bool,
    /// The lines of at most this many error logs not read before, per poll (`logs` with
    /// `logid`, one request each).
    pub log_details: usize,
    /// Which backup lists to read (`backups`, one request per client).
    pub backups: BackupRefresh,
    /// How many backup lists are read at the same time.
    pub backups_concurrency: usize,
    /// Keep the clients (and usage, logs, activities) of the last poll between polls, so
    /// that a server that fails still shows its last known data (the console). Without it
    /// only what the next poll needs is kept (why and since when a server fails), and a
    /// poller of a large fleet holds no rows between polls (the exporter, `report`).
    pub keep_data: bool,
}

impl Default for Plan {
    /// `status` only.
    fn default() -> Plan {
        Plan {
            progress: false,
            activities: false,
            usage_every: 0,
            error_logs: false,
            log_details: 0,
            backups: BackupRefresh::Off,
            backups_concurrency: 4,
            keep_data: false,
        }
    }
}

impl Plan {
    /// What `report` reads: `status` and `usage`.
    pub fn report() -> Plan {
        Plan {
            usage_every: 1,
            ..Plan::default()
        }
    }

    /// What one exporter scrape reads: `status`, `progress`, `usage`, and the backup lists of
    /// `k` clients in rotation (`k` = 0: no backup lists, no counts).
    pub fn exporter(k: usize) -> Plan {
        Plan {
            progress: true,
            usage_every: 1,
            backups: match k {
                0 => BackupRefresh::Off,
                k => BackupRefresh::Rotate(k),
            },
            ..Plan::default()
        }
    }

    /// What the console reads at each poll: everything, the backup lists of new and changed
    /// clients only (at most 200 per poll), `usage` every 10th poll, the lines of up to 10 new
    /// error logs.
    pub fn console() -> Plan {
        Plan {
            progress: true,
            activities: true,
            usage_every: 10,
            error_logs: true,
            log_details: 10,
            backups: BackupRefresh::Changed(200),
            backups_concurrency: 4,
            keep_data: true,
        }
    }
}

/// Told what a poll read that is worth keeping beyond the server's own retention. Called
/// from the poll's task: keep it quick (hand the data to another thread to store it).
pub trait Observer: Send + Sync {
    /// The clients of a `status` that answered, judged at Unix time `at`.
    fn status(&self, _server: &str, _clients: &[ClientRow], _at: i64) {}
    /// A client's backup lists (both kinds), as read, with the client's row of the same poll.
    fn backups(&self, _server: &str, _client: &ClientRow, _lists: &ClientBackups) {}
    /// The recent activities (`lastacts`).
    fn activities(&self, _server: &str, _activities: &[Activity]) {}
    /// An error log not seen before, with its lines.
    fn error_log(&self, _server: &str, _summary: &LogSummary, _log: &Log) {}
}

/// An [`Observer`] that keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// Polls one server, keeping between polls what the next one needs: the session (in the
/// handle), the backup counts, since when the server fails, the error logs already read, the
/// pause after a refused login.
pub struct ServerPoller {
    member: Member,
    policy: HealthPolicy,
    state: Mutex<State>,
    /// Failed requests since the start.
    errors: AtomicU64,
    /// Polls started.
    polls: AtomicU64,
}

impl std::fmt::Debug for ServerPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerPoller")
            .field("name", &self.member.name)
            .field("url", &self.member.url())
            .finish_non_exhaustive()
    }
}

/// The first pause after a refused login, doubled after each further refusal up to
/// [`LOGIN_PAUSE_MAX`]. UrBackup 2.5 bans an address for minutes after more than 10 failed
/// logins: a poller must not try a wrong password every 30 seconds.
const LOGIN_PAUSE_FIRST: Duration = Duration::from_secs(60);
const LOGIN_PAUSE_MAX: Duration = Duration::from_secs(30 * 60);

#[derive(Default)]
struct State {
    counts: BackupCounts,
    /// The last snapshot (its data is carried while the server fails).
    last: Option<Arc<ServerSnapshot>>,
    /// Error logs whose lines were read (or need not be).
    logs_read: HashSet<i64>,
    /// After a refused login: no request before this instant, and the next pause.
    login_pause: Option<(Instant, Duration)>,
}

impl ServerPoller {
    /// A poller of `member`, judging clients by `policy`.
    pub fn new(member: Member, policy: HealthPolicy) -> ServerPoller {
        ServerPoller {
            member,
            policy,
            state: Mutex::new(State::default()),
            errors: AtomicU64::new(0),
            polls: AtomicU64::new(0),
        }
    }

    /// How many polls have started (a snapshot's [`ServerSnapshot::poll_seq`] is the number
    /// of the poll that made it).
    pub fn polls_started(&self) -> u64 {
        self.polls.load(Ordering::SeqCst)
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.member.name
    }

    /// The member's URL (no credentials).
    pub fn url(&self) -> &str {
        self.member.url()
    }

    /// The server's handle (for actions that are not polls: starting a backup...).
    pub fn server(&self) -> &UrbackupServer {
        &self.member.server
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data: keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says that the backup lists of client `id` were read (by an earlier run) when its last
    /// file and image backup times were `seen`: with [`BackupRefresh::Changed`] they are read
    /// again only once those change.
    pub fn seed_backups_seen(&self, id: i64, seen: LastBackups) {
        self.state().counts.seed(id, seen);
    }

    /// Says that these error logs were read (by an earlier run).
    pub fn seed_logs_read(&self, ids: impl IntoIterator<Item = i64>) {
        self.state().logs_read.extend(ids);
    }

    /// Logs in now (unless a session exists), without reading anything: to learn at start
    /// whether the server can be read. A refusal starts the pause of the next polls, like a
    /// refusal during a poll; the failure is returned and kept for the next snapshot.
    pub async fn login(&self) -> Option<Failure> {
        let t0 = Instant::now();
        match self.member.server.login_typed().await {
            Ok(_) => None,
            Err(e) => {
                let poll_no = self.polls.load(Ordering::SeqCst);
                // Data is not touched by a failed login: keep what there is.
                let keep = self
                    .state()
                    .last
                    .as_ref()
                    .is_some_and(|l| l.data_at.is_some());
                self.failed(&e, unix_now(), t0, poll_no, keep).failure
            }
        }
    }

    /// Polls the server once: `status`, and what `plan` asks for, the independent requests at
    /// the same time. Never fails: a server that cannot be read gives a snapshot with a
    /// [`Failure`] and the data of the last poll that could read it.
    pub async fn poll(&self, plan: &Plan, observer: &dyn Observer) -> ServerSnapshot {
        let t0 = Instant::now();
        let now = unix_now();
        let poll_no = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
        let paused = self.state().login_pause.filter(|(until, _)| *until > t0);
        if let Some((until, _)) = paused {
            // Still pausing after a refused login: the last failure stands, no request.
            let mut snap = self.carry(now, t0, poll_no);
            if let Some(f) = &mut snap.failure {
                f.retry_login_at = Some(now + until.saturating_duration_since(t0).as_secs() as i64);
            }
            return snap;
        }

        let server = &self.member.server;
        let policy = &self.policy;
        let mut rows: Vec<ClientRow> = Vec::new();
        let status = server.for_each_client_status(|c| {
            if !c.rejected {
                rows.push(ClientRow::judge(policy, c, ServerSwitches::default(), now));
            }
        });
        let usage_due = plan.usage_every > 0 && (poll_no - 1) % u64::from(plan.usage_every) == 0;
        let progress = async {
            match plan.progress {
                true => Some(server.get_actions_typed().await),
                false => None,
            }
        };
        let activities = async {
            match plan.activities {
                true => Some(server.last_activities().await),
                false => None,
            }
        };
        let usage = async {
            match usage_due {
                true => Some(server.get_usage_typed().await),
                false => None,
            }
        };
        let logs = async {
            match plan.error_logs {
                true => Some(
                    server
                        .get_logs(&LogFilter {
                            clientids: Vec::new(),
                            min_level: Some(LogLevel::Error),
                        })
                        .await,
                ),
                false => None,
            }
        };
        let (status, progress, activities, usage, logs) =
            tokio::join!(status, progress, activities, usage, logs);

        let failed = [
            status.is_err(),
            matches!(progress, Some(Err(_))),
            matches!(activities, Some(Err(_))),
            matches!(usage, Some(Err(_))),
            matches!(logs, Some(Err(_))),
        ]
        .iter()
        .filter(|f| **f)
        .count() as u64;
        self.errors.fetch_add(failed, Ordering::Relaxed);

        let rest = match status {
            Ok(rest) => rest,
            Err(e) => return self.failed(&e, now, t0, poll_no, plan.keep_data),
        };
        let switches = ServerSwitches::from(&rest);
        for r in &mut rows {
            r.health.apply_switches(switches);
        }
        self.state().login_pause = None;
        observer.status(&self.member.name, &rows, now);

        let (counts, counts_refreshed) = self.refresh_backups(plan, &rows, observer).await;
        let activities = activities.and_then(Result::ok).map(Arc::new);
        if let Some(a) = &activities {
            observer.activities(&self.member.name, a);
        }
        let error_logs = match logs {
            Some(Ok(list)) => {
                self.read_new_logs(&list, plan.log_details, observer).await;
                Some(Arc::new(list))
            }
            _ => None,
        };

        let last = self.state().last.clone();
        let usage = match usage {
            Some(Ok(u)) => Some((now, Arc::new(u))),
            Some(Err(_)) => None,
            // Not due this time: the last one read.
            None => last.as_ref().and_then(|l| l.usage.clone()),
        };
        let snap = ServerSnapshot {
            name: self.member.name.clone(),
            url: self.member.url().to_owned(),
            polled_at: Some(now),
            poll_seq: poll_no,
            poll_duration: t0.elapsed(),
            failure: None,
            data_at: Some(now),
            clients: Arc::new(rows),
            switches,
            actions: progress.and_then(Result::ok).map(Arc::new),
            activities,
            usage,
            error_logs,
            counts,
            counts_refreshed,
            counts_errors: self.state().counts.errors,
            request_errors: self.errors.load(Ordering::Relaxed),
        };
        self.keep(&snap, plan.keep_data);
        snap
    }

    /// Keeps what the next poll needs of `snap`: all of it, or without its data.
    fn keep(&self, snap: &ServerSnapshot, data: bool) {
        let kept = if data {
            snap.clone()
        } else {
            ServerSnapshot {
                failure: snap.failure.clone(),
                ..ServerSnapshot::pending(&snap.name, &snap.url)
            }
        };
        self.state().last = Some(Arc::new(kept));
    }

    /// The snapshot of a poll whose `status` failed with `e`.
    fn failed(
        &self,
        e: &UrbackupError,
        now: i64,
        t0: Instant,
        poll_no: u64,
        keep_data: bool,
    ) -> ServerSnapshot {
        let kind = FailureKind::of(e);
        let mut retry_login_at = None;
        if kind == FailureKind::LoginRefused {
            let mut st = self.state();
            let pause = match st.login_pause {
                Some((_, last)) => (last * 2).min(LOGIN_PAUSE_MAX),
                None => LOGIN_PAUSE_FIRST,
            };
            st.login_pause = Some((t0 + pause, pause));
            retry_login_at = Some(now + pause.as_secs() as i64);
            tracing::warn!(
                server = %self.member.name,
                "login refused ({e}); the next login is tried in {} s",
                pause.as_secs()
            );
        } else {
            tracing::warn!(server = %self.member.name, "poll failed: {e}");
        }
        let mut snap = self.carry(now, t0, poll_no);
        let since = snap.failure.as_ref().map(|f| f.since).unwrap_or(now);
        snap.failure = Some(Failure {
            kind,
            message: e.to_string(),
            since,
            retry_login_at,
        });
        self.keep(&snap, keep_data);
        snap
    }

    /// The last snapshot's data, polled now: running actions are dropped (nothing is known of
    /// them), the rest is kept with its age.
    fn carry(&self, now: i64, t0: Instant, poll_no: u64) -> ServerSnapshot {
        let last = self.state().last.clone();
        let mut snap = match last {
            Some(l) => (*l).clone(),
            None => ServerSnapshot::pending(&self.member.name, self.member.url()),
        };
        snap.polled_at = Some(now);
        snap.poll_seq = poll_no;
        snap.poll_duration = t0.elapsed();
        snap.actions = None;
        snap.counts_refreshed = 0;
        snap.request_errors = self.errors.load(Ordering::Relaxed);
        snap
    }

    /// Reads the backup lists `plan` asks for; returns the counts aligned with `rows` and how
    /// many lists were read.
    async fn refresh_backups(
        &self,
        plan: &Plan,
        rows: &[ClientRow],
        observer: &dyn Observer,
    ) -> (Option<Arc<Vec<Option<Counts>>>>, usize) {
        if plan.backups == BackupRefresh::Off {
            return (None, 0);
        }
        let ids: Vec<(i64, LastBackups)> = rows
            .iter()
            .map(|r| {
                let h = &r.health;
                (
                    h.id,
                    (
                        h.file.last_backup.unwrap_or(0),
                        h.image.last_backup.unwrap_or(0),
                    ),
                )
            })
            .collect();
        let picked = self.state().counts.pick(&ids, plan.backups, Instant::now());
        let server = &self.member.server;
        let results: Vec<(i64, urbackup::Result<ClientBackups>)> =
            futures_util::stream::iter(picked)
                .map(|id| async move { (id, server.client_backups(id).await) })
                .buffer_unordered(plan.backups_concurrency.max(1))
                .collect()
                .await;
        let by_id: HashMap<i64, &ClientRow> = rows.iter().map(|r| (r.id(), r)).collect();
        let mut read = 0;
        let mut failed: Vec<(i64, UrbackupError)> = Vec::new();
        for (id, r) in results {
            match r {
                Ok(b) => {
                    if let Some(row) = by_id.get(&id) {
                        observer.backups(&self.member.name, row, &b);
                    }
                    self.state()
                        .counts
                        .store(id, Counts::of(&b, Instant::now(), unix_now()));
                    read += 1;
                }
                Err(e) => failed.push((id, e)),
            }
        }
        let mut st = self.state();
        st.counts.errors += failed.len() as u64;
        for (id, _) in &failed {
            st.counts.failed(*id, plan.backups);
        }
        if let Some((id, e)) = failed.first() {
            tracing::warn!(
                server = %self.member.name,
                "{} backup list(s) failed (client id {id}: {e})",
                failed.len()
            );
        }
        let counts = rows
            .iter()
            .map(|r| st.counts.get(r.id()).cloned())
            .collect();
        (Some(Arc::new(counts)), read)
    }

    /// Reads the lines of at most `max` error logs of `list` not read before.
    async fn read_new_logs(&self, list: &[LogSummary], max: usize, observer: &dyn Observer) {
        let new: Vec<&LogSummary> = {
            let st = self.state();
            list.iter()
                .filter(|l| !st.logs_read.contains(&l.id))
                .take(max)
                .collect()
        };
        for summary in new {
            match self.member.server.get_log(summary.id).await {
                Ok(Some(log)) => {
                    observer.error_log(&self.member.name, summary, &log);
                    self.state().logs_read.insert(summary.id);
                }
                // Gone, or not visible to this user: nothing to read.
                Ok(None) => {
                    self.state().logs_read.insert(summary.id);
                }
                Err(e) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(server = %self.member.name, "error log {}: {e}", summary.id);
                    break;
                }
            }
        }
    }
}
