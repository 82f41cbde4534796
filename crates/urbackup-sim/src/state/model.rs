//! What the server holds: clients, backups, groups, users, settings rows, logs, processes,
//! sessions, activities, rights.

use super::*;

/// A client known to the server.
#[derive(Debug, Clone)]
pub struct Client {
    /// Client id (> 0).
    pub id: i64,
    /// Client name (stored as received, i.e. `'` doubled when created over the API).
    pub name: String,
    /// Settings group id (0 = default group).
    pub group_id: i64,
    /// Currently connected.
    pub online: bool,
    /// Client software version (`client_version_string`).
    pub client_version: String,
    /// OS description (`os_version_string`).
    pub os_version: String,
    /// `windows`, `linux`, `osx` or `""`.
    pub os_simple: String,
    /// Last IP (`"-"` = not seen since server start).
    pub ip: String,
    /// Last seen (Unix seconds; online clients report "now").
    pub lastseen: i64,
    /// File backup status flag.
    pub file_ok: bool,
    /// Image backup status flag.
    pub image_ok: bool,
    /// Client cannot do image backups (Linux clients).
    pub image_not_supported: bool,
    /// Client UID.
    pub uid: String,
    /// `None` = never set (`""`), `Some(false)` = `"0"`, `Some(true)` = `"1"`.
    pub delete_pending: Option<bool>,
    /// Internet auth key (the client's own `internet_authkey` setting, use 2).
    pub authkey: String,
    /// Client has no backup paths configured.
    pub no_backup_paths: bool,
    /// Issues in the last file backup.
    pub last_filebackup_issues: i64,
    /// Connection-state status code overriding the process code (11–17), if any.
    pub status_override: Option<i64>,
    /// File backups, oldest first.
    pub file_backups: Vec<FileBackup>,
    /// Image backups, oldest first.
    pub image_backups: Vec<ImageBackup>,
    /// Seed of the synthetic file trees of this client's backups.
    pub tree_seed: u64,
    /// The client lets the server confirm restores (`urbackupclientbackend --restore
    /// server-confirms`): browsing shows `server_confirms_restore`. Otherwise a person at the
    /// client must confirm each restore.
    pub server_confirms_restore: bool,
    /// Its file backups hold `/etc/caf\xE9-latin1.txt`, a name that is not UTF-8 (Latin-1),
    /// and its backup logs quote it (see [`crate::bytes`]).
    pub latin1_file: bool,
    /// Files a test put into its file backups beside the generated tree
    /// ([`ClientSpec::file`](crate::ClientSpec::file) and friends).
    pub extras: std::sync::Arc<Vec<crate::extra::ExtraFile>>,
}

/// The starts a connected client's thread holds: the `do_full_backup_now`,
/// `do_incr_backup_now`, `do_full_image_now` and `do_incr_image_now` flags of the real
/// server's `ClientMain.cpp`. `start_backup` sets one; each turn of the thread's loop runs
/// the first that can run and clears it. One that cannot run stays set, and a pending image
/// start keeps every file backup of the client from starting (the file branches need both
/// image flags clear), until it runs, the server restarts, or the client's thread ends
/// (`server.cpp` sends it `exit` when the client has been away long enough, and shows it
/// offline: the simulator's `online: false`):
///
/// * an image start while `no_images` is on (both versions) waits until it is switched off;
/// * an image start of a client that cannot do image backups waits forever on 2.4; 2.5
///   drops the message instead (`msg=="START IMAGE INCR" && can_backup_images`);
/// * a file start while `no_file_backups` is on waits until it is switched off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingStarts {
    /// `START BACKUP FULL` received.
    pub full_file: bool,
    /// `START BACKUP INCR` received.
    pub incr_file: bool,
    /// `START IMAGE FULL` received.
    pub full_image: bool,
    /// `START IMAGE INCR` received.
    pub incr_image: bool,
}

impl PendingStarts {
    /// No start waits.
    pub fn is_empty(&self) -> bool {
        *self == PendingStarts::default()
    }

    /// An image start waits: no file backup of the client starts.
    pub fn blocks_file_backups(&self) -> bool {
        self.full_image || self.incr_image
    }
}

/// The Latin-1 file name of clients with [`Client::latin1_file`] (`caf\xE9-latin1.txt`, as
/// the simulator holds raw bytes).
pub fn latin1_file_name() -> String {
    crate::bytes::latin1(r"caf\xE9-latin1.txt")
}

