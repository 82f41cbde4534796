//! Backups, their files and restores (`backups`, `restore_prepare_wait`).

use super::de;
use super::model;
use serde::{Deserialize, Serialize};

model! {
    /// A file or image backup of a client (spec: `BackupEntry`).
    ///
    /// `clientid` is not sent per entry by the server: it is filled in from the reply's
    /// top-level `clientid` (the spec's Python origin reads a per-entry key that does not
    /// exist and always gets 0).
    pub struct BackupEntry {
        /// Backup id (positive, also for images; see [`BackupEntry::backup_ref`]).
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Client id.
        #[serde(default, deserialize_with = "de::int")]
        pub clientid: i64,
        /// Unix time of the backup.
        #[serde(default, deserialize_with = "de::int")]
        pub backuptime: i64,
        /// Incremental level: 0 = full, 1, 2... = incremental.
        #[serde(default, deserialize_with = "de::int")]
        pub incremental: i64,
        /// Size in bytes (-1 while unknown).
        #[serde(default, deserialize_with = "de::int")]
        pub size_bytes: i64,
        /// Archived (kept beyond the normal retention).
        #[serde(default, deserialize_with = "de::boolean")]
        pub archived: bool,
        /// Seconds until automatic un-archiving (0 = never), when archived.
        #[serde(default, deserialize_with = "de::opt_int")]
        pub archive_timeout: Option<i64>,
        /// Marked for deletion.
        #[serde(default, deserialize_with = "de::boolean")]
        pub delete_pending: bool,
        /// Cannot be deleted (the newest file backup).
        #[serde(default, deserialize_with = "de::boolean")]
        pub disable_delete: bool,
        /// Volume of an image backup (`C:`, `SYSVOL`, `ESP`); `None` for file backups.
        #[serde(default)]
        pub letter: Option<String>,
        /// True for an image backup (set from the list it came from).
        #[serde(default, deserialize_with = "de::boolean")]
        pub image: bool,
    }
}

impl BackupEntry {
    /// The reference to use for browsing, downloads, archiving and deleting.
    pub fn backup_ref(&self) -> BackupRef {
        if self.image {
            BackupRef::Image(self.id)
        } else {
            BackupRef::File(self.id)
        }
    }

    /// True for an incremental backup.
    pub fn is_incremental(&self) -> bool {
        self.incremental > 0
    }
}

/// A file or an image backup. The server addresses image backups by their negated id; this
/// type does that for you.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackupRef {
    /// A file backup by id.
    File(i64),
    /// An image backup by its (positive) id.
    Image(i64),
}

impl BackupRef {
    /// The id as the server's `backupid`/`archive`/`delete` parameters take it.
    pub fn wire_id(self) -> i64 {
        match self {
            BackupRef::File(id) => id,
            BackupRef::Image(id) => -id.abs(),
        }
    }
}

/// All backups of one client, file and image, from one `backups sa=backups` call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientBackups {
    /// Client id.
    pub clientid: i64,
    /// Client name.
    pub clientname: String,
    /// File backups, newest first.
    pub file_backups: Vec<BackupEntry>,
    /// Image backups, newest first.
    pub image_backups: Vec<BackupEntry>,
    /// The session may archive/unarchive this client's backups.
    pub can_archive: bool,
    /// The session may delete this client's backups.
    pub can_delete: bool,
}

#[derive(Deserialize)]
pub(crate) struct BackupsReply {
    #[serde(default, deserialize_with = "de::int")]
    pub clientid: i64,
    #[serde(default, deserialize_with = "de::string")]
    pub clientname: String,
    #[serde(default, deserialize_with = "de::list")]
    pub backups: Vec<BackupEntry>,
    #[serde(default, deserialize_with = "de::list")]
    pub backup_images: Vec<BackupEntry>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub can_archive: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub can_delete: bool,
    #[serde(default)]
    pub delete_err: Option<String>,
    #[serde(default)]
    pub delete_now_err: Option<String>,
}

impl From<BackupsReply> for ClientBackups {
    fn from(r: BackupsReply) -> Self {
        let fill = |mut v: Vec<BackupEntry>, image: bool| {
            for b in &mut v {
                b.clientid = r.clientid;
                b.image = image;
            }
            v
        };
        ClientBackups {
            clientid: r.clientid,
            clientname: r.clientname,
            file_backups: fill(r.backups, false),
            image_backups: fill(r.backup_images, true),
            can_archive: r.can_archive,
            can_delete: r.can_delete,
        }
    }
}

