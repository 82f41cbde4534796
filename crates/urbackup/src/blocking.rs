//! A blocking facade: [`UrbackupServer`] with the same methods as the async
//! [`crate::UrbackupServer`], each running the async method to completion on a small runtime
//! owned by the handle. No logic lives here.
//!
//! ```no_run
//! let server = urbackup::blocking::UrbackupServer::new("http://127.0.0.1:55414/x", "admin", "secret")?;
//! for c in server.get_client_statuses()? {
//!     println!("{}: file_ok={}", c.name, c.file_ok);
//! }
//! # Ok::<(), urbackup::UrbackupError>(())
//! ```
//!
//! Do not call it from inside an async runtime (it would block that runtime's thread): use
//! the async type there.

use crate::api::LogFilter;
use crate::error::{Result, UrbackupError};
use crate::models::*;
use crate::transport::LoginInfo;
use crate::UrbackupServerBuilder;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The blocking twin of [`crate::UrbackupServer`]. Cheap to clone; clones share the
/// connection settings, the session and the runtime.
#[derive(Clone, Debug)]
pub struct UrbackupServer {
    inner: crate::UrbackupServer,
    rt: Arc<tokio::runtime::Runtime>,
}

impl UrbackupServer {
    /// Like [`crate::UrbackupServer::new`].
    pub fn new(url: &str, username: &str, password: &str) -> Result<Self> {
        Self::from_async(crate::UrbackupServer::new(url, username, password)?)
    }

    /// Like [`crate::UrbackupServer::builder`]; finish with
    /// [`UrbackupServerBuilder::build_blocking`].
    pub fn builder(url: &str) -> UrbackupServerBuilder {
        crate::UrbackupServer::builder(url)
    }

    /// Wraps an async handle (sharing its session).
    pub fn from_async(inner: crate::UrbackupServer) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("urbackup-blocking")
            .enable_all()
            .build()
            .map_err(|e| UrbackupError::InvalidInput(format!("cannot start a runtime: {e}")))?;
        Ok(UrbackupServer {
            inner,
            rt: Arc::new(rt),
        })
    }

    /// The async handle behind this one.
    pub fn as_async(&self) -> &crate::UrbackupServer {
        &self.inner
    }

    /// The action endpoint (`.../x`).
    pub fn url(&self) -> &str {
        self.inner.url()
    }

    /// Forgets the session.
    pub fn forget_session(&self) {
        self.inner.forget_session()
    }

    /// Like [`crate::UrbackupServer::session`].
    pub fn session(&self) -> Option<crate::Session> {
        self.inner.session()
    }
}

impl UrbackupServerBuilder {
    /// Builds a [`blocking::UrbackupServer`](UrbackupServer).
    pub fn build_blocking(self) -> Result<UrbackupServer> {
        UrbackupServer::from_async(self.build()?)
    }
}

/// Declares blocking methods that run the async method of the same name.
macro_rules! blocking {
    ($( fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        impl UrbackupServer {
            $(
                #[doc = concat!("Blocking [`", stringify!($name), "`](crate::UrbackupServer::", stringify!($name), ").")]
                pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.rt.block_on(self.inner.$name($($arg),*))
                }
            )*
        }
    };
}

