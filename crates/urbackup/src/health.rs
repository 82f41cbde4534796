//! One health rule for every client: per backup kind (file, image) one [`BackupState`], with
//! a [`Severity`], plus online/offline and "client version older than the server's".
//!
//! The inputs are the `status` reply only. What the real UrBackup 2.5 server says per client
//! (`urbackupserver/serverinterface/status.cpp`, the web UI's `show_status2`):
//!
//! * `file_ok` / `image_ok`: its verdict, true only when the last backup exists and its alert
//!   script found it recent enough and not failed (the web UI shows "No recent backup"
//!   otherwise);
//! * `file_disabled` / `image_disabled`: the kind's intervals are switched off for the client
//!   (stored as `file_ok = -1`; `no_file_backups` / `no_images` in the settings do the same
//!   for every client, and the top-level flags of the reply say so);
//! * `image_not_supported`: the client cannot do image backups (e.g. Linux);
//! * `lastbackup` / `lastbackup_image`: 0 when there never was one;
//! * `last_filebackup_issues`, `no_backup_paths`: the web UI's "completed with issues" and
//!   "no backup paths" (kept here as facts, not as states).
//!
//! The rule, for each kind, first match wins:
//!
//! | state | when | severity |
//! |---|---|---|
//! | [`Unsupported`](BackupState::Unsupported) | image kind and `image_not_supported` | ok |
//! | [`Disabled`](BackupState::Disabled) | `*_disabled`, or switched off server-wide | ok |
//! | [`Never`](BackupState::Never) | no backup of the kind ever | [`HealthPolicy::never`] (warning) |
//! | [`Failed`](BackupState::Failed) | the server's verdict is not OK | critical |
//! | [`Stale`](BackupState::Stale) | older than the critical / warning age | critical / warning |
//! | [`Ok`](BackupState::Ok) | otherwise | ok |
//!
//! So a disabled or unsupported kind is never a failure, and a client that never had a backup
//! is "never", not "stale". The server has no action that reports its own version: the
//! version to compare client versions with is given in [`HealthPolicy::server_version`].

use crate::models::{ClientStatus, StatusReport};
use serde::Serialize;
use std::cmp::Ordering;

/// How bad a state is, ordered: `Ok < Warning < Critical` (as in monitoring plugins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing to do.
    #[default]
    Ok,
    /// Look at it soon.
    Warning,
    /// Act now.
    Critical,
}

impl Severity {
    /// `ok`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The monitoring-plugin code: 0, 1, 2.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A backup kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// File backups.
    File,
    /// Image backups.
    Image,
}

impl BackupKind {
    /// `file`, `image`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::File => "file",
            BackupKind::Image => "image",
        }
    }
}

/// The state of one backup kind of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupState {
    /// Recent enough and the server is content.
    Ok,
    /// The server is content, but the last backup is older than the warning or critical age.
    Stale,
    /// The server's verdict is not OK (failed, or no recent backup by its own intervals).
    Failed,
    /// Never backed up.
    Never,
    /// Switched off for this client or server-wide: not a failure.
    Disabled,
    /// The client cannot do this kind (image backups on Linux): not a failure.
    Unsupported,
}

impl BackupState {
    /// All states, in the order of [`as_str`](BackupState::as_str) names used as labels.
    pub const ALL: [BackupState; 6] = [
        BackupState::Ok,
        BackupState::Stale,
        BackupState::Failed,
        BackupState::Never,
        BackupState::Disabled,
        BackupState::Unsupported,
    ];

    /// `ok`, `stale`, `failed`, `never`, `disabled`, `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupState::Ok => "ok",
            BackupState::Stale => "stale",
            BackupState::Failed => "failed",
            BackupState::Never => "never",
            BackupState::Disabled => "disabled",
            BackupState::Unsupported => "unsupported",
        }
    }

    /// True for the states that say nothing is expected of this kind.
    pub fn is_off(self) -> bool {
        matches!(self, BackupState::Disabled | BackupState::Unsupported)
    }
}

/// One kind of one client: its state, how bad it is, and the facts it was judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindHealth {
    /// The state.
    pub state: BackupState,
    /// How bad it is.
    pub severity: Severity,
    /// Unix time of the last backup of this kind (`None`: never).
    pub last_backup: Option<i64>,
    /// Its age in seconds at the time of judging (`None`: never).
    pub age_secs: Option<i64>,
}

