//! The simulated server's state. All fields are public so tests can set up and inspect
//! anything through [`crate::SimServer::with_state`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde_json::{json, Value};

use crate::settings_def::{self, Ty};
use crate::tree::{mix, Rng, TreeSpec};

/// Action codes (§5.1).
pub mod action {
    /// incremental file backup
    pub const INCR_FILE: i64 = 1;
    /// full file backup
    pub const FULL_FILE: i64 = 2;
    /// incremental image backup
    pub const INCR_IMAGE: i64 = 3;
    /// full image backup
    pub const FULL_IMAGE: i64 = 4;
    /// file restore
    pub const RESTORE_FILE: i64 = 8;
    /// recalculating statistics
    pub const RECALC_STATS: i64 = 13;
}

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

/// Behaviour knobs that live with the state.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Which server generation the simulator speaks.
    pub version: ServerVersion,
    /// Virtual duration of a backup.
    pub backup_duration_ms: i64,
    /// Session idle timeout (virtual ms).
    pub session_idle_ms: i64,
    /// Failed-login rate limiting enabled.
    pub rate_limit: bool,
    /// Installer files present (otherwise `download_client` answers
    /// `ERROR: Signature verification failed` like a source build).
    pub installers_available: bool,
}

/// The UrBackup server generation the simulator speaks ([`crate::SimBuilder::server_version`],
/// `--server-version`).
///
/// | | 2.5 (default, as 2.5.33) | 2.4 (as 2.4.15) |
/// |---|---|---|
/// | `status` | `server_pubkey`; per client `uid`, `image_not_supported` | neither |
/// | client and group settings | `{use, value, value_client, value_group}` objects; `key.use` per key | plain values, one `overwrite` flag per client: a client save stores its keys only with `overwrite=true` |
/// | global settings | `{value}` objects | plain values |
/// | archive rules | the `archive` setting (`every_c0=...&...`) | `archive_settings` beside `settings`; saved from `archive_N` fields (a save replaces them) |
/// | `add_client` | `server_url`; port as text | no `server_url`; port as a number |
/// | login | more than 10 failures in 40 s ban the address for 10 min (`error: 3`) | no ban |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerVersion {
    /// UrBackup 2.4 (replies of 2.4.15).
    V2_4,
    /// UrBackup 2.5 (replies of 2.5.33).
    #[default]
    V2_5,
}

impl std::str::FromStr for ServerVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t == "2.4" || t.starts_with("2.4.") {
            Ok(ServerVersion::V2_4)
        } else if t == "2.5" || t.starts_with("2.5.") {
            Ok(ServerVersion::V2_5)
        } else {
            Err(format!(
                "`{s}`: the simulator speaks 2.4 (2.4.15) and 2.5 (2.5.33)"
            ))
        }
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerVersion::V2_4 => "2.4.15",
            ServerVersion::V2_5 => "2.5.33",
        })
    }
}

impl State {
    /// True when the simulator speaks UrBackup 2.4.
    pub fn v24(&self) -> bool {
        self.cfg.version == ServerVersion::V2_4
    }
}

/// The whole simulated server state.
#[derive(Debug, Clone)]
pub struct State {
    /// Clients by id.
    pub clients: BTreeMap<i64, Client>,
    /// Next client id.
    pub next_client_id: i64,
    /// Extra clients.
    pub extra_clients: Vec<ExtraClient>,
    /// Next extra client id.
    pub next_extra_id: i64,
    /// Groups by id.
    pub groups: BTreeMap<i64, Group>,
    /// Next group id.
    pub next_group_id: i64,
    /// Users by id.
    pub users: BTreeMap<i64, User>,
    /// Next user id.
    pub next_user_id: i64,
    /// Setting rows per target: 0 global, > 0 client, < 0 group (−group id).
    pub settings: BTreeMap<i64, BTreeMap<String, SettingRow>>,
    /// Flat general settings (raw text; absent = default).
    pub general: BTreeMap<String, String>,
    /// Mail settings.
    pub mail: BTreeMap<String, String>,
    /// LDAP settings.
    pub ldap: BTreeMap<String, String>,
    /// Stored logs by id.
    pub logs: BTreeMap<i64, StoredLog>,
    /// Next log id.
    pub next_log_id: i64,
    /// Next file backup id.
    pub next_file_backup_id: i64,
    /// Next image backup id.
    pub next_image_backup_id: i64,
    /// Deletions/restores for lastacts.
    pub activities: Vec<Activity>,
    /// Live logs: 0 = server, else client id.
    pub livelogs: HashMap<i64, LiveLog>,
    /// Running processes.
    pub processes: Vec<Process>,
    /// Next process id.
    pub next_process_id: i64,
    /// Next restore id: the real server numbers restores in their own table, so a restore
    /// and a backup often share an id in `lastacts`.
    pub next_restore_id: i64,
    /// Sessions by token.
    pub sessions: HashMap<String, Session>,
    /// Restore wait keys → ready time (virtual ms).
    pub restore_waits: HashMap<String, i64>,
    /// Mounted image ids.
    pub mounted_images: HashSet<i64>,
    /// Server identity.
    pub server_identity: String,
    /// Public key fingerprint text.
    pub server_fingerprint: String,
    /// Dismissed warnings (`stop_show`).
    pub stop_show: BTreeSet<String>,
    /// Failed logins per IP (virtual ms timestamps).
    pub failed_logins: HashMap<String, Vec<i64>>,
    /// Banned IPs → ban start (virtual ms).
    pub banned: HashMap<String, i64>,
    /// Report script (`scripts sa=get_report`).
    pub report_script: String,
    /// Client name → id index.
    pub name_index: HashMap<String, i64>,
    /// Last tick (virtual ms).
    pub now_ms: i64,
    /// Knobs.
    pub cfg: SimConfig,
    /// Seed used for generated data.
    pub seed: u64,
    /// Whether the global `internet_authkey` was ever saved. While it was not, the real server
    /// makes up a new random key on every settings reload (each general or group save, each
    /// restart: `server_settings.cpp`, `readSettingsClient`), and so does the simulator.
    pub global_authkey_stored: bool,
}

