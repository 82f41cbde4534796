//! What a poll leaves behind: one [`ServerSnapshot`] per server, gathered in a
//! [`FleetSnapshot`].

use crate::counts::Counts;
use std::sync::Arc;
use std::time::Duration;
use urbackup::{
    ActionProgress, Activity, ClientHealth, ClientStatus, LogSummary, ServerSwitches, Severity,
    UrbackupError, UsageEntry,
};

/// What the fleet keeps of one client of a `status` reply: the health rule's verdict and the
/// facts people look at. Compact on purpose (a 1,000-client server is about 200 KB of rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// The health rule's verdict (id, name, group, online, per kind state and last backup,
    /// version, issues).
    pub health: ClientHealth,
    /// Operating system family as the server reports it (`windows`, `linux`...).
    pub os: String,
    /// The client's address as the server last saw it.
    pub ip: String,
    /// The server's own file-backup flag.
    pub file_ok: bool,
    /// The server's own image-backup flag.
    pub image_ok: bool,
    /// Marked for removal.
    pub delete_pending: bool,
}

impl ClientRow {
    /// The row of one client of a `status` reply, judged at Unix time `now`.
    pub fn judge(
        policy: &urbackup::HealthPolicy,
        c: ClientStatus,
        switches: ServerSwitches,
        now: i64,
    ) -> ClientRow {
        let health = policy.client(&c, switches, now);
        ClientRow {
            health,
            os: c.os_simple,
            ip: c.ip,
            file_ok: c.file_ok,
            image_ok: c.image_ok,
            delete_pending: c.delete_pending,
        }
    }

    /// Client id.
    pub fn id(&self) -> i64 {
        self.health.id
    }

    /// Client name.
    pub fn name(&self) -> &str {
        &self.health.name
    }

    /// Needs a person's attention: a kind failed, is stale or never backed up (a kind
    /// switched off or unsupported never is), or the client's version is outdated.
    pub fn needs_attention(&self) -> bool {
        !self.health.is_ok() || self.health.outdated
    }

    /// Place in an attention list, worse first when sorted descending: severity, then the
    /// worst state (failed > stale > never), then the age of the older kind.
    pub fn rank(&self) -> (Severity, u8, i64) {
        use urbackup::BackupState;
        let state_rank = |s: BackupState| match s {
            BackupState::Failed => 3,
            BackupState::Stale => 2,
            BackupState::Never => 1,
            _ => 0,
        };
        let h = &self.health;
        let worst = state_rank(h.file.state).max(state_rank(h.image.state));
        let age = h
            .file
            .age_secs
            .unwrap_or(0)
            .max(h.image.age_secs.unwrap_or(0));
        (h.severity(), worst, age)
    }
}

/// Why a server could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The server refused the login (wrong password, unknown user, address banned).
    LoginRefused,
    /// Logged in, but the user may not read the status.
    AccessDenied,
    /// No answer: connection refused or reset, timeout, name not resolved, TLS.
    Unreachable,
    /// An answer that is not the server's (an HTML error page, a proxy's 502, a bad reply).
    BadReply,
}

impl FailureKind {
    /// The kind of a library error.
    pub fn of(e: &UrbackupError) -> FailureKind {
        match e {
            UrbackupError::Authentication(_) => FailureKind::LoginRefused,
            UrbackupError::AccessDenied { .. } => FailureKind::AccessDenied,
            UrbackupError::Transport { .. } | UrbackupError::Timeout { .. } => {
                FailureKind::Unreachable
            }
            _ => FailureKind::BadReply,
        }
    }

    /// `login_refused`, `access_denied`, `unreachable`, `bad_reply` (metric label values).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::LoginRefused => "login_refused",
            FailureKind::AccessDenied => "access_denied",
            FailureKind::Unreachable => "unreachable",
            FailureKind::BadReply => "bad_reply",
        }
    }

    /// In a person's words.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::LoginRefused => "login refused",
            FailureKind::AccessDenied => "access denied",
            FailureKind::Unreachable => "unreachable",
            FailureKind::BadReply => "unexpected reply",
        }
    }
}

/// A server that could not be read at its last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why, in one word.
    pub kind: FailureKind,
    /// The error, in one line (no secrets: the library never puts them in errors).
    pub message: String,
    /// Unix time of the first failed poll of this streak.
    pub since: i64,
    /// While the server refuses the login: the next login is not tried before this Unix time.
    pub retry_login_at: Option<i64>,
}

