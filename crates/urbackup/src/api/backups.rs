//! Backups: list, browse, download, restore, archive and delete (web actions `backups`,
//! `restore_prepare_wait`).

use crate::api::LogFilter;
use crate::error::{Result, UrbackupError};
use crate::models::{
    ActionProgress, ActionType, BackupEntry, BackupListing, BackupRef, BackupsReply, ClientBackups,
    LogLevel, RestoreOutcome, RestorePhase, RestoreStarted,
};
use crate::transport::Call;
use crate::{BackupDownload, UrbackupServer};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

impl UrbackupServer {
    /// File and image backups of a client, from one call (web action `backups`,
    /// `sa=backups`).
    pub async fn client_backups(&self, clientid: i64) -> Result<ClientBackups> {
        let r: BackupsReply = self.transport.call(backups_call(clientid)).await?;
        Ok(r.into())
    }

    /// File backups of a client, newest first (spec: `get_backups`; web action `backups`,
    /// `sa=backups`).
    pub async fn get_backups(&self, clientid: i64) -> Result<Vec<BackupEntry>> {
        Ok(self.client_backups(clientid).await?.file_backups)
    }

    /// Image backups of a client, newest first (spec: `get_image_backups`; web action
    /// `backups`, `sa=backups`, its `backup_images` list: the spec's Python origin reads a key
    /// that does not exist and always returns nothing).
    pub async fn get_image_backups(&self, clientid: i64) -> Result<Vec<BackupEntry>> {
        Ok(self.client_backups(clientid).await?.image_backups)
    }

    /// Lists a folder of a backup (web action `backups`, `sa=files`). `path` is `/`-separated;
    /// `""` or `"/"` is the root.
    pub async fn browse_backup(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
    ) -> Result<BackupListing> {
        let call = path_call("files", clientid, backup, path);
        let listing: BackupListing = self.transport.call(call).await?;
        if listing.clientname.is_empty() && listing.files.is_empty() {
            // `{}`: unknown client or no right to browse it (a listing always names its client).
            return Err(UrbackupError::access_denied(
                "backups",
                Some("browse".into()),
            ));
        }
        Ok(listing)
    }

    /// Downloads one file of a backup to `dest` (web action `backups`, `sa=filesdl`). Streamed
    /// to a temporary file beside `dest` and renamed into place when complete, so a failed
    /// download leaves nothing under `dest`. Returns the bytes written.
    ///
    /// The server answers a path it cannot read (missing, or no right) with `path_dl_access_denied`,
    /// which is [`UrbackupError::AccessDenied`]; a folder path gives an empty file (download a
    /// folder with [`download_folder_zip`](UrbackupServer::download_folder_zip)).
    pub async fn download_file(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
        dest: impl AsRef<Path>,
    ) -> Result<u64> {
        self.download_file_with_progress(clientid, backup, path, dest, |_, _| {})
            .await
    }

    /// [`download_file`](UrbackupServer::download_file), calling `progress(bytes_done,
    /// total_if_known)` after each piece received.
    pub async fn download_file_with_progress(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
        dest: impl AsRef<Path>,
        mut progress: impl FnMut(u64, Option<u64>) + Send,
    ) -> Result<u64> {
        let call = path_call("filesdl", clientid, backup, path);
        self.transport
            .download(call, false, dest.as_ref(), &mut progress)
            .await
    }

    /// One file of a backup as a byte stream (web action `backups`, `sa=filesdl`): the pieces
    /// as they come off the server's socket, for a caller that passes them on (a web console
    /// sending it to a browser) without holding the file, in memory or on disk. The stream
    /// ends with an error, never short: see [`BackupDownload`].
    ///
    /// Errors before the first byte as [`download_file`](UrbackupServer::download_file): a
    /// path the server cannot read is [`UrbackupError::AccessDenied`]
    /// (`path_dl_access_denied`); a folder path gives an empty body.
    pub async fn download_file_stream(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
    ) -> Result<BackupDownload> {
        let call = path_call("filesdl", clientid, backup, path);
        self.transport.download_stream(call, false).await
    }