/// The health of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientHealth {
    /// Client id.
    pub id: i64,
    /// Client name.
    pub name: String,
    /// Settings group (`""`: default).
    pub group: String,
    /// Connected now.
    pub online: bool,
    /// File backups.
    pub file: KindHealth,
    /// Image backups.
    pub image: KindHealth,
    /// The client's software version (may be empty for a client never seen).
    pub version: String,
    /// The client version is older than [`HealthPolicy::server_version`].
    pub outdated: bool,
    /// Issues in the last file backup (the web UI's "completed with issues").
    pub file_issues: i64,
    /// The client has no backup paths configured.
    pub no_backup_paths: bool,
    /// Unix time the client was last seen (0: never).
    pub last_seen: i64,
}

impl ClientHealth {
    /// The worse severity of the two kinds.
    pub fn severity(&self) -> Severity {
        self.file.severity.max(self.image.severity)
    }

    /// The kind's health.
    pub fn kind(&self, kind: BackupKind) -> &KindHealth {
        match kind {
            BackupKind::File => &self.file,
            BackupKind::Image => &self.image,
        }
    }

    /// Either kind failed (the server's verdict).
    pub fn failed(&self) -> bool {
        self.file.state == BackupState::Failed || self.image.state == BackupState::Failed
    }

    /// Either kind is stale.
    pub fn stale(&self) -> bool {
        self.file.state == BackupState::Stale || self.image.state == BackupState::Stale
    }

    /// Either kind never had a backup.
    pub fn never(&self) -> bool {
        self.file.state == BackupState::Never || self.image.state == BackupState::Never
    }

    /// Applies server-wide switches learnt after judging (e.g. at the end of a streamed
    /// `status` reply): the same result as judging with them, since `disabled` comes right
    /// after `unsupported` in the rule.
    pub fn apply_switches(&mut self, switches: ServerSwitches) {
        for (kind, off) in [
            (&mut self.file, switches.no_file_backups),
            (&mut self.image, switches.no_images),
        ] {
            if off && kind.state != BackupState::Unsupported {
                kind.state = BackupState::Disabled;
                kind.severity = Severity::Ok;
            }
        }
    }

    /// Nothing needs attention (both kinds ok, disabled or unsupported).
    pub fn is_ok(&self) -> bool {
        self.severity() == Severity::Ok
            && !matches!(self.file.state, BackupState::Never | BackupState::Failed)
            && !matches!(self.image.state, BackupState::Never | BackupState::Failed)
    }
}

/// The limits of the rule. `Default`: no age limits (only the server's verdict), never backed
/// up is a warning, no server version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthPolicy {
    /// A file backup older than this many seconds is stale (warning).
    pub file_warning: Option<i64>,
    /// A file backup older than this many seconds is stale (critical).
    pub file_critical: Option<i64>,
    /// An image backup older than this many seconds is stale (warning).
    pub image_warning: Option<i64>,
    /// An image backup older than this many seconds is stale (critical).
    pub image_critical: Option<i64>,
    /// Severity of a kind that never had a backup (default warning).
    pub never: Option<Severity>,
    /// The server's version (e.g. `2.5.33`): clients reporting an older version are
    /// [`ClientHealth::outdated`]. The server's web API does not report it.
    pub server_version: Option<String>,
}

/// The server-wide switches of a `status` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerSwitches {
    /// `no_file_backups`: file backups switched off for every client.
    pub no_file_backups: bool,
    /// `no_images`: image backups switched off for every client.
    pub no_images: bool,
}

impl From<&StatusReport> for ServerSwitches {
    fn from(r: &StatusReport) -> Self {
        ServerSwitches {
            no_file_backups: r.no_file_backups,
            no_images: r.no_images,
        }
    }
}