/// Days since 1970-01-01 → (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Human-readable byte size like the server logs.
pub fn fmt_bytes(b: i64) -> String {
    let b = b as f64;
    if b > 1024.0 * 1024.0 * 1024.0 {
        format!("{} GB", crate::json::fmt_g(b / 1024.0 / 1024.0 / 1024.0))
    } else if b > 1024.0 * 1024.0 {
        format!("{} MB", crate::json::fmt_g(b / 1024.0 / 1024.0))
    } else {
        format!("{} KB", crate::json::fmt_g(b / 1024.0))
    }
}

impl State {
    /// An empty server.
    pub fn new(seed: u64, cfg: SimConfig, now_ms: i64) -> State {
        let mut rng = Rng(mix(seed ^ 0xABCD));
        let ident = rand_str(&mut rng, 20);
        let fp = (0..32)
            .map(|_| format!("{:02X}", rng.below(256)))
            .collect::<Vec<_>>()
            .join(":");
        let mut settings = BTreeMap::new();
        let mut global = BTreeMap::new();
        global.insert(
            "internet_authkey".to_string(),
            SettingRow {
                value: rand_str(&mut rng, 10),
                value_client: String::new(),
                use_: 2,
            },
        );
        settings.insert(0, global);
        let mut general = BTreeMap::new();
        general.insert("restore_authkey".to_string(), rand_str(&mut rng, 10));
        let mut livelogs = HashMap::new();
        livelogs.insert(
            0,
            LiveLog {
                next_id: 1,
                entries: VecDeque::new(),
            },
        );
        let mut st = State {
            clients: BTreeMap::new(),
            next_client_id: 1,
            extra_clients: Vec::new(),
            next_extra_id: 1,
            groups: BTreeMap::new(),
            next_group_id: 1,
            users: BTreeMap::new(),
            next_user_id: 1,
            settings,
            general,
            mail: BTreeMap::new(),
            ldap: BTreeMap::new(),
            logs: BTreeMap::new(),
            next_log_id: 1,
            next_file_backup_id: 1,
            next_image_backup_id: 1,
            activities: Vec::new(),
            livelogs,
            processes: Vec::new(),
            next_process_id: 1,
            next_restore_id: 1,
            sessions: HashMap::new(),
            restore_waits: HashMap::new(),
            mounted_images: HashSet::new(),
            server_identity: ident,
            server_fingerprint: fp,
            stop_show: BTreeSet::new(),
            failed_logins: HashMap::new(),
            banned: HashMap::new(),
            report_script: String::new(),
            name_index: HashMap::new(),
            now_ms,
            cfg,
            seed,
            global_authkey_stored: false,
        };
        st.log_startup();
        st
    }

    /// The start-up lines the real server's live log holds from its first moments on
    /// (`livelog` with `clientid=0` is never empty on a running server).
    fn log_startup(&mut self) {
        let t = self.now();
        for msg in [
            "UrBackup Server (simulated) started",
            "Looking for old Sessions... 0 sessions",
        ] {
            self.livelog(0, 0, msg.into(), t, None);
        }
    }

    /// What the real server does when it reloads its settings (after a general or group
    /// save): an `internet_authkey` that was never saved is made up anew.
    pub fn reload_settings(&mut self) {
        if self.global_authkey_stored {
            return;
        }
        if let Some(row) = self
            .settings
            .get_mut(&0)
            .and_then(|g| g.get_mut("internet_authkey"))
        {
            row.value = crate::auth::random_alnum(10);
        }
    }

    /// A server restart: sessions, running processes, mounts and restore waits are gone, the
    /// settings are read anew and the live log notes the start.
    pub fn restart(&mut self) {
        self.sessions.clear();
        self.processes.clear();
        self.mounted_images.clear();
        self.restore_waits.clear();
        self.reload_settings();
        self.log_startup();
    }

    /// Current virtual time in seconds.
    pub fn now(&self) -> i64 {
        self.now_ms / 1000
    }