    /// A folder of a backup as the server's ZIP file, as a byte stream (web action
    /// `backups`, `sa=zipdl`; see [`download_file_stream`](UrbackupServer::download_file_stream)).
    /// The server announces no length for a ZIP and ends it by closing the connection, so the
    /// end is checked by the ZIP's own closing record: a ZIP cut off in the middle ends with
    /// an error.
    pub async fn download_folder_zip_stream(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
    ) -> Result<BackupDownload> {
        let call = path_call("zipdl", clientid, backup, path);
        self.transport.download_stream(call, true).await
    }

    /// Downloads a folder of a backup as a ZIP file to `dest` (web action `backups`,
    /// `sa=zipdl`), streamed like [`download_file`](UrbackupServer::download_file). A ZIP that
    /// ends without its closing record (the connection dropped) is an error and leaves
    /// nothing under `dest`.
    pub async fn download_folder_zip(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
        dest: impl AsRef<Path>,
    ) -> Result<u64> {
        self.download_folder_zip_with_progress(clientid, backup, path, dest, |_, _| {})
            .await
    }

    /// [`download_folder_zip`](UrbackupServer::download_folder_zip) with a progress callback
    /// (the server streams ZIP files without announcing their size: `total` is `None`).
    pub async fn download_folder_zip_with_progress(
        &self,
        clientid: i64,
        backup: BackupRef,
        path: &str,
        dest: impl AsRef<Path>,
        mut progress: impl FnMut(u64, Option<u64>) + Send,
    ) -> Result<u64> {
        let call = path_call("zipdl", clientid, backup, path);
        self.transport
            .download(call, true, dest.as_ref(), &mut progress)
            .await
    }