/// One server at its last poll.
#[derive(Debug, Clone)]
pub struct ServerSnapshot {
    /// The member's name.
    pub name: String,
    /// The server's URL (no credentials).
    pub url: String,
    /// Unix time the last poll ended (`None`: not polled yet).
    pub polled_at: Option<i64>,
    /// The number of the poll that made this snapshot (0: not polled yet).
    pub poll_seq: u64,
    /// How long the last poll took (all its requests).
    pub poll_duration: Duration,
    /// `Some` when the last poll could not read `status`.
    pub failure: Option<Failure>,
    /// Unix time of the last poll that read `status` (the age of [`clients`](Self::clients)).
    pub data_at: Option<i64>,
    /// The clients of the last `status` that answered (rejected clients left out), in the
    /// server's order. Kept while the server is unreachable: see [`failure`](Self::failure).
    pub clients: Arc<Vec<ClientRow>>,
    /// The server-wide switches of that reply.
    pub switches: ServerSwitches,
    /// Running actions (`progress`), when asked for and answered.
    pub actions: Option<Arc<Vec<ActionProgress>>>,
    /// Recent finished activities (`lastacts`), when asked for and answered.
    pub activities: Option<Arc<Vec<Activity>>>,
    /// Storage per client (`usage`), when asked for and answered (needs the statistics
    /// right), and when it was read.
    pub usage: Option<(i64, Arc<Vec<UsageEntry>>)>,
    /// The newest logs with errors (`logs`), when asked for and answered.
    pub error_logs: Option<Arc<Vec<LogSummary>>>,
    /// Backup counts per client, aligned with [`clients`](Self::clients) (`None` inside: not
    /// read yet), when the plan refreshes backup lists.
    pub counts: Option<Arc<Vec<Option<Counts>>>>,
    /// Clients whose backup list this poll read.
    pub counts_refreshed: usize,
    /// Backup-list requests that failed since the start.
    pub counts_errors: u64,
    /// Failed requests (`status`, `progress`, `lastacts`, `usage`, `logs`) since the start.
    pub request_errors: u64,
}

impl ServerSnapshot {
    /// A server not polled yet.
    pub fn pending(name: &str, url: &str) -> ServerSnapshot {
        ServerSnapshot {
            name: name.to_owned(),
            url: url.to_owned(),
            polled_at: None,
            poll_seq: 0,
            poll_duration: Duration::ZERO,
            failure: None,
            data_at: None,
            clients: Arc::new(Vec::new()),
            switches: ServerSwitches::default(),
            actions: None,
            activities: None,
            usage: None,
            error_logs: None,
            counts: None,
            counts_refreshed: 0,
            counts_errors: 0,
            request_errors: 0,
        }
    }

    /// The last poll read `status`.
    pub fn is_up(&self) -> bool {
        self.polled_at.is_some() && self.failure.is_none()
    }

    /// The client with this id.
    pub fn client(&self, id: i64) -> Option<&ClientRow> {
        self.clients.iter().find(|c| c.id() == id)
    }

    /// Storage used by all clients' backups, when `usage` answered.
    pub fn used_bytes(&self) -> Option<i64> {
        self.usage
            .as_ref()
            .map(|(_, u)| u.iter().map(|c| c.used.max(0)).sum())
    }

    /// The worst severity of its clients (`Critical` for a server that cannot be read).
    pub fn severity(&self) -> Severity {
        if self.failure.is_some() {
            return Severity::Critical;
        }
        self.clients
            .iter()
            .map(|c| c.health.severity())
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// How many clients match.
    pub fn count(&self, p: impl Fn(&ClientRow) -> bool) -> usize {
        self.clients.iter().filter(|c| p(c)).count()
    }
}

/// Every server of a fleet, in the order given.
#[derive(Debug, Clone, Default)]
pub struct FleetSnapshot {
    /// One per server.
    pub servers: Vec<Arc<ServerSnapshot>>,
    /// Grows with every published poll.
    pub generation: u64,
}

impl FleetSnapshot {
    /// The server of this name.
    pub fn server(&self, name: &str) -> Option<&Arc<ServerSnapshot>> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The worst severity of the fleet.
    pub fn severity(&self) -> Severity {
        self.servers
            .iter()
            .map(|s| s.severity())
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// Every client that needs attention on a readable server, worst first (then server and
    /// client name).
    pub fn attention(&self) -> Vec<(&ServerSnapshot, &ClientRow)> {
        let mut rows: Vec<(&ServerSnapshot, &ClientRow)> = self
            .servers
            .iter()
            .filter(|s| s.failure.is_none())
            .flat_map(|s| {
                s.clients
                    .iter()
                    .filter(|c| c.needs_attention())
                    .map(move |c| (s.as_ref(), c))
            })
            .collect();
        rows.sort_by(|(sa, a), (sb, b)| {
            b.rank()
                .cmp(&a.rank())
                .then_with(|| sa.name.cmp(&sb.name))
                .then_with(|| a.name().cmp(b.name()))
        });
        rows
    }
}
