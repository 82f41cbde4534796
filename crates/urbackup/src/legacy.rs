//! The specification's legacy surface: raw JSON, `None`/`false` on failure.
//!
//! Each method is a thin adapter over its typed counterpart: it calls it, logs a failure
//! through `tracing` (at `warn`, never printed) and returns the objects as the server sent
//! them (each model's `raw`).

use crate::error::Result;
use crate::models::{BackupType, InstallerOS, SettingValue};
use crate::UrbackupServer;
use serde_json::Value;
use std::path::Path;
use tracing::warn;

/// `Some(value)` on success; logs the error and gives `None` on failure.
fn ok<T>(method: &'static str, r: Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            warn!(method, error = %e, "urbackup call failed");
            None
        }
    }
}

fn raw_list<T>(items: Vec<T>, raw: impl Fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(raw).collect())
}

impl UrbackupServer {
    /// Logs in unless a session exists (spec: `login`): the user's hashed password (PBKDF2 or
    /// legacy MD5, as the server asks), and the anonymous login for a server without users
    /// (see [`UrbackupServerBuilder::anonymous_first`](crate::UrbackupServerBuilder::anonymous_first)
    /// for the specification's order). See [`login_typed`](UrbackupServer::login_typed) for the
    /// reason of a failure.
    pub async fn login(&self) -> bool {
        ok("login", self.login_typed().await).is_some()
    }

    /// All client statuses as raw JSON (spec: `get_status`; web action `status`).
    pub async fn get_status(&self) -> Option<Value> {
        ok("get_status", self.get_client_statuses().await)
            .map(|v| raw_list(v, |c| c.raw.to_value()))
    }

    /// One client's status as raw JSON (spec: `get_client_status`; web action `status`).
    pub async fn get_client_status(&self, clientname: &str) -> Option<Value> {
        ok(
            "get_client_status",
            self.get_client_status_by_name(clientname).await,
        )
        .map(|c| c.raw.to_value())
    }

    /// The server identity (spec: `get_server_identity`; web action `status`).
    pub async fn get_server_identity(&self) -> Option<String> {
        ok("get_server_identity", self.get_server_identity_str().await)
    }

    /// Storage usage per client as raw JSON (spec: `get_usage`; web action `usage`).
    pub async fn get_usage(&self) -> Option<Value> {
        ok("get_usage", self.get_usage_typed().await).map(|v| raw_list(v, |u| u.raw.to_value()))
    }

    /// Running actions as raw JSON (spec: `get_actions`; web action `progress`).
    pub async fn get_actions(&self) -> Option<Value> {
        ok("get_actions", self.get_actions_typed().await).map(|v| raw_list(v, |a| a.raw.to_value()))
    }

    /// The live log as raw JSON (spec: `get_livelog`, `clientid` 0 = server log; web action
    /// `livelog`). Unlike the spec's Python origin this never fails on an empty log and sends
    /// no `lastid` (which would hide the server log's first line).
    pub async fn get_livelog(&self, clientid: i64) -> Option<Value> {
        ok("get_livelog", self.get_livelog_typed(clientid).await)
            .map(|v| raw_list(v, |l| l.raw.to_value()))
    }

    /// Extra clients as raw JSON (spec: `get_extra_clients`; web action `status`).
    pub async fn get_extra_clients(&self) -> Option<Value> {
        ok("get_extra_clients", self.get_extra_clients_typed().await)
            .map(|v| raw_list(v, |e| e.raw.to_value()))
    }

    /// Global settings as the server sends them (spec: `get_global_settings`; web action
    /// `settings`, `sa=general`).
    pub async fn get_global_settings(&self) -> Option<Value> {
        ok(
            "get_global_settings",
            self.get_global_settings_typed().await,
        )
        .map(|s| s.raw)
    }

    /// A client's settings as the server sends them (spec: `get_client_settings`; web
    /// action `settings`, `sa=clientsettings`).
    pub async fn get_client_settings(&self, clientname: &str) -> Option<Value> {
        ok(
            "get_client_settings",
            self.get_client_settings_typed(clientname).await,
        )
        .map(|s| s.raw)
    }