    /// Starts restoring `path` of file backup `backupid` to the (online) client (web action
    /// `backups`, `sa=clientdl`), as the web interface does: a folder is sent as `path`, a
    /// single file as its folder with the file's name as `filter` (the server takes `path` for
    /// a folder: given a file it answers "ok" and then fails the restore with "Cannot read
    /// files from folder ..."). With `filter` (names inside the folder `path`, `/`-separated)
    /// `path` must be a folder.
    ///
    /// Before the start, one listing of the folder checks that the path exists and that the
    /// client can take a restore now (`can_restore`), and tells whether a person at the client
    /// must confirm it ([`RestoreStarted::needs_client_confirmation`]); one `logs` request
    /// notes where the client's logs stand, so that
    /// [`wait_for_restore_outcome`](UrbackupServer::wait_for_restore_outcome) can find the
    /// restore's own log.
    pub async fn restore_files(
        &self,
        clientid: i64,
        backupid: i64,
        path: &str,
        filter: Option<&str>,
    ) -> Result<RestoreStarted> {
        let path = normalize_path(path);
        let backup = BackupRef::File(backupid);
        let (folder, filter, listing) = match filter {
            Some(f) => {
                let listing = self.browse_backup(clientid, backup, &path).await?;
                (path, Some(f.to_owned()), listing)
            }
            None => {
                let (parent, name) = match path.rsplit_once('/') {
                    Some((parent, name)) if !name.is_empty() => (parent.to_owned(), name),
                    _ => (String::new(), ""),
                };
                let listing = self.browse_backup(clientid, backup, &parent).await?;
                match listing
                    .files
                    .iter()
                    .find(|f| crate::text::same_name(&f.name, name))
                {
                    _ if name.is_empty() => (path, None, listing),
                    Some(f) if f.dir => (path, None, listing),
                    Some(_) => (parent, Some(name.to_owned()), listing),
                    None => {
                        return Err(UrbackupError::Server {
                            action: "backups".into(),
                            message: format!(
                                "no `{path}` in file backup {backupid} of client {clientid}"
                            ),
                        })
                    }
                }
            }
        };
        if !listing.can_restore {
            return Err(UrbackupError::Server {
                action: "backups".into(),
                message: format!(
                    "client {clientid} cannot take a restore now (offline, or restores are off)"
                ),
            });
        }
        let logs_before = self
            .get_logs(&LogFilter {
                clientids: vec![clientid],
                min_level: Some(LogLevel::Info),
            })
            .await?
            .iter()
            .map(|l| l.id)
            .max()
            .unwrap_or(0);
        let started = Instant::now();
        let call = Call::write("backups")
            .param("sa", "clientdl")
            .param("clientid", clientid.to_string())
            .param("backupid", backupid.to_string())
            .param("path", folder.clone())
            .param_opt("filter", filter.clone());
        let v: Value = self.transport.call(call).await?;
        let ok = matches!(v.get("ok"), Some(Value::String(s)) if s == "true")
            || v.get("ok") == Some(&Value::Bool(true));
        if !ok {
            return Err(UrbackupError::unexpected(
                "backups",
                "restore not confirmed",
                v.to_string().as_bytes(),
            ));
        }
        Ok(RestoreStarted {
            wait_key: v
                .get("wait_key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            clientid,
            backupid,
            path: folder,
            filter,
            needs_client_confirmation: !listing.server_confirms_restore,
            logs_before,
            started,
        })
    }

    /// Waits until the server has prepared a restore started with
    /// [`restore_files`](UrbackupServer::restore_files) (web action `restore_prepare_wait`,
    /// which holds each request up to 10 s). Returns `true` when prepared, `false` when
    /// `timeout` passed first. Prepared is not done: the outcome comes from
    /// [`wait_for_restore_outcome`](UrbackupServer::wait_for_restore_outcome).
    pub async fn wait_for_restore(
        &self,
        restore: &RestoreStarted,
        timeout: Duration,
    ) -> Result<bool> {
        if restore.wait_key.is_empty() {
            return Ok(true);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let v: Value = self
                .transport
                .call(
                    Call::read("restore_prepare_wait")
                        .param("wait_key", restore.wait_key.as_str())
                        .long_poll(),
                )
                .await?;
            if v.get("completed").and_then(Value::as_bool) == Some(true) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }

    /// The outcome of a restore if it has ended (web action `logs`, and `logs` with `logid`
    /// for its lines): the first restore log of the client after the start. `None` while it
    /// has not ended.
    pub async fn restore_outcome(
        &self,
        restore: &RestoreStarted,
    ) -> Result<Option<RestoreOutcome>> {
        let logs = self
            .get_logs(&LogFilter {
                clientids: vec![restore.clientid],
                min_level: Some(LogLevel::Info),
            })
            .await?;
        let Some(log) = logs
            .into_iter()
            .filter(|l| l.restore && l.id > restore.logs_before)
            .min_by_key(|l| l.id)
        else {
            return Ok(None);
        };
        let lines = self
            .get_log(log.id)
            .await?
            .map(|l| l.lines)
            .unwrap_or_default();
        Ok(Some(RestoreOutcome {
            log,
            lines,
            elapsed: restore.started.elapsed(),
        }))
    }

    /// Follows a restore started with [`restore_files`](UrbackupServer::restore_files) until
    /// its log says how it ended (see [`RestoreOutcome`]), polling `progress` and `logs`
    /// every `interval`; `on_phase` hears where it stands after each poll, with the
    /// restore's `progress` item when it has one. `None` when `timeout` passed first.
    ///
    /// A restore that needs the client's confirmation
    /// ([`RestoreStarted::needs_client_confirmation`]) stays [`RestorePhase::Queued`] until a
    /// person at the client confirms it: pass a timeout, or tell the user what it waits for.
    pub async fn wait_for_restore_outcome(
        &self,
        restore: &RestoreStarted,
        interval: Duration,
        timeout: Option<Duration>,
        mut on_phase: impl FnMut(RestorePhase, Option<&ActionProgress>) + Send,
    ) -> Result<Option<RestoreOutcome>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let prepare = timeout.unwrap_or(Duration::from_secs(300));
        self.wait_for_restore(restore, prepare).await?;
        loop {
            if let Some(outcome) = self.restore_outcome(restore).await? {
                return Ok(Some(outcome));
            }
            let actions = self.client_actions(restore.clientid).await?;
            let item = actions.iter().find(|a| a.action == ActionType::FileRestore);
            let phase = match item {
                None => RestorePhase::Preparing,
                Some(a) if a.progress_percent < 0 => RestorePhase::Queued,
                Some(_) => RestorePhase::Running,
            };
            on_phase(phase, item);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Archives a backup: kept until un-archived (web action `backups`, `archive`).
    pub async fn archive_backup(&self, clientid: i64, backup: BackupRef) -> Result<()> {
        self.backup_op(clientid, "archive", backup, |b| b.archived)
            .await
    }

    /// Un-archives a backup (web action `backups`, `unarchive`).
    pub async fn unarchive_backup(&self, clientid: i64, backup: BackupRef) -> Result<()> {
        self.backup_op(clientid, "unarchive", backup, |b| !b.archived)
            .await
    }

    /// Marks a backup for deletion at the next cleanup (web action `backups`, `delete`).
    pub async fn delete_backup(&self, clientid: i64, backup: BackupRef) -> Result<()> {
        self.backup_op(clientid, "delete", backup, |b| b.delete_pending)
            .await
    }

    /// Cancels a pending deletion (web action `backups`, `stop_delete`).
    pub async fn cancel_backup_deletion(&self, clientid: i64, backup: BackupRef) -> Result<()> {
        self.backup_op(clientid, "stop_delete", backup, |b| !b.delete_pending)
            .await
    }

    /// Sends one backup operation and checks its effect on the returned list (the server
    /// skips unauthorized operations silently).
    async fn backup_op(
        &self,
        clientid: i64,
        op: &'static str,
        backup: BackupRef,
        done: fn(&BackupEntry) -> bool,
    ) -> Result<()> {
        let call = Call::write("backups")
            .param("sa", "backups")
            .param("clientid", clientid.to_string())
            .param(op, backup.wire_id().to_string());
        let r: BackupsReply = self.transport.call(call).await?;
        if let Some(err) = r.delete_err.clone().or_else(|| r.delete_now_err.clone()) {
            return Err(UrbackupError::Server {
                action: "backups".into(),
                message: format!("{op} refused: {err}"),
            });
        }
        let all: ClientBackups = r.into();
        let list = match backup {
            BackupRef::File(_) => &all.file_backups,
            BackupRef::Image(_) => &all.image_backups,
        };
        let id = backup.wire_id().abs();
        match list.iter().find(|b| b.id == id) {
            None => Err(UrbackupError::Server {
                action: "backups".into(),
                message: format!("no backup {id} of client {clientid}"),
            }),
            Some(b) if done(b) => Ok(()),
            Some(_) => Err(UrbackupError::access_denied("backups", Some(op.into()))),
        }
    }
}

/// A `backups` call about a path inside a backup (browse, file and zip downloads).
fn path_call(sa: &'static str, clientid: i64, backup: BackupRef, path: &str) -> Call<'static> {
    Call::read("backups")
        .param("sa", sa)
        .param("clientid", clientid.to_string())
        .param("backupid", backup.wire_id().to_string())
        .param("path", normalize_path(path))
}

fn backups_call(clientid: i64) -> Call<'static> {
    Call::read("backups")
        .param("sa", "backups")
        .param("clientid", clientid.to_string())
}

/// `/`-separated, without a leading slash duplicated: the server ignores empty components.
pub(super) fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}