model! {
    /// A file or folder inside a backup (`backups sa=files`).
    pub struct FileEntry {
        /// Name (lossily decoded when not UTF-8 on the server).
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// A folder.
        #[serde(default, deserialize_with = "de::boolean")]
        pub dir: bool,
        /// Size in bytes (files only).
        #[serde(default, deserialize_with = "de::int")]
        pub size: i64,
        /// Modification time (Unix; the server's `mod`).
        #[serde(default, deserialize_with = "de::int", rename = "mod")]
        pub mod_time: i64,
        /// Creation time (Unix).
        #[serde(default, deserialize_with = "de::int")]
        pub creat: i64,
        /// Access time (Unix).
        #[serde(default, deserialize_with = "de::int")]
        pub access: i64,
        /// SHA hash (base64), when the server knows it.
        #[serde(default)]
        pub shahash: Option<String>,
        /// The backup this entry belongs to (only when browsing across all backups).
        #[serde(default, deserialize_with = "de::opt_int")]
        pub backupid: Option<i64>,
    }
}

/// A folder listing inside a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupListing {
    /// Client id.
    #[serde(default, deserialize_with = "de::int")]
    pub clientid: i64,
    /// Client name.
    #[serde(default, deserialize_with = "de::string")]
    pub clientname: String,
    /// Backup id (positive, also for images).
    #[serde(default, deserialize_with = "de::int")]
    pub backupid: i64,
    /// Backup time.
    #[serde(default, deserialize_with = "de::int")]
    pub backuptime: i64,
    /// The path listed.
    #[serde(default, deserialize_with = "de::string")]
    pub path: String,
    /// Folders first, then files, each sorted by name.
    #[serde(default, deserialize_with = "de::list")]
    pub files: Vec<FileEntry>,
    /// The files can be restored to the (online) client.
    #[serde(default, deserialize_with = "de::boolean")]
    pub can_restore: bool,
    /// The client lets the server confirm restores. Without it (the client's default) a
    /// person at the client must confirm each restore before it starts.
    #[serde(default, deserialize_with = "de::boolean")]
    pub server_confirms_restore: bool,
}

/// A restore to the client that was started (see
/// [`UrbackupServer::restore_files`](crate::UrbackupServer::restore_files)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RestoreStarted {
    /// Key to wait on with `restore_prepare_wait`.
    pub wait_key: String,
    /// The client restored to.
    pub clientid: i64,
    /// The file backup restored from.
    pub backupid: i64,
    /// The folder sent as `path` (for a single file: its folder).
    pub path: String,
    /// The names inside `path` sent as `filter` (for a single file: its name), if any.
    pub filter: Option<String>,
    /// A person at the client must confirm the restore before it starts (the client does
    /// not let the server confirm restores; the listing had no `server_confirms_restore`).
    pub needs_client_confirmation: bool,
    /// The newest log id of the client before the start: the restore's own log is the first
    /// restore log after it.
    pub(crate) logs_before: i64,
    #[serde(skip)]
    pub(crate) started: std::time::Instant,
}

/// Where a restore stands while [`wait_for_restore_outcome`] waits for its log.
///
/// [`wait_for_restore_outcome`]: crate::UrbackupServer::wait_for_restore_outcome
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum RestorePhase {
    /// Neither running nor finished yet: the server is preparing it.
    Preparing,
    /// Shown in `progress` but not started on the client. For a restore with
    /// [`RestoreStarted::needs_client_confirmation`] this is the wait for a person at the
    /// client to confirm it.
    Queued,
    /// Files are being transferred.
    Running,
}

/// How a restore ended, judged from its own log on the server.
///
/// The server's `lastacts` lists failed restores like successful ones (`size_bytes` -1 for
/// every restore, no result field), so a new `lastacts` row proves nothing; the restore's log
/// (in `logs`, with `restore` set) counts its errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RestoreOutcome {
    /// The restore's log entry: errors and warnings counted by the server.
    pub log: super::LogSummary,
    /// Its lines (empty when the session may not read them).
    pub lines: Vec<super::LogLine>,
    /// Time from the start request to the outcome, measured here.
    pub elapsed: std::time::Duration,
}

impl RestoreOutcome {
    /// True when the restore's log has no error.
    pub fn succeeded(&self) -> bool {
        self.log.errors == 0
    }

    /// The error lines of the log: why it failed.
    pub fn errors(&self) -> impl Iterator<Item = &super::LogLine> {
        self.lines
            .iter()
            .filter(|l| l.level == super::LogLevel::Error)
    }
}