    /// A client's effective Internet auth key (spec: `get_client_authkey`).
    pub async fn get_client_authkey(&self, clientname: &str) -> Option<String> {
        ok(
            "get_client_authkey",
            self.get_client_authkey_typed(clientname).await,
        )
    }

    /// Changes one global setting (spec: `set_global_setting`; only that key changes).
    pub async fn set_global_setting(&self, key: &str, new_value: impl Into<SettingValue>) -> bool {
        ok(
            "set_global_setting",
            self.set_global_setting_typed(key, new_value).await,
        )
        .is_some()
    }

    /// Changes one client setting (spec: `change_client_setting`; only that key changes).
    pub async fn change_client_setting(
        &self,
        clientname: &str,
        key: &str,
        new_value: impl Into<SettingValue>,
    ) -> bool {
        ok(
            "change_client_setting",
            self.change_client_setting_typed(clientname, key, new_value)
                .await,
        )
        .is_some()
    }

    /// Adds an Internet client; the server's reply (`new_clientid`, `new_authkey`...) as raw
    /// JSON (spec: `add_client`; web action `add_client`).
    pub async fn add_client(&self, clientname: &str) -> Option<Value> {
        ok("add_client", self.add_client_typed(clientname).await).map(|c| c.raw.to_value())
    }

    /// Adds an extra client by host name (spec: `add_extra_client`).
    pub async fn add_extra_client(&self, addr: &str) -> bool {
        ok("add_extra_client", self.add_extra_client_typed(addr).await).is_some()
    }

    /// Removes an extra client by id (spec: `remove_extra_client`).
    pub async fn remove_extra_client(&self, ecid: i64) -> bool {
        ok(
            "remove_extra_client",
            self.remove_extra_client_typed(ecid).await,
        )
        .is_some()
    }

    /// Starts an incremental file backup (spec: `start_incr_file_backup`).
    pub async fn start_incr_file_backup(&self, clientname: &str) -> bool {
        self.start_legacy(clientname, BackupType::IncrFile).await
    }

    /// Starts a full file backup (spec: `start_full_file_backup`).
    pub async fn start_full_file_backup(&self, clientname: &str) -> bool {
        self.start_legacy(clientname, BackupType::FullFile).await
    }

    /// Starts an incremental image backup (spec: `start_incr_image_backup`).
    pub async fn start_incr_image_backup(&self, clientname: &str) -> bool {
        self.start_legacy(clientname, BackupType::IncrImage).await
    }

    /// Starts a full image backup (spec: `start_full_image_backup`).
    pub async fn start_full_image_backup(&self, clientname: &str) -> bool {
        self.start_legacy(clientname, BackupType::FullImage).await
    }

    async fn start_legacy(&self, clientname: &str, t: BackupType) -> bool {
        ok("start_backup", self.start_backup_typed(clientname, t).await).unwrap_or(false)
    }

    /// Stops a running action given as an object of [`get_actions`](UrbackupServer::get_actions)
    /// (spec: `stop_action`; it needs `clientid` and `id`).
    pub async fn stop_action(&self, action: &Value) -> bool {
        let field = |k: &str| {
            action.get(k).and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
        };
        let (Some(clientid), Some(id)) = (field("clientid"), field("id")) else {
            warn!(
                method = "stop_action",
                "the action object lacks clientid or id"
            );
            return false;
        };
        ok("stop_action", self.stop_action_ids(clientid, id).await).unwrap_or(false)
    }

    /// Downloads a client installer, adding the client if needed (spec: `download_installer`;
    /// `os` is `windows`, `linux` or `mac`).
    pub async fn download_installer(
        &self,
        installer_fn: impl AsRef<Path>,
        new_clientname: &str,
        os: &str,
    ) -> bool {
        let os: InstallerOS = match os.parse() {
            Ok(os) => os,
            Err(e) => {
                warn!(method = "download_installer", error = %e, "bad os");
                return false;
            }
        };
        ok(
            "download_installer",
            self.download_installer_typed(installer_fn, new_clientname, os)
                .await,
        )
        .is_some()
    }
}