impl HealthPolicy {
    /// Judges one client at Unix time `now`.
    pub fn client(&self, c: &ClientStatus, switches: ServerSwitches, now: i64) -> ClientHealth {
        let file = self.kind(
            false,
            c.file_disabled || switches.no_file_backups,
            c.file_ok,
            c.lastbackup,
            (self.file_warning, self.file_critical),
            now,
        );
        let image = self.kind(
            c.image_not_supported,
            c.image_disabled || switches.no_images,
            c.image_ok,
            c.lastbackup_image,
            (self.image_warning, self.image_critical),
            now,
        );
        let outdated = match &self.server_version {
            Some(v) => version_older(&c.client_version_string, v),
            None => false,
        };
        ClientHealth {
            id: c.id,
            name: c.name.clone(),
            group: c.groupname.clone(),
            online: c.online,
            file,
            image,
            version: c.client_version_string.clone(),
            outdated,
            file_issues: c.last_filebackup_issues,
            no_backup_paths: c.no_backup_paths,
            last_seen: c.lastseen,
        }
    }

    /// Judges every client of a `status` reply (rejected clients left out).
    pub fn fleet(&self, report: &StatusReport, now: i64) -> Vec<ClientHealth> {
        let sw = ServerSwitches::from(report);
        report
            .status
            .iter()
            .filter(|c| !c.rejected)
            .map(|c| self.client(c, sw, now))
            .collect()
    }

    fn kind(
        &self,
        unsupported: bool,
        disabled: bool,
        server_ok: bool,
        last: i64,
        (warn, crit): (Option<i64>, Option<i64>),
        now: i64,
    ) -> KindHealth {
        let (last_backup, age_secs) = if last > 0 {
            (Some(last), Some((now - last).max(0)))
        } else {
            (None, None)
        };
        let (state, severity) = if unsupported {
            (BackupState::Unsupported, Severity::Ok)
        } else if disabled {
            (BackupState::Disabled, Severity::Ok)
        } else if last <= 0 {
            (BackupState::Never, self.never.unwrap_or(Severity::Warning))
        } else if !server_ok {
            (BackupState::Failed, Severity::Critical)
        } else {
            let age = age_secs.unwrap_or(0);
            if crit.is_some_and(|l| age > l) {
                (BackupState::Stale, Severity::Critical)
            } else if warn.is_some_and(|l| age > l) {
                (BackupState::Stale, Severity::Warning)
            } else {
                (BackupState::Ok, Severity::Ok)
            }
        };
        KindHealth {
            state,
            severity,
            last_backup,
            age_secs,
        }
    }
}

