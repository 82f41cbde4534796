//! Running actions and backup types (`progress`, `lastacts`, `start_backup`).

use super::de;
use super::model;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The four kinds of backup a client can be asked for (spec: `BackupType`).
///
/// | spec | Rust | `start_type` |
/// |---|---|---|
/// | `INCR_FILE` | [`BackupType::IncrFile`] | `incr_file` |
/// | `FULL_FILE` | [`BackupType::FullFile`] | `full_file` |
/// | `INCR_IMAGE` | [`BackupType::IncrImage`] | `incr_image` |
/// | `FULL_IMAGE` | [`BackupType::FullImage`] | `full_image` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupType {
    /// Incremental file backup.
    IncrFile,
    /// Full file backup.
    FullFile,
    /// Incremental image backup.
    IncrImage,
    /// Full image backup.
    FullImage,
}

impl BackupType {
    /// The server's name (`start_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::IncrFile => "incr_file",
            BackupType::FullFile => "full_file",
            BackupType::IncrImage => "incr_image",
            BackupType::FullImage => "full_image",
        }
    }

    /// True for image backups.
    pub fn is_image(self) -> bool {
        matches!(self, BackupType::IncrImage | BackupType::FullImage)
    }

    /// Builds the type from "file or image" and "incremental or full".
    pub fn new(image: bool, full: bool) -> Self {
        match (image, full) {
            (false, false) => BackupType::IncrFile,
            (false, true) => BackupType::FullFile,
            (true, false) => BackupType::IncrImage,
            (true, true) => BackupType::FullImage,
        }
    }
}

impl fmt::Display for BackupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackupType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "incr_file" => BackupType::IncrFile,
            "full_file" => BackupType::FullFile,
            "incr_image" => BackupType::IncrImage,
            "full_image" => BackupType::FullImage,
            other => return Err(format!("unknown backup type `{other}`")),
        })
    }
}

/// What a running process does (spec: `ActionType`; values from the server's
/// `server_status.h`). Values the server may add later are kept as [`ActionType::Other`].
///
/// The spec's values 1–13 keep their names (`INCR_FILE` = [`ActionType::IncrFile`] = 1, ...,
/// `RECALC_STATS` = [`ActionType::RecalcStats`] = 13); the real server also reports 0, 7 and
/// 14–17, which are mapped too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActionType {
    /// 0: nothing.
    #[default]
    None,
    /// 1: incremental file backup.
    IncrFile,
    /// 2: full file backup.
    FullFile,
    /// 3: incremental image backup.
    IncrImage,
    /// 4: full image backup.
    FullImage,
    /// 5: resumed incremental file backup.
    ResumedIncrFile,
    /// 6: resumed full file backup.
    ResumedFullFile,
    /// 7: CDP sync (unused by 2.x).
    CdpSync,
    /// 8: file restore.
    FileRestore,
    /// 9: image restore.
    ImageRestore,
    /// 10: client update.
    ClientUpdate,
    /// 11: checking database integrity.
    CheckDbIntegrity,
    /// 12: backing up the database.
    BackupDb,
    /// 13: recalculating statistics.
    RecalcStats,
    /// 14: nightly clean-up.
    NightlyCleanup,
    /// 15: emergency clean-up.
    EmergencyCleanup,
    /// 16: storage migration.
    StorageMigration,
    /// 17: start-up recovery.
    StartupRecovery,
    /// A value this library does not know, kept as sent.
    Other(i64),
}

impl ActionType {
    /// The server's integer.
    pub fn code(self) -> i64 {
        use ActionType::*;
        match self {
            None => 0,
            IncrFile => 1,
            FullFile => 2,
            IncrImage => 3,
            FullImage => 4,
            ResumedIncrFile => 5,
            ResumedFullFile => 6,
            CdpSync => 7,
            FileRestore => 8,
            ImageRestore => 9,
            ClientUpdate => 10,
            CheckDbIntegrity => 11,
            BackupDb => 12,
            RecalcStats => 13,
            NightlyCleanup => 14,
            EmergencyCleanup => 15,
            StorageMigration => 16,
            StartupRecovery => 17,
            Other(v) => v,
        }
    }

    /// The type for a server integer; unknown values become [`ActionType::Other`].
    pub fn from_code(v: i64) -> Self {
        use ActionType::*;
        match v {
            0 => None,
            1 => IncrFile,
            2 => FullFile,
            3 => IncrImage,
            4 => FullImage,
            5 => ResumedIncrFile,
            6 => ResumedFullFile,
            7 => CdpSync,
            8 => FileRestore,
            9 => ImageRestore,
            10 => ClientUpdate,
            11 => CheckDbIntegrity,
            12 => BackupDb,
            13 => RecalcStats,
            14 => NightlyCleanup,
            15 => EmergencyCleanup,
            16 => StorageMigration,
            17 => StartupRecovery,
            other => Other(other),
        }
    }