blocking! {
    // Legacy surface.
    fn login(&self) -> bool;
    fn get_status(&self) -> Option<Value>;
    fn get_client_status(&self, clientname: &str) -> Option<Value>;
    fn get_server_identity(&self) -> Option<String>;
    fn get_usage(&self) -> Option<Value>;
    fn get_actions(&self) -> Option<Value>;
    fn get_livelog(&self, clientid: i64) -> Option<Value>;
    fn get_extra_clients(&self) -> Option<Value>;
    fn get_global_settings(&self) -> Option<Value>;
    fn get_client_settings(&self, clientname: &str) -> Option<Value>;
    fn get_client_authkey(&self, clientname: &str) -> Option<String>;
    fn set_global_setting(&self, key: &str, new_value: impl Into<SettingValue>) -> bool;
    fn change_client_setting(&self, clientname: &str, key: &str, new_value: impl Into<SettingValue>) -> bool;
    fn add_client(&self, clientname: &str) -> Option<Value>;
    fn add_extra_client(&self, addr: &str) -> bool;
    fn remove_extra_client(&self, ecid: i64) -> bool;
    fn start_incr_file_backup(&self, clientname: &str) -> bool;
    fn start_full_file_backup(&self, clientname: &str) -> bool;
    fn start_incr_image_backup(&self, clientname: &str) -> bool;
    fn start_full_image_backup(&self, clientname: &str) -> bool;
    fn stop_action(&self, action: &Value) -> bool;
    fn download_installer(&self, installer_fn: impl AsRef<Path>, new_clientname: &str, os: &str) -> bool;

    // Typed surface of the spec.
    fn login_typed(&self) -> Result<LoginInfo>;
    fn get_client_statuses(&self) -> Result<Vec<ClientStatus>>;
    fn get_client_status_by_name(&self, clientname: &str) -> Result<ClientStatus>;
    fn get_server_identity_str(&self) -> Result<String>;
    fn get_usage_typed(&self) -> Result<Vec<UsageEntry>>;
    fn get_actions_typed(&self) -> Result<Vec<ActionProgress>>;
    fn get_livelog_typed(&self, clientid: i64) -> Result<Vec<LogEntry>>;
    fn get_extra_clients_typed(&self) -> Result<Vec<ExtraClient>>;
    fn get_backups(&self, clientid: i64) -> Result<Vec<BackupEntry>>;
    fn get_image_backups(&self, clientid: i64) -> Result<Vec<BackupEntry>>;
    fn get_global_settings_typed(&self) -> Result<Settings>;
    fn set_global_setting_typed(&self, key: &str, value: impl Into<SettingValue>) -> Result<bool>;
    fn get_client_settings_typed(&self, clientname: &str) -> Result<Settings>;
    fn change_client_setting_typed(&self, clientname: &str, key: &str, new_value: impl Into<SettingValue>) -> Result<bool>;
    fn start_backup_typed(&self, clientname: &str, backup_type: BackupType) -> Result<bool>;
    fn stop_action_typed(&self, action: &ActionProgress) -> Result<bool>;
    fn get_users(&self) -> Result<Vec<User>>;
    fn get_groups(&self) -> Result<Vec<Group>>;
    fn add_user(&self, username: &str, password: &str, rights: &str) -> Result<bool>;
    fn download_installer_typed(&self, installer_fn: impl AsRef<Path>, new_clientname: &str, os: InstallerOS) -> Result<bool>;

    // Beyond the spec.
    fn status_report(&self) -> Result<StatusReport>;
    fn for_each_client_status(&self, f: impl FnMut(ClientStatus) + Send) -> Result<StatusReport>;
    fn client_id(&self, clientname: &str) -> Result<i64>;
    fn server_info(&self) -> Result<ServerInfo>;
    fn add_extra_client_typed(&self, hostname: &str) -> Result<ExtraClient>;
    fn remove_extra_client_typed(&self, ecid: i64) -> Result<()>;
    fn add_client_typed(&self, clientname: &str) -> Result<NewClient>;
    fn remove_client(&self, clientids: &[i64]) -> Result<()>;
    fn cancel_client_removal(&self, clientids: &[i64]) -> Result<()>;
    fn status_check(&self) -> Result<Map<String, Value>>;
    fn stop_action_ids(&self, clientid: i64, id: i64) -> Result<bool>;
    fn start_backups(&self, clientids: &[i64], backup_type: BackupType) -> Result<Vec<StartResult>>;
    fn start_backups_from(&self, report: &StatusReport, clientids: &[i64], backup_type: BackupType) -> Result<Vec<StartResult>>;
    fn last_activities(&self) -> Result<Vec<Activity>>;
    fn client_actions(&self, clientid: i64) -> Result<Vec<ActionProgress>>;
    fn client_backups(&self, clientid: i64) -> Result<ClientBackups>;
    fn browse_backup(&self, clientid: i64, backup: BackupRef, path: &str) -> Result<BackupListing>;
    fn download_file(&self, clientid: i64, backup: BackupRef, path: &str, dest: impl AsRef<Path>) -> Result<u64>;
    fn download_folder_zip(&self, clientid: i64, backup: BackupRef, path: &str, dest: impl AsRef<Path>) -> Result<u64>;
    fn download_file_with_progress(&self, clientid: i64, backup: BackupRef, path: &str, dest: impl AsRef<Path>, progress: impl FnMut(u64, Option<u64>) + Send) -> Result<u64>;
    fn download_folder_zip_with_progress(&self, clientid: i64, backup: BackupRef, path: &str, dest: impl AsRef<Path>, progress: impl FnMut(u64, Option<u64>) + Send) -> Result<u64>;
    fn restore_files(&self, clientid: i64, backupid: i64, path: &str, filter: Option<&str>) -> Result<RestoreStarted>;
    fn wait_for_restore(&self, restore: &RestoreStarted, timeout: Duration) -> Result<bool>;
    fn restore_outcome(&self, restore: &RestoreStarted) -> Result<Option<RestoreOutcome>>;
    fn wait_for_restore_outcome(&self, restore: &RestoreStarted, interval: Duration, timeout: Option<Duration>, on_phase: impl FnMut(RestorePhase, Option<&ActionProgress>) + Send) -> Result<Option<RestoreOutcome>>;
    fn file_versions(&self, clientid: i64, path: &str) -> Result<crate::FileVersions>;
    fn search_backup(&self, clientid: i64, backup: crate::FileBackupKey, path: &str, needle: &str, limits: crate::SearchLimits, cache: Option<&dyn crate::ListingCache>) -> Result<crate::SearchResult>;
    fn archive_backup(&self, clientid: i64, backup: BackupRef) -> Result<()>;
    fn unarchive_backup(&self, clientid: i64, backup: BackupRef) -> Result<()>;
    fn delete_backup(&self, clientid: i64, backup: BackupRef) -> Result<()>;
    fn cancel_backup_deletion(&self, clientid: i64, backup: BackupRef) -> Result<()>;
    fn client_settings_by_id(&self, clientid: i64) -> Result<Settings>;
    fn group_settings(&self, groupid: i64) -> Result<Settings>;
    fn set_global_settings(&self, changes: &[(&str, SettingValue)]) -> Result<Settings>;
    fn change_client_settings(&self, clientid: i64, changes: &[(&str, SettingValue)]) -> Result<Settings>;
    fn change_group_settings(&self, groupid: i64, changes: &[(&str, SettingValue)]) -> Result<Settings>;
    fn get_client_authkey_typed(&self, clientname: &str) -> Result<String>;
    fn mail_settings(&self) -> Result<Settings>;
    fn set_mail_settings(&self, changes: &[(&str, SettingValue)]) -> Result<Settings>;
    fn ldap_settings(&self) -> Result<Settings>;
    fn set_ldap_settings(&self, changes: &[(&str, SettingValue)]) -> Result<Settings>;
    fn remove_user(&self, userid: i64) -> Result<()>;
    fn change_password(&self, userid: i64, new_password: &str) -> Result<()>;
    fn set_user_rights(&self, userid: i64, rights: &str) -> Result<()>;
    fn settings_clients(&self) -> Result<Vec<SettingsClient>>;
    fn add_group(&self, name: &str) -> Result<Group>;
    fn remove_group(&self, groupid: i64) -> Result<()>;
    fn set_client_group(&self, clientid: i64, groupid: i64) -> Result<()>;
    fn livelog(&self, clientid: i64, lastid: Option<i64>, logid: Option<i64>) -> Result<Vec<LogEntry>>;
    fn get_logs(&self, filter: &LogFilter) -> Result<Vec<LogSummary>>;
    fn get_log(&self, logid: i64) -> Result<Option<Log>>;
    fn recalculate_statistics(&self) -> Result<()>;
    fn pie_graph(&self) -> Result<Vec<PieSlice>>;
    fn usage_graph(&self, clientid: Option<i64>, scale: GraphScale) -> Result<UsageGraph>;
    fn download_client_installer(&self, clientid: i64, os: InstallerOS, dest: impl AsRef<Path>) -> Result<u64>;
}