/// True when version `a` is older than `b`, comparing dot-separated numbers (`2.5.26` <
/// `2.5.33`, `2.4.12` < `2.5.0`). Unparsable or empty versions are never "older".
pub fn version_older(a: &str, b: &str) -> bool {
    fn parts(v: &str) -> Option<Vec<u64>> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        // Leading numeric components only: `2.5.26 (x64)` → 2.5.26.
        let head = v.split_whitespace().next()?;
        head.split(['.', '-'])
            .map_while(|p| p.parse::<u64>().ok())
            .collect::<Vec<_>>()
            .into()
    }
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => {
            let n = x.len().max(y.len());
            let get = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
            for i in 0..n {
                match get(&x, i).cmp(&get(&y, i)) {
                    Ordering::Less => return true,
                    Ordering::Greater => return false,
                    Ordering::Equal => {}
                }
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The `status` reply of a real UrBackup 2.5.33 capture (copied in `fixtures/real-2.5/`).
    fn real(case: &str) -> StatusReport {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/real-2.5")
            .join(format!("status__{case}.json"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        serde_json::from_value(v["response"]["body_json"].clone()).unwrap()
    }

    fn by_name<'a>(h: &'a [ClientHealth], name: &str) -> &'a ClientHealth {
        h.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn real_client_with_file_backups_switched_off_is_ok() {
        // realclient: a Linux client whose file intervals are switched off, with a file
        // backup of its own (file_disabled + file_ok false + lastbackup set), images not
        // supported (and disabled).
        let r = real("after-backups");
        let now = r.status[0].lastseen + 30 * 86_400;
        let p = HealthPolicy {
            file_warning: Some(86_400),
            file_critical: Some(3 * 86_400),
            image_warning: Some(86_400),
            ..Default::default()
        };
        let h = p.fleet(&r, now);
        let c = by_name(&h, "realclient");
        assert_eq!(c.file.state, BackupState::Disabled, "not failed, not stale");
        assert_eq!(c.image.state, BackupState::Unsupported);
        assert_eq!(c.severity(), Severity::Ok);
        assert!(c.is_ok() && c.online && !c.failed());
        assert!(c.file.last_backup.is_some());
        // testclient1: never seen, both kinds disabled: ok, not "never" or "stale".
        let t = by_name(&h, "testclient1");
        assert_eq!(t.file.state, BackupState::Disabled);
        assert_eq!(t.image.state, BackupState::Disabled);
        assert!(t.is_ok() && !t.online);
    }

    #[test]
    fn real_client_before_its_first_backup_is_never_not_stale() {
        // realclient online, file backups on (no file_disabled), no backup yet.
        let r = real("real-client-online");
        let p = HealthPolicy {
            file_critical: Some(60),
            ..Default::default()
        };
        let h = p.fleet(&r, 2_000_000_000);
        let c = by_name(&h, "realclient");
        assert_eq!(c.file.state, BackupState::Never);
        assert_eq!(c.file.severity, Severity::Warning);
        assert_eq!(c.image.state, BackupState::Unsupported);
        assert!(!c.stale() && !c.failed() && c.never() && !c.is_ok());
        let p = HealthPolicy {
            never: Some(Severity::Ok),
            ..p
        };
        assert_eq!(
            p.fleet(&r, 0)[0].file.severity,
            Severity::Ok,
            "configurable"
        );
    }

    #[test]
    fn server_wide_switches_disable_a_kind() {
        let mut r = real("real-client-online");
        r.no_file_backups = true;
        let h = HealthPolicy::default().fleet(&r, 0);
        assert_eq!(by_name(&h, "realclient").file.state, BackupState::Disabled);
        assert!(by_name(&h, "realclient").is_ok());
        // Applied afterwards: the same.
        let sw = ServerSwitches::from(&r);
        r.no_file_backups = false;
        let mut late = HealthPolicy::default().fleet(&r, 0);
        assert_eq!(late[0].file.state, BackupState::Never);
        for c in &mut late {
            c.apply_switches(sw);
        }
        assert_eq!(late, h);
        let mut img = late[0].clone();
        img.apply_switches(ServerSwitches {
            no_file_backups: false,
            no_images: true,
        });
        assert_eq!(
            img.image.state,
            BackupState::Unsupported,
            "unsupported stays"
        );
    }

    fn client(json: &str) -> ClientStatus {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn failed_stale_and_ok() {
        let now = 1_000_000;
        let p = HealthPolicy {
            file_warning: Some(100),
            file_critical: Some(1000),
            image_warning: Some(100),
            server_version: Some("2.5.33".into()),
            ..Default::default()
        };
        let sw = ServerSwitches::default();
        let c = client(
            r#"{"id": 3, "name": "a", "online": true, "file_ok": true, "image_ok": false,
                "lastbackup": 999950, "lastbackup_image": 999000,
                "client_version_string": "2.5.26"}"#,
        );
        let h = p.client(&c, sw, now);
        assert_eq!(
            (h.file.state, h.file.severity),
            (BackupState::Ok, Severity::Ok)
        );
        assert_eq!(h.file.age_secs, Some(50));
        assert_eq!(
            (h.image.state, h.image.severity),
            (BackupState::Failed, Severity::Critical),
            "the server's verdict wins over the age"
        );
        assert!(h.outdated);
        let h = p.client(&c, sw, now + 500);
        assert_eq!(
            (h.file.state, h.file.severity),
            (BackupState::Stale, Severity::Warning)
        );
        let h = p.client(&c, sw, now + 5000);
        assert_eq!(
            (h.file.state, h.file.severity),
            (BackupState::Stale, Severity::Critical)
        );
        // No image age limits: an OK image is OK whatever its age.
        let c2 = client(r#"{"id": 4, "name": "b", "image_ok": true, "lastbackup_image": 1}"#);
        assert_eq!(p.client(&c2, sw, now).image.state, BackupState::Stale);
        let p2 = HealthPolicy::default();
        assert_eq!(p2.client(&c2, sw, now).image.state, BackupState::Ok);
        assert!(!p2.client(&c2, sw, now).outdated, "no server version given");
    }

    #[test]
    fn versions() {
        assert!(version_older("2.5.26", "2.5.33"));
        assert!(version_older("2.4.12", "2.5"));
        assert!(!version_older("2.5.33", "2.5.33"));
        assert!(!version_older("2.5.33", "2.5.26"));
        assert!(!version_older("", "2.5.33"));
        assert!(!version_older("x", "2.5.33"));
        assert!(version_older("2.5", "2.5.1"));
    }
}