impl Client {
    /// A fresh offline client as created by `add_client`.
    pub fn new(id: i64, name: &str) -> Client {
        Client {
            id,
            name: name.to_string(),
            group_id: 0,
            online: false,
            client_version: String::new(),
            os_version: String::new(),
            os_simple: String::new(),
            ip: "-".into(),
            lastseen: 0,
            file_ok: false,
            image_ok: false,
            image_not_supported: false,
            uid: String::new(),
            delete_pending: None,
            authkey: String::new(),
            no_backup_paths: false,
            last_filebackup_issues: 0,
            status_override: None,
            file_backups: Vec::new(),
            image_backups: Vec::new(),
            tree_seed: mix(id as u64 ^ 0xC0FFEE),
            server_confirms_restore: true,
            latin1_file: false,
            extras: Default::default(),
        }
    }

    /// Time of the newest file backup (0 = never).
    pub fn lastbackup(&self) -> i64 {
        self.file_backups
            .iter()
            .map(|b| b.backuptime)
            .max()
            .unwrap_or(0)
    }

    /// Time of the newest image backup (0 = never).
    pub fn lastbackup_image(&self) -> i64 {
        self.image_backups
            .iter()
            .map(|b| b.backuptime)
            .max()
            .unwrap_or(0)
    }

    /// Windows-like client (image capable).
    pub fn is_windows(&self) -> bool {
        self.os_simple == "windows"
    }

    /// Tree spec of a file backup.
    pub fn tree_spec(&self, b: &FileBackup) -> TreeSpec {
        TreeSpec {
            seed: self.tree_seed,
            backup_id: b.id,
            backuptime: b.backuptime,
            windows: self.os_simple != "linux",
            latin1: self.latin1_file,
        }
    }
}

/// A file backup.
#[derive(Debug, Clone)]
pub struct FileBackup {
    /// Backup id (global counter).
    pub id: i64,
    /// Start time (Unix seconds).
    pub backuptime: i64,
    /// Incremental level (0 = full).
    pub incremental: i64,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Archived flag.
    pub archived: bool,
    /// Seconds until automatic un-archiving (0 = never).
    pub archive_timeout: i64,
    /// Marked for deletion.
    pub delete_pending: bool,
    /// Duration in seconds.
    pub duration: i64,
    /// Resumed backup.
    pub resumed: bool,
}

/// An image backup.
#[derive(Debug, Clone)]
pub struct ImageBackup {
    /// Image id (positive; negate it for operations).
    pub id: i64,
    /// Start time.
    pub backuptime: i64,
    /// Incremental level.
    pub incremental: i64,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Volume letter, e.g. `C:`.
    pub letter: String,
    /// Archived flag.
    pub archived: bool,
    /// Archive timeout.
    pub archive_timeout: i64,
    /// Marked for deletion.
    pub delete_pending: bool,
    /// Duration in seconds.
    pub duration: i64,
}

/// Extra client (hostname scanned by the server).
#[derive(Debug, Clone)]
pub struct ExtraClient {
    /// Id (sent as a string).
    pub id: i64,
    /// Hostname as received.
    pub hostname: String,
}

/// Settings group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Group id (> 0; settings target is `-id`).
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A web-interface user.
#[derive(Debug, Clone)]
pub struct User {
    /// User id (> 0).
    pub id: i64,
    /// Name (as stored).
    pub name: String,
    /// Password salt.
    pub salt: String,
    /// Stored hash (PBKDF2 hex for rounds > 0, else MD5 hex).
    pub hash: String,
    /// PBKDF2 rounds (0 = legacy MD5).
    pub pbkdf2_rounds: u32,
    /// (domain, right) pairs.
    pub rights: Vec<(String, String)>,
    /// Report e-mail settings (`logs`).
    pub report_mail: String,
    /// Report log level (None = never set → `""`).
    pub report_loglevel: Option<i64>,
    /// Report send-only (None = never set → `""`).
    pub report_sendonly: Option<i64>,
}

/// One stored setting row for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingRow {
    /// Own value (raw text).
    pub value: String,
    /// Value supplied by the client software.
    pub value_client: String,
    /// `use` bit mask (§5.4).
    pub use_: i64,
}

