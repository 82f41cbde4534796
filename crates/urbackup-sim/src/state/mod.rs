//! The simulated server's state. All fields are public so tests can set up and inspect
//! anything through [`crate::SimServer::with_state`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde_json::{json, Value};

use crate::settings_def::{self, Ty};
use crate::tree::{mix, Rng, TreeSpec};

mod logs;
mod model;
mod processes;
mod sessions;
mod settings;

pub use model::*;

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
/// | image start of a client without image support | dropped | waits forever: no file backup of the client starts until a restart ([`PendingStarts`]) |
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
    /// Starts a connected client's thread holds and has not run yet, by client id (see
    /// [`PendingStarts`]); gone at a restart or when the client disconnects.
    pub pending_starts: BTreeMap<i64, PendingStarts>,
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
            pending_starts: BTreeMap::new(),
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

    /// A server restart: sessions, running processes, starts waiting to run, mounts and
    /// restore waits are gone, the settings are read anew and the live log notes the start.
    pub fn restart(&mut self) {
        self.sessions.clear();
        self.processes.clear();
        self.pending_starts.clear();
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
