//! Clients and their status (`status`, `add_client`, `start_backup`).

use super::de;
use super::model;
use super::ActionType;
use serde::{Deserialize, Serialize};

model! {
    /// One client of the `status` reply (spec: `ClientStatus`).
    ///
    /// Clients that contacted the server but were rejected (identity errors, too many clients)
    /// come with `id: "-"`: they decode with `id == 0` and `rejected == true`.
    pub struct ClientStatus {
        /// Client id (0 for a rejected client).
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Client name.
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// Whether the client is connected now.
        #[serde(default, deserialize_with = "de::boolean")]
        pub online: bool,
        /// Unix time of the last file backup, 0 = never.
        #[serde(default, deserialize_with = "de::int")]
        pub lastbackup: i64,
        /// Unix time of the last image backup, 0 = never.
        #[serde(default, deserialize_with = "de::int")]
        pub lastbackup_image: i64,
        /// File backups are OK (recent enough).
        #[serde(default, deserialize_with = "de::boolean")]
        pub file_ok: bool,
        /// Image backups are OK.
        #[serde(default, deserialize_with = "de::boolean")]
        pub image_ok: bool,
        /// Last IP address (`"-"` when not seen since the server started).
        #[serde(default, deserialize_with = "de::string")]
        pub ip: String,
        /// Client software version.
        #[serde(default, deserialize_with = "de::string")]
        pub client_version_string: String,
        /// Operating system description.
        #[serde(default, deserialize_with = "de::string")]
        pub os_version_string: String,
        /// Short OS name (`windows`, `linux`, `osx`), may be empty.
        #[serde(default, deserialize_with = "de::string")]
        pub os_simple: String,
        /// Unix time the client was last seen.
        #[serde(default, deserialize_with = "de::int")]
        pub lastseen: i64,
        /// Settings group name (`""` = default group).
        #[serde(default, deserialize_with = "de::string")]
        pub groupname: String,
        /// The client is marked for removal (removed at the next cleanup).
        #[serde(default, deserialize_with = "de::boolean")]
        pub delete_pending: bool,
        /// File backups are disabled for this client (not a failure).
        #[serde(default, deserialize_with = "de::boolean")]
        pub file_disabled: bool,
        /// Image backups are disabled for this client (not a failure).
        #[serde(default, deserialize_with = "de::boolean")]
        pub image_disabled: bool,
        /// The client cannot do image backups (e.g. a Linux client).
        #[serde(default, deserialize_with = "de::boolean")]
        pub image_not_supported: bool,
        /// The client has no backup paths configured.
        #[serde(default, deserialize_with = "de::boolean")]
        pub no_backup_paths: bool,
        /// Number of issues in the last file backup.
        #[serde(default, deserialize_with = "de::int")]
        pub last_filebackup_issues: i64,
        /// Status code: 0 idle, 1–9 the first running action, 10–17 connection states.
        #[serde(default, deserialize_with = "de::int")]
        pub status: i64,
        /// Client UID.
        #[serde(default, deserialize_with = "de::string")]
        pub uid: String,
        /// Running processes of this client.
        #[serde(default, deserialize_with = "de::list")]
        pub processes: Vec<ClientProcess>,
        /// The client was rejected by the server (not in its database).
        #[serde(default, deserialize_with = "de::boolean")]
        pub rejected: bool,
    }
}

impl ClientStatus {
    /// True when file backups are neither OK nor disabled (what an admin calls "failed").
    pub fn file_failed(&self) -> bool {
        !self.file_ok && !self.file_disabled
    }

    /// True when image backups are neither OK, disabled nor unsupported.
    pub fn image_failed(&self) -> bool {
        !self.image_ok && !self.image_disabled && !self.image_not_supported
    }
}

/// A running process in a client's `processes` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientProcess {
    /// What runs.
    #[serde(default)]
    pub action: ActionType,
    /// Percent done, -1 while unknown.
    #[serde(default, deserialize_with = "de::int")]
    pub pcdone: i64,
}

model! {
    /// An extra client: a host name or address the server scans for clients (spec:
    /// `ExtraClient`). The server sends the id as a string; it is decoded as a number.
    pub struct ExtraClient {
        /// Extra client id (pass it to `remove_extra_client`).
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Host name or address.
        #[serde(default, deserialize_with = "de::string")]
        pub hostname: String,
        /// Whether a client answered at that address.
        #[serde(default, deserialize_with = "de::boolean")]
        pub online: bool,
    }
}

model! {
    /// The reply of `add_client` for a new client.
    pub struct NewClient {
        /// Id of the new client.
        #[serde(default, deserialize_with = "de::int", rename = "new_clientid")]
        pub id: i64,
        /// Its name, as the server stored it.
        #[serde(default, deserialize_with = "de::string", rename = "new_clientname")]
        pub name: String,
        /// The client's Internet auth key.
        #[serde(default, deserialize_with = "de::string", rename = "new_authkey")]
        pub authkey: String,
        /// The server URL(s) for Internet clients, e.g. `urbackup://host`.
        #[serde(default, deserialize_with = "de::string")]
        pub server_url: String,
        /// The configured Internet server name.
        #[serde(default, deserialize_with = "de::string")]
        pub internet_server: String,
        /// The configured Internet server port.
        #[serde(default, deserialize_with = "de::string")]
        pub internet_server_port: String,
    }
}