    /// A short English description, as the web interface shows it.
    pub fn description(self) -> String {
        use ActionType::*;
        match self {
            None => "none".into(),
            IncrFile => "incremental file backup".into(),
            FullFile => "full file backup".into(),
            IncrImage => "incremental image backup".into(),
            FullImage => "full image backup".into(),
            ResumedIncrFile => "resumed incremental file backup".into(),
            ResumedFullFile => "resumed full file backup".into(),
            CdpSync => "CDP sync".into(),
            FileRestore => "file restore".into(),
            ImageRestore => "image restore".into(),
            ClientUpdate => "client update".into(),
            CheckDbIntegrity => "checking database integrity".into(),
            BackupDb => "backing up database".into(),
            RecalcStats => "recalculating statistics".into(),
            NightlyCleanup => "nightly clean-up".into(),
            EmergencyCleanup => "emergency clean-up".into(),
            StorageMigration => "storage migration".into(),
            StartupRecovery => "start-up recovery".into(),
            Other(v) => format!("action {v}"),
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description())
    }
}

impl Serialize for ActionType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for ActionType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::int(d).map(ActionType::from_code)
    }
}

model! {
    /// A running action of the `progress` reply (spec: `ActionProgress`).
    pub struct ActionProgress {
        /// Client id (0 for server-wide jobs).
        #[serde(default, deserialize_with = "de::int")]
        pub clientid: i64,
        /// Process id (what `stop_action` sends as `stop_id`).
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Client name (`""` for server-wide jobs).
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// What runs.
        #[serde(default)]
        pub action: ActionType,
        /// Percent done, -1 while unknown (the server's `pcdone`).
        #[serde(default = "minus_one", deserialize_with = "de::int", alias = "pcdone")]
        pub progress_percent: i64,
        /// Free text (volume, path...).
        #[serde(default, deserialize_with = "de::string")]
        pub details: String,
        /// Secondary percentage, -1 = none.
        #[serde(default = "minus_one", deserialize_with = "de::int")]
        pub detail_pc: i64,
        /// Total bytes, -1 while unknown.
        #[serde(default = "minus_one", deserialize_with = "de::int")]
        pub total_bytes: i64,
        /// Bytes done.
        #[serde(default, deserialize_with = "de::int")]
        pub done_bytes: i64,
        /// Current speed in bytes per millisecond.
        #[serde(default, deserialize_with = "de::float")]
        pub speed_bpms: f64,
        /// Estimated remaining time in milliseconds (0 or negative when unknown).
        #[serde(default, deserialize_with = "de::int")]
        pub eta_ms: i64,
        /// Hash queue length.
        #[serde(default, deserialize_with = "de::int")]
        pub queue: i64,
        /// Id of this backup's live log (see `livelog`).
        #[serde(default, deserialize_with = "de::int")]
        pub logid: i64,
        /// Paused.
        #[serde(default, deserialize_with = "de::boolean")]
        pub paused: bool,
        /// The session may stop it.
        #[serde(default, deserialize_with = "de::boolean")]
        pub can_stop_backup: bool,
        /// The session may read its log.
        #[serde(default, deserialize_with = "de::boolean")]
        pub can_show_backup_log: bool,
    }
}

impl ActionProgress {
    /// The estimated time left, `None` while unknown. The server reports every estimate
    /// between 1 ms and 60 s as 61 s (`eta_ms` 61000): that is "under a minute"
    /// ([`eta_under_a_minute`](Self::eta_under_a_minute)), given here as its upper bound,
    /// 60 s, never as the 61 s the server sends.
    pub fn eta(&self) -> Option<std::time::Duration> {
        if self.eta_under_a_minute() {
            return Some(std::time::Duration::from_secs(60));
        }
        (self.eta_ms > 0).then(|| std::time::Duration::from_millis(self.eta_ms as u64))
    }

    /// True when the server says "less than a minute" (its `eta_ms` 61000).
    pub fn eta_under_a_minute(&self) -> bool {
        self.eta_ms == 61000
    }

    /// The percentage done, `None` while the server does not know yet (indexing).
    pub fn percent(&self) -> Option<u8> {
        (self.progress_percent >= 0).then(|| self.progress_percent.min(100) as u8)
    }
}

fn minus_one() -> i64 {
    -1
}

model! {
    /// A recent activity of `lastacts`: a finished backup, a deletion or a restore.
    pub struct Activity {
        /// Backup, image or restore id.
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Client id.
        #[serde(default, deserialize_with = "de::int")]
        pub clientid: i64,
        /// Client name.
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// Unix time.
        #[serde(default, deserialize_with = "de::int")]
        pub backuptime: i64,
        /// Incremental level (0 = full).
        #[serde(default, deserialize_with = "de::int")]
        pub incremental: i64,
        /// Duration in seconds.
        #[serde(default, deserialize_with = "de::int")]
        pub duration: i64,
        /// Size in bytes, -1 when not calculated.
        #[serde(default, deserialize_with = "de::int")]
        pub size_bytes: i64,
        /// An image backup.
        #[serde(default, deserialize_with = "de::boolean")]
        pub image: bool,
        /// A deletion (the server's `del`).
        #[serde(default, deserialize_with = "de::boolean", rename = "del")]
        pub deletion: bool,
        /// A restore.
        #[serde(default, deserialize_with = "de::boolean")]
        pub restore: bool,
        /// A resumed backup.
        #[serde(default, deserialize_with = "de::boolean")]
        pub resumed: bool,
        /// Volume letter or restore path.
        #[serde(default, deserialize_with = "de::string")]
        pub details: String,
    }
}