    /// Add a client, keeping the name index up to date.
    pub fn insert_client(&mut self, c: Client) {
        self.name_index.insert(c.name.clone(), c.id);
        if c.id >= self.next_client_id {
            self.next_client_id = c.id + 1;
        }
        self.clients.insert(c.id, c);
    }

    /// Client id by name.
    pub fn client_id(&self, name: &str) -> Option<i64> {
        self.name_index.get(name).copied()
    }

    /// Group name of a group id (`""` for 0/unknown).
    pub fn group_name(&self, gid: i64) -> String {
        self.groups
            .get(&gid)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    }

    /// Append a live log line to a buffer (0 = server log).
    pub fn livelog(
        &mut self,
        clientid: i64,
        level: i64,
        msg: String,
        time: i64,
        logid: Option<i64>,
    ) {
        let buf = self.livelogs.entry(clientid).or_insert_with(|| LiveLog {
            next_id: 1,
            entries: VecDeque::new(),
        });
        let id = buf.next_id;
        buf.next_id += 1;
        buf.entries.push_back(LiveEntry {
            id,
            loglevel: level,
            msg,
            time,
            logid,
        });
        while buf.entries.len() > 20 {
            buf.entries.pop_front();
        }
    }

    // ------------------------------------------------------------------ rights

    /// Evaluate right `domain` for a session user id (§3.1).
    pub fn right(&self, user_id: i64, domain: &str) -> Right {
        if user_id == 0 {
            return Right::All;
        }
        if user_id < 0 {
            return Right::None;
        }
        let Some(u) = self.users.get(&user_id) else {
            return Right::None;
        };
        if u.rights.iter().any(|(d, r)| d == "all" && r == "all") {
            return Right::All;
        }
        u.rights
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, r)| Right::parse(r))
            .unwrap_or(Right::None)
    }

    // ---------------------------------------------------------------- settings

    /// Parent target of a settings target (client → group or global; group → global).
    pub fn parent_target(&self, target: i64) -> Option<i64> {
        if target == 0 {
            None
        } else if target < 0 {
            Some(0)
        } else {
            let g = self.clients.get(&target).map(|c| c.group_id).unwrap_or(0);
            if g != 0 && self.groups.contains_key(&g) {
                Some(-g)
            } else {
                Some(0)
            }
        }
    }

    /// Stored row of a target (clients' `internet_authkey` comes from [`Client::authkey`]).
    pub fn row(&self, target: i64, key: &str) -> Option<SettingRow> {
        if target > 0 && key == "internet_authkey" {
            if let Some(c) = self.clients.get(&target) {
                if !c.authkey.is_empty() {
                    return Some(SettingRow {
                        value: c.authkey.clone(),
                        value_client: String::new(),
                        use_: 2,
                    });
                }
            }
        }
        self.settings.get(&target).and_then(|m| m.get(key)).cloned()
    }

    /// Effective raw value of a nested setting for a target; `None` = built-in default.
    pub fn effective_raw(&self, target: i64, key: &str) -> Option<String> {
        match self.row(target, key) {
            Some(r) if target == 0 => Some(r.value),
            Some(r) => {
                if r.use_ & 4 != 0 && !r.value_client.is_empty() {
                    Some(r.value_client)
                } else if r.use_ & 2 != 0 {
                    Some(r.value)
                } else {
                    self.parent_target(target)
                        .and_then(|p| self.effective_raw(p, key))
                }
            }
            None => self
                .parent_target(target)
                .and_then(|p| self.effective_raw(p, key)),
        }
    }

    /// Effective typed value of a nested setting.
    pub fn effective_value(&self, target: i64, key: &str) -> Value {
        match self.effective_raw(target, key) {
            Some(raw) => typed(key, &raw, false),
            None => typed(key, settings_def::nested_default(key).unwrap_or(""), true),
        }
    }

    /// Effective setting as i64 (0 if not numeric).
    pub fn effective_i64(&self, target: i64, key: &str) -> i64 {
        let raw = self
            .effective_raw(target, key)
            .unwrap_or_else(|| settings_def::nested_default(key).unwrap_or("").to_string());
        raw.trim().parse().unwrap_or(0)
    }

    /// Flat general setting (raw text or default).
    pub fn general_raw(&self, key: &str) -> String {
        if let Some(v) = self.general.get(key) {
            return v.clone();
        }
        settings_def::GLOBAL_FLAT
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, d)| d.to_string())
            .unwrap_or_default()
    }

    /// Flat general setting typed.
    pub fn general_value(&self, key: &str) -> Value {
        let ty = settings_def::GLOBAL_FLAT
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, t, _)| *t)
            .unwrap_or(Ty::Str);
        let raw = self.general_raw(key);
        match ty {
            Ty::Str => Value::String(raw),
            Ty::Int => json!(raw.trim().parse::<i64>().unwrap_or(0)),
            Ty::Bool => Value::Bool(raw == "true" || raw == "1"),
        }
    }

    /// File backups disabled for a client (both intervals ≤ 0, or `no_file_backups` in the
    /// general settings: the real server's alert pass stores `file_ok = -1` for both).
    pub fn file_disabled(&self, cid: i64) -> bool {
        self.general_value("no_file_backups") == Value::Bool(true)
            || self.effective_i64(cid, "update_freq_incr") <= 0
                && self.effective_i64(cid, "update_freq_full") <= 0
    }

    /// Image backups disabled for a client (both intervals ≤ 0, or `no_images`).
    pub fn image_disabled(&self, cid: i64) -> bool {
        self.general_value("no_images") == Value::Bool(true)
            || self.effective_i64(cid, "update_freq_image_incr") <= 0
                && self.effective_i64(cid, "update_freq_image_full") <= 0
    }

    // --------------------------------------------------------------- sessions

    /// Find a valid session (expiring idle ones) and refresh it.
    pub fn touch_session(&mut self, token: &str) -> Option<Session> {
        if token.is_empty() {
            return None;
        }
        let now = self.now_ms;
        let idle = self.cfg.session_idle_ms;
        let expired = match self.sessions.get(token) {
            Some(s) => now - s.last_used_ms > idle,
            None => return None,
        };
        if expired {
            self.sessions.remove(token);
            return None;
        }
        let s = self.sessions.get_mut(token)?;
        s.last_used_ms = now;
        Some(s.clone())
    }

    /// Create a new session.
    pub fn new_session(&mut self, user_id: i64, username: &str) -> String {
        if self.sessions.len() > 1000 {
            let (now, idle) = (self.now_ms, self.cfg.session_idle_ms);
            self.sessions.retain(|_, s| now - s.last_used_ms <= idle);
        }
        let token = crate::auth::session_token();
        self.sessions.insert(
            token.clone(),
            Session {
                user_id,
                username: username.to_string(),
                rnd: String::new(),
                last_used_ms: self.now_ms,
            },
        );
        token
    }

    /// Is the IP currently banned (rate limit)?
    pub fn is_banned(&mut self, ip: &str) -> bool {
        if !self.cfg.rate_limit || self.v24() {
            return false;
        }
        if let Some(&start) = self.banned.get(ip) {
            if self.now_ms - start < 600_000 {
                return true;
            }
            self.banned.remove(ip);
        }
        false
    }

    /// Count a failed login for the rate limit.
    pub fn record_failed_login(&mut self, ip: &str) {
        if !self.cfg.rate_limit || self.v24() {
            return;
        }
        let now = self.now_ms;
        let v = self.failed_logins.entry(ip.to_string()).or_default();
        v.retain(|t| now - t < 40_000);
        v.push(now);
        if v.len() > 10 {
            v.clear();
            self.banned.insert(ip.to_string(), now);
        }
    }

    // ---------------------------------------------------------------- logs

    /// Add a stored log with explicit text.
    pub fn add_log(&mut self, mut log: StoredLog) -> i64 {
        if log.id == 0 {
            log.id = self.next_log_id;
        }
        if log.id >= self.next_log_id {
            self.next_log_id = log.id + 1;
        }
        let id = log.id;
        self.logs.insert(id, log);
        id
    }

    /// Log text (synthesized for seeded logs).
    pub fn log_text(&self, log: &StoredLog) -> String {
        if let Some(d) = &log.data {
            return d.clone();
        }
        let name = self
            .clients
            .get(&log.client_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let t = log.time;
        let kind = if log.image { "image" } else { "file" };
        let inc = if log.incremental > 0 {
            "incremental"
        } else {
            "full"
        };
        let mut lines = vec![format!(
            "0-{}-Starting scheduled {inc} {kind} backup...",
            t - 600
        )];
        if log.image {
            lines.push(format!("0-{}-Backing up volume C: ...", t - 599));
        } else {
            lines.push(format!("0-{}-{name}: Loading file list...", t - 598));
            lines.push(format!(
                "0-{}-{name}: Calculating file tree differences...",
                t - 597
            ));
            if self
                .clients
                .get(&log.client_id)
                .is_some_and(|c| c.latin1_file)
            {
                lines.push(format!(
                    "0-{}-Loading file patch for \"{}\"",
                    t - 596,
                    latin1_file_name()
                ));
            }
        }
        for i in 0..log.warnings {
            lines.push(format!(
                "1-{}-Error getting file metadata of file {i}. Retrying...",
                t - 300
            ));
        }
        for _ in 0..log.errors {
            lines.push(format!(
                "2-{}-Client {name} went offline. Backup failed.",
                t - 10
            ));
        }
        lines.push(format!(
            "0-{}-Time taken for backing up client {name}: 10m",
            t
        ));
        if log.errors > 0 {
            lines.push(format!("2-{t}-Backup failed"));
        } else {
            lines.push(format!("0-{t}-Backup succeeded"));
        }
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }

    // ------------------------------------------------------------- processes

    /// Queue a backup process; returns false when it is silently ignored.
    pub fn start_backup_process(&mut self, cid: i64, start_type: &str) -> bool {
        let now_ms = self.now_ms;
        let dur = self.cfg.backup_duration_ms.max(1);
        let Some(c) = self.clients.get(&cid) else {
            return false;
        };
        let image = start_type.ends_with("_image");
        if image && c.image_not_supported {
            let t = self.now();
            self.livelog(
                0,
                -1,
                format!(
                    "msg=START IMAGE {}",
                    if start_type.starts_with("full") {
                        "FULL"
                    } else {
                        "INCR"
                    }
                ),
                t,
                None,
            );
            return false;
        }
        let kind = if image {
            ProcKind::ImageBackup
        } else {
            ProcKind::FileBackup
        };
        if self
            .processes
            .iter()
            .any(|p| p.client_id == cid && p.kind == kind)
        {
            return false;
        }
        let mut full = start_type.starts_with("full");
        let mut lines = Vec::new();
        let t = now_ms / 1000;
        let what = if image { "image" } else { "file" };
        let prev_inc;
        let base_size;
        let mut rng = Rng(mix(c.tree_seed ^ now_ms as u64));
        if image {
            prev_inc = c.image_backups.last().map(|b| b.incremental);
            base_size = 20_000_000_000 + (c.tree_seed % 40_000_000_000) as i64;
        } else {
            prev_inc = c.file_backups.last().map(|b| b.incremental);
            base_size = 1_000_000_000 + (c.tree_seed % 30_000_000_000) as i64;
        }
        lines.push((
            0,
            t,
            format!(
                "Starting unscheduled {} {what} backup...",
                if full { "full" } else { "incremental" }
            ),
        ));
        if !full && prev_inc.is_none() {
            lines.push((1, t, format!("Cannot retrieve last {what} backup when doing incremental backup. Doing full backup now...")));
            lines.push((0, t, format!("Starting unscheduled full {what} backup...")));
            full = true;
        }
        let incremental = if full { 0 } else { prev_inc.unwrap_or(0) + 1 };
        let total = if full {
            base_size
        } else {
            (base_size / 50).max(1) + rng.below(base_size as u64 / 50) as i64
        };
        let action = match (image, full) {
            (false, false) => action::INCR_FILE,
            (false, true) => action::FULL_FILE,
            (true, false) => action::INCR_IMAGE,
            (true, true) => action::FULL_IMAGE,
        };
        let logid = self.next_log_id;
        self.next_log_id += 1;
        let pid = self.next_process_id;
        self.next_process_id += 1;
        let name = c.name.clone();
        let c_latin1 = c.latin1_file;
        for (lvl, tt, m) in &lines {
            self.livelog(cid, *lvl, m.clone(), *tt, Some(logid));
        }
        self.livelog(0, 0, format!("{name}: {}", lines[0].2), t, None);
        self.livelog(
            cid,
            -1,
            format!("{name}: Connecting for filelist..."),
            t,
            Some(logid),
        );
        if !image && c_latin1 {
            // What the real 2.4.15 server logged for such a file (a debug line).
            self.livelog(
                cid,
                -1,
                format!("Loading file patch for \"{}\"", latin1_file_name()),
                t,
                Some(logid),
            );
        }
        self.processes.push(Process {
            id: pid,
            client_id: cid,
            action,
            kind,
            start_ms: now_ms,
            duration_ms: dur,
            total_bytes: total,
            logid,
            details: if image { "C:".into() } else { "0".into() },
            stop: false,
            incremental,
            log_lines: lines,
            stage: 0,
            path: String::new(),
            awaiting_confirmation: false,
            failure: None,
        });
        true
    }

    /// Start a server-side process (statistics recalculation).
    pub fn start_server_process(&mut self, action: i64) {
        let pid = self.next_process_id;
        self.next_process_id += 1;
        self.processes.push(Process {
            id: pid,
            client_id: 0,
            action,
            kind: ProcKind::Statistics,
            start_ms: self.now_ms,
            duration_ms: (self.cfg.backup_duration_ms / 4).max(1),
            total_bytes: -1,
            logid: 0,
            details: String::new(),
            stop: false,
            incremental: 0,
            log_lines: Vec::new(),
            stage: 0,
            path: String::new(),
            awaiting_confirmation: false,
            failure: None,
        });
    }

    /// Starts a restore of `details` (the server's name for it: the backup-relative path, a
    /// folder ending in `/`, followed by the filter) to client `cid`; returns the wait key.
    /// A client that does not let the server confirm restores keeps it waiting for a person.
    /// With `failure`, the restore runs and then fails with that error line, as the real
    /// client's does when, say, its filter names nothing in the folder.
    pub fn start_restore(&mut self, cid: i64, details: &str, failure: Option<String>) -> String {
        let pid = self.next_process_id;
        self.next_process_id += 1;
        let logid = self.next_log_id;
        self.next_log_id += 1;
        let t = self.now();
        let awaiting_confirmation = self
            .clients
            .get(&cid)
            .is_some_and(|c| !c.server_confirms_restore);
        let msg = format!("Starting restore of path \"{details}\"...");
        self.livelog(cid, 0, msg.clone(), t, Some(logid));
        self.processes.push(Process {
            id: pid,
            client_id: cid,
            action: action::RESTORE_FILE,
            kind: ProcKind::Restore,
            start_ms: self.now_ms,
            duration_ms: (self.cfg.backup_duration_ms / 2).max(1),
            total_bytes: 10_000_000,
            logid,
            details: details.to_string(),
            stop: false,
            incremental: 0,
            log_lines: vec![(0, t, msg)],
            stage: 0,
            path: details.to_string(),
            awaiting_confirmation,
            failure,
        });
        self.restore_wait_key(2000.min(self.cfg.backup_duration_ms / 4))
    }

    /// A restore whose preparation fails at once, as the real server's does when the path
    /// it was given is not a folder (`restore_client.cpp`, `createFilelist`): the reply was
    /// "ok" with a wait key, yet the restore ends in a log with one error and a `lastacts`
    /// row that looks like any other restore's.
    pub fn fail_restore_at_once(&mut self, cid: i64, details: &str, folder: &str) -> String {
        let logid = self.next_log_id;
        self.next_log_id += 1;
        let t = self.now();
        let msg = format!("Cannot read files from folder {folder}. Cannot start restore.");
        self.livelog(cid, 2, msg.clone(), t, Some(logid));
        self.add_log(StoredLog {
            id: logid,
            client_id: cid,
            time: t,
            errors: 1,
            warnings: 0,
            image: false,
            incremental: 0,
            resumed: false,
            restore: true,
            data: Some(format!("2-{t}-{msg}\n")),
        });
        let id = self.next_restore_id;
        self.next_restore_id += 1;
        self.activities.push(Activity {
            id,
            clientid: cid,
            backuptime: t,
            incremental: 0,
            duration: 0,
            size_bytes: -1,
            image: false,
            del: false,
            restore: true,
            details: details.to_string(),
        });
        self.restore_wait_key(0)
    }

    /// The answer of the person at client `cid` to its waiting restores: yes lets them run,
    /// no ends them as failed. Returns how many restores were waiting.
    pub fn answer_restore(&mut self, cid: i64, yes: bool) -> usize {
        let now = self.now_ms;
        let mut n = 0;
        for p in self
            .processes
            .iter_mut()
            .filter(|p| p.client_id == cid && p.awaiting_confirmation)
        {
            n += 1;
            p.awaiting_confirmation = false;
            p.start_ms = now;
            if !yes {
                p.stop = true;
                p.log_lines
                    .push((2, now / 1000, "Restore was denied at the client".into()));
            }
        }
        self.tick(now);
        n
    }

    /// A new `restore_prepare_wait` key, ready `after_ms` virtual milliseconds from now.
    fn restore_wait_key(&mut self, after_ms: i64) -> String {
        let key = crate::auth::random_alnum(32);
        self.restore_waits
            .insert(key.clone(), self.now_ms + after_ms);
        key
    }

    /// Progress numbers of a process at the current time:
    /// (pcdone, done_bytes, total_bytes, speed_bpms, eta_ms).
    pub fn process_progress(&self, p: &Process) -> (i64, i64, i64, f64, i64) {
        let el = (self.now_ms - p.start_ms).max(0) as f64;
        let d = p.duration_ms as f64;
        let idx = d * 0.15;
        if el < idx {
            return (-1, 0, -1, 0.0, 61000);
        }
        let frac = ((el - idx) / (d - idx)).clamp(0.0, 1.0);
        let done = (p.total_bytes as f64 * frac) as i64;
        let speed = p.total_bytes as f64 / (d - idx).max(1.0);
        let eta = ((d - el).max(0.0)) as i64;
        ((frac * 100.0) as i64, done, p.total_bytes, speed, eta)
    }

    /// Advance all processes to the current time.
    pub fn tick(&mut self, now_ms: i64) {
        if now_ms > self.now_ms {
            self.now_ms = now_ms;
        }
        let now = self.now_ms;
        for c in self.clients.values_mut() {
            if c.online {
                c.lastseen = now / 1000;
            }
        }
        // expire restore waits / sessions lazily elsewhere
        let mut i = 0;
        while i < self.processes.len() {
            let p = self.processes[i].clone();
            let end = p.start_ms + p.duration_ms;
            let name = self
                .clients
                .get(&p.client_id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let online = self
                .clients
                .get(&p.client_id)
                .map(|c| c.online)
                .unwrap_or(true);
            let mut p = p;
            if p.kind == ProcKind::FileBackup || p.kind == ProcKind::ImageBackup {
                let idx_t = p.start_ms + p.duration_ms * 15 / 100;
                let mid_t = p.start_ms + p.duration_ms / 2;
                if p.stage < 1 && now >= idx_t && !p.stop {
                    p.stage = 1;
                    let t = idx_t / 1000;
                    let msg = if p.kind == ProcKind::ImageBackup {
                        format!("Backing up volume {} ...", p.details)
                    } else {
                        format!("{name}: Loading file list...")
                    };
                    p.log_lines.push((0, t, msg.clone()));
                    self.livelog(p.client_id, 0, msg, t, Some(p.logid));
                    self.livelog(
                        p.client_id,
                        -1,
                        format!("{name}: Started loading files..."),
                        t,
                        Some(p.logid),
                    );
                }
                if p.stage < 2 && now >= mid_t && !p.stop {
                    p.stage = 2;
                    let t = mid_t / 1000;
                    let msg = "Waiting for file hashing and copying threads...".to_string();
                    self.livelog(
                        p.client_id,
                        -1,
                        format!("HT: Copying file batch ({} bytes)", p.total_bytes / 2),
                        t,
                        Some(p.logid),
                    );
                    self.livelog(p.client_id, 0, msg.clone(), t, Some(p.logid));
                    p.log_lines.push((0, t, msg));
                }
                if p.stop || !online {
                    let t = now / 1000;
                    let why = if p.stop {
                        "Backup was stopped by user (server side)".to_string()
                    } else {
                        format!("Client {name} went offline.")
                    };
                    p.log_lines.push((2, t, why.clone()));
                    p.log_lines.push((
                        0,
                        t,
                        format!(
                            "Time taken for backing up client {name}: {}s",
                            (now - p.start_ms) / 1000
                        ),
                    ));
                    p.log_lines.push((2, t, "Backup failed".into()));
                    self.livelog(p.client_id, 2, why, t, Some(p.logid));
                    self.livelog(p.client_id, 2, "Backup failed".into(), t, Some(p.logid));
                    self.livelog(0, 2, format!("{name}: Backup failed"), t, None);
                    self.finish_log(&p, false);
                    if let Some(c) = self.clients.get_mut(&p.client_id) {
                        if p.kind == ProcKind::FileBackup {
                            c.file_ok = false;
                        } else {
                            c.image_ok = false;
                        }
                    }
                    self.processes.remove(i);
                    continue;
                }
                if now >= end {
                    let t = end / 1000;
                    let secs = p.duration_ms / 1000;
                    let speed_mbit = p.total_bytes as f64 * 8.0
                        / (p.duration_ms.max(1) as f64 / 1000.0)
                        / 1_000_000.0;
                    let m1 = format!(
                        "Transferred {} - Average speed: {} MBit/s",
                        fmt_bytes(p.total_bytes),
                        crate::json::fmt_g(speed_mbit)
                    );
                    let m2 = format!("Time taken for backing up client {name}: {secs}s");
                    for m in [m1, m2, "Backup succeeded".to_string()] {
                        p.log_lines.push((0, t, m.clone()));
                        self.livelog(p.client_id, 0, m, t, Some(p.logid));
                    }
                    self.livelog(0, 0, format!("{name}: Backup succeeded"), t, None);
                    self.finish_log(&p, true);
                    let backuptime = p.start_ms / 1000;
                    if let Some(c) = self.clients.get_mut(&p.client_id) {
                        if p.kind == ProcKind::FileBackup {
                            let id = self.next_file_backup_id;
                            self.next_file_backup_id += 1;
                            c.file_backups.push(FileBackup {
                                id,
                                backuptime,
                                incremental: p.incremental,
                                size_bytes: p.total_bytes,
                                archived: false,
                                archive_timeout: 0,
                                delete_pending: false,
                                duration: secs,
                                resumed: false,
                            });
                            c.file_ok = true;
                            c.last_filebackup_issues = 0;
                        } else {
                            let id = self.next_image_backup_id;
                            self.next_image_backup_id += 1;
                            c.image_backups.push(ImageBackup {
                                id,
                                backuptime,
                                incremental: p.incremental,
                                size_bytes: p.total_bytes,
                                letter: p.details.clone(),
                                archived: false,
                                archive_timeout: 0,
                                delete_pending: false,
                                duration: secs,
                            });
                            c.image_ok = true;
                        }
                    }
                    self.processes.remove(i);
                    continue;
                }
                self.processes[i] = p;
                i += 1;
            } else {
                if p.awaiting_confirmation && !p.stop {
                    // Nothing happens until someone at the client says yes.
                    p.start_ms = now;
                    self.processes[i] = p;
                    i += 1;
                    continue;
                }
                if p.kind == ProcKind::Restore && p.stage == 0 && !p.stop {
                    // The client has taken it (the real client's first lines).
                    p.stage = 1;
                    let t = p.start_ms / 1000;
                    for m in [
                        "Starting restore...",
                        "Loading file list...",
                        "Calculating download size...",
                        "Downloading necessary file data...",
                    ] {
                        p.log_lines.push((0, t, m.into()));
                        self.livelog(p.client_id, 0, m.into(), t, Some(p.logid));
                    }
                }
                if now >= end || p.stop {
                    if p.kind == ProcKind::Restore {
                        let t = end.min(now) / 1000;
                        let failure = match (&p.failure, p.stop) {
                            (Some(f), _) => Some(f.clone()),
                            (None, true) if !p.log_lines.iter().any(|l| l.0 == 2) => {
                                Some("Restore was stopped".to_string())
                            }
                            (None, true) => Some(String::new()),
                            (None, false) => None,
                        };
                        let ok = failure.is_none();
                        let mut lines: Vec<(i64, String)> = match failure {
                            None => vec![
                                (0, "Applying file metadata...".into()),
                                (0, "Restore finished successfully.".into()),
                            ],
                            Some(f) => vec![(2, f), (0, "Restore failed.".into())],
                        };
                        lines.retain(|(_, m)| !m.is_empty());
                        for (level, m) in lines {
                            p.log_lines.push((level, t, m.clone()));
                            self.livelog(p.client_id, level, m, t, Some(p.logid));
                        }
                        self.finish_log(&p, ok);
                        let id = self.next_restore_id;
                        self.next_restore_id += 1;
                        self.activities.push(Activity {
                            id,
                            clientid: p.client_id,
                            backuptime: p.start_ms / 1000,
                            incremental: 0,
                            duration: (end.min(now) - p.start_ms) / 1000,
                            size_bytes: -1,
                            image: false,
                            del: false,
                            restore: true,
                            details: p.path.clone(),
                        });
                    }
                    self.processes.remove(i);
                    continue;
                }
                self.processes[i] = p;
                i += 1;
            }
        }
    }

    fn finish_log(&mut self, p: &Process, _ok: bool) {
        let errors = p.log_lines.iter().filter(|l| l.0 == 2).count() as i64;
        let warnings = p.log_lines.iter().filter(|l| l.0 == 1).count() as i64;
        let mut data = String::new();
        for (l, t, m) in &p.log_lines {
            if *l >= 0 {
                data.push_str(&format!("{l}-{t}-{m}\n"));
            }
        }
        let time = p.log_lines.last().map(|l| l.1).unwrap_or(self.now());
        self.add_log(StoredLog {
            id: p.logid,
            client_id: p.client_id,
            time,
            errors,
            warnings,
            image: p.kind == ProcKind::ImageBackup,
            incremental: p.incremental,
            resumed: false,
            restore: p.kind == ProcKind::Restore,
            data: Some(data),
        });
    }

    /// lastacts entries (newest first), optionally restricted to a client list and
    /// optionally only backups.
    pub fn lastacts(&self, filter: Option<&[i64]>, only_backups: bool) -> Vec<Value> {
        // (time, id, kind, client id, index) -- JSON is only built for the top 20
        let mut top: Vec<(i64, i64, u8, i64, usize)> = Vec::new();
        let mut push = |item: (i64, i64, u8, i64, usize)| {
            top.push(item);
            if top.len() > 400 {
                top.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
                top.truncate(20);
            }
        };
        for c in self.clients.values() {
            if let Some(f) = filter {
                if !f.contains(&c.id) {
                    continue;
                }
            }
            for (i, b) in c.file_backups.iter().enumerate() {
                push((b.backuptime, b.id, 0, c.id, i));
            }
            for (i, b) in c.image_backups.iter().enumerate() {
                push((b.backuptime, b.id, 1, c.id, i));
            }
        }
        if !only_backups {
            for (i, a) in self.activities.iter().enumerate() {
                if let Some(f) = filter {
                    if !f.contains(&a.clientid) {
                        continue;
                    }
                }
                push((a.backuptime, a.id, 2, a.clientid, i));
            }
        }
        top.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        top.truncate(20);
        top.into_iter()
            .filter_map(|(_, _, kind, cid, i)| {
                let name = self
                    .clients
                    .get(&cid)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                Some(match kind {
                    0 => {
                        let b = self.clients.get(&cid)?.file_backups.get(i)?;
                        json!({
                            "id": b.id, "clientid": cid, "name": name, "backuptime": b.backuptime,
                            "incremental": b.incremental, "duration": b.duration, "size_bytes": b.size_bytes,
                            "image": 0, "del": false, "restore": 0, "resumed": b.resumed as i64, "details": ""
                        })
                    }
                    1 => {
                        let b = self.clients.get(&cid)?.image_backups.get(i)?;
                        json!({
                            "id": b.id, "clientid": cid, "name": name, "backuptime": b.backuptime,
                            "incremental": b.incremental, "duration": b.duration, "size_bytes": b.size_bytes,
                            "image": 1, "del": false, "restore": 0, "resumed": 0, "details": b.letter
                        })
                    }
                    _ => {
                        let a = self.activities.get(i)?;
                        json!({
                            "id": a.id, "clientid": a.clientid, "name": name, "backuptime": a.backuptime,
                            "incremental": a.incremental, "duration": a.duration, "size_bytes": a.size_bytes,
                            "image": a.image as i64, "del": a.del, "restore": a.restore as i64, "resumed": 0,
                            "details": a.details
                        })
                    }
                })
            })
            .collect()
    }
}

/// Convert a raw setting text into its JSON type. `default` marks built-in defaults
/// (`alert_script` is an int then, a string when stored).
pub fn typed(key: &str, raw: &str, default: bool) -> Value {
    if key == "alert_script" && !default {
        return Value::String(raw.to_string());
    }
    match settings_def::nested_type(key) {
        Ty::Str => Value::String(raw.to_string()),
        Ty::Int => json!(raw.trim().parse::<i64>().unwrap_or(0)),
        Ty::Bool => Value::Bool(raw == "true" || raw == "1"),
    }
}

/// Random alphanumeric text from a deterministic RNG.
pub fn rand_str(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|_| A[rng.below(A.len() as u64) as usize] as char)
        .collect()
}