/// A stored log (`logs`).
#[derive(Debug, Clone)]
pub struct StoredLog {
    /// Log id.
    pub id: i64,
    /// Client id.
    pub client_id: i64,
    /// Time (Unix seconds).
    pub time: i64,
    /// Number of error lines.
    pub errors: i64,
    /// Number of warning lines.
    pub warnings: i64,
    /// Image backup log.
    pub image: bool,
    /// Incremental level.
    pub incremental: i64,
    /// Resumed.
    pub resumed: bool,
    /// Restore log.
    pub restore: bool,
    /// Log text (`LEVEL-TIME-MSG` lines); `None` = synthesized lazily from the metadata.
    pub data: Option<String>,
}

/// A live log line.
#[derive(Debug, Clone)]
pub struct LiveEntry {
    /// Id within its buffer.
    pub id: i64,
    /// −1 debug, 0 info, 1 warning, 2 error.
    pub loglevel: i64,
    /// Message.
    pub msg: String,
    /// Unix seconds.
    pub time: i64,
    /// Backup log this line belongs to.
    pub logid: Option<i64>,
}

/// Ring buffer of the last 20 live log lines.
#[derive(Debug, Clone)]
pub struct LiveLog {
    /// Next id to assign.
    pub next_id: i64,
    /// Entries (at most 20).
    pub entries: VecDeque<LiveEntry>,
}

/// Kind of a running process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcKind {
    /// File backup.
    FileBackup,
    /// Image backup.
    ImageBackup,
    /// File restore.
    Restore,
    /// Statistics recalculation.
    Statistics,
}

/// A running process (`progress`).
#[derive(Debug, Clone)]
pub struct Process {
    /// Process id.
    pub id: i64,
    /// Client id (0 = server job).
    pub client_id: i64,
    /// Action code.
    pub action: i64,
    /// Kind.
    pub kind: ProcKind,
    /// Virtual start time (ms).
    pub start_ms: i64,
    /// Virtual duration (ms).
    pub duration_ms: i64,
    /// Total bytes.
    pub total_bytes: i64,
    /// Log id (stored log created when the process ends).
    pub logid: i64,
    /// Details text.
    pub details: String,
    /// Stop requested.
    pub stop: bool,
    /// Incremental level of the resulting backup.
    pub incremental: i64,
    /// Stored-log lines collected so far.
    pub log_lines: Vec<(i64, i64, String)>,
    /// Milestones already emitted.
    pub stage: u32,
    /// Restore path (restores).
    pub path: String,
    /// A restore the client must confirm and has not yet: it stays at "preparing" (pcdone
    /// -1) until then (`/_sim/confirm_restore`).
    pub awaiting_confirmation: bool,
    /// The error line a restore ends with, if it fails (e.g. its filter names nothing).
    pub failure: Option<String>,
}

/// A session.
#[derive(Debug, Clone)]
pub struct Session {
    /// −1 not logged in, 0 anonymous admin, > 0 user id.
    pub user_id: i64,
    /// Username of the login.
    pub username: String,
    /// `rnd` of the last `salt` call.
    pub rnd: String,
    /// Last use (virtual ms).
    pub last_used_ms: i64,
}

/// Deletion / restore activity for `lastacts`.
#[derive(Debug, Clone)]
pub struct Activity {
    /// id
    pub id: i64,
    /// client id
    pub clientid: i64,
    /// time
    pub backuptime: i64,
    /// incremental
    pub incremental: i64,
    /// duration (s)
    pub duration: i64,
    /// size
    pub size_bytes: i64,
    /// image
    pub image: bool,
    /// deletion
    pub del: bool,
    /// restore
    pub restore: bool,
    /// details
    pub details: String,
}

/// Access rights value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Right {
    /// `"all"`
    All,
    /// `"none"` (or unknown/`tokens`)
    None,
    /// client id list
    List(Vec<i64>),
}

impl Right {
    /// Parse a right value.
    pub fn parse(s: &str) -> Right {
        match s {
            "all" => Right::All,
            "none" | "" | "tokens" => Right::None,
            s => {
                let v: Vec<i64> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                if v.is_empty() {
                    Right::None
                } else {
                    Right::List(v)
                }
            }
        }
    }
    /// Allows client `id`?
    pub fn allows(&self, id: i64) -> bool {
        match self {
            Right::All => true,
            Right::None => false,
            Right::List(v) => v.contains(&id),
        }
    }
    /// `"all"`?
    pub fn is_all(&self) -> bool {
        matches!(self, Right::All)
    }
    /// `"none"`?
    pub fn is_none(&self) -> bool {
        matches!(self, Right::None)
    }
    /// String form as in the login reply.
    pub fn to_str(&self) -> String {
        match self {
            Right::All => "all".into(),
            Right::None => "none".into(),
            Right::List(v) => v
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}