model! {
    /// One entry of the `start_backup` reply.
    pub struct StartResult {
        /// Client id.
        #[serde(default, deserialize_with = "de::int")]
        pub clientid: i64,
        /// True when the backup was queued to the connected client (not that it ran).
        #[serde(default, deserialize_with = "de::boolean")]
        pub start_ok: bool,
        /// The requested type, echoed.
        #[serde(default, deserialize_with = "de::string")]
        pub start_type: String,
    }
}

/// Server-level facts from `status` and the login reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerInfo {
    /// The server identity (without the `#I` wrapper).
    pub identity: String,
    /// Identity plus public key fingerprint.
    pub pubkey: String,
    /// Web API version from the login reply (2 for UrBackup 2.x).
    pub api_version: Option<i64>,
    /// A newer server version the server announces, if any (admins only).
    pub newer_version: Option<String>,
    /// File backups are disabled server-wide.
    pub no_file_backups: bool,
    /// Image backups are disabled server-wide.
    pub no_images: bool,
    /// The server generation, from what its `status` reply holds (see [`ServerGeneration`]).
    pub generation: Option<ServerGeneration>,
}

/// The UrBackup server generation a handle talks to, as its replies show it (the server has
/// no action that reports its version number).
///
/// * `status`: 2.5 sends `server_pubkey` beside `server_identity`, and a `uid` for every
///   client; 2.4 sends neither.
/// * `settings`: 2.4 sends plain values and the archive rules in `archive_settings` beside
///   the settings; 2.5 sends `{use, value, value_client, value_group}` objects (clients and
///   groups) or `{value}` objects (global) and the archive rules as the `archive` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum ServerGeneration {
    /// UrBackup Server 2.4.x (checked against 2.4.15).
    V2_4,
    /// UrBackup Server 2.5.x (checked against 2.5.33).
    V2_5,
}

impl ServerGeneration {
    /// The version as people write it: `2.4` or `2.5`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerGeneration::V2_4 => "2.4",
            ServerGeneration::V2_5 => "2.5",
        }
    }
}

impl std::fmt::Display for ServerGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UrBackup {}", self.as_str())
    }
}

impl ClientStatus {
    /// Fills in what UrBackup 2.4 does not send, as its web interface does: a client without
    /// a `uid` is a 2.4 server's, and there a client whose `os_simple` is set and not
    /// `windows` cannot do image backups (2.5 says so in `image_not_supported`).
    ///
    /// This is where the crate learns whether a client can do image backups, for the health
    /// rule and for [`StartRefusal`](crate::StartRefusal) alike.
    pub(crate) fn complete_v24(&mut self) {
        if !self.image_not_supported
            && !self.os_simple.is_empty()
            && self.os_simple != "windows"
            && !has_key(self.raw.get(), "uid")
        {
            self.image_not_supported = true;
        }
    }
}

/// Whether the JSON object text `json` has the key `key` at any depth: a string `"key"`
/// followed by a colon (a string value is followed by `,`, `}` or `]` instead), so a client
/// named `uid` does not count.
fn has_key(json: &str, key: &str) -> bool {
    let quoted = format!("\"{key}\"");
    json.match_indices(&quoted).any(|(i, _)| {
        json[i + quoted.len()..]
            .trim_start_matches([' ', '\t', '\r', '\n'])
            .starts_with(':')
    })
}

/// The full `status` reply: clients plus server-level flags.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "StatusWire")]
pub struct StatusReport {
    /// The clients.
    pub status: Vec<ClientStatus>,
    /// Extra clients.
    pub extra_clients: Vec<ExtraClient>,
    /// Server identity.
    pub server_identity: String,
    /// Identity plus key fingerprint (UrBackup 2.5; empty from 2.4).
    pub server_pubkey: String,
    /// File backups disabled server-wide.
    pub no_file_backups: bool,
    /// Image backups disabled server-wide.
    pub no_images: bool,
    /// The session is a superuser.
    pub admin: bool,
    /// A newer server version is available.
    pub curr_version_str: Option<String>,
    /// The server generation this reply comes from (see [`ServerGeneration`]); `None` when
    /// the reply does not tell (a session that may not see the server's identity).
    pub generation: Option<ServerGeneration>,
}

/// The `status` reply as sent.
#[derive(Deserialize)]
struct StatusWire {
    #[serde(default, deserialize_with = "de::list")]
    status: Vec<ClientStatus>,
    #[serde(default, deserialize_with = "de::list")]
    extra_clients: Vec<ExtraClient>,
    #[serde(default, deserialize_with = "de::opt_string")]
    server_identity: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    server_pubkey: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    no_file_backups: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    no_images: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    admin: bool,
    #[serde(default)]
    curr_version_str: Option<String>,
}

impl From<StatusWire> for StatusReport {
    fn from(w: StatusWire) -> Self {
        let generation = match (&w.server_identity, &w.server_pubkey) {
            (_, Some(_)) => Some(ServerGeneration::V2_5),
            (Some(_), None) => Some(ServerGeneration::V2_4),
            (None, None) => None,
        };
        let mut status = w.status;
        status.iter_mut().for_each(ClientStatus::complete_v24);
        StatusReport {
            status,
            extra_clients: w.extra_clients,
            server_identity: w.server_identity.unwrap_or_default(),
            server_pubkey: w.server_pubkey.unwrap_or_default(),
            no_file_backups: w.no_file_backups,
            no_images: w.no_images,
            admin: w.admin,
            curr_version_str: w.curr_version_str,
            generation,
        }
    }
}
