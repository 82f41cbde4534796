//! Backups: list, browse, download, restore, archive and delete (web actions `backups`,
//! `restore_prepare_wait`).

use crate::error::{Result, UrbackupError};
use crate::models::{
    BackupEntry, BackupListing, BackupRef, BackupsReply, ClientBackups, RestoreStarted,
};
use crate::transport::Call;
use crate::UrbackupServer;
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
            .download(call, dest.as_ref(), &mut progress)
            .await
    }

    /// Downloads a folder of a backup as a ZIP file to `dest` (web action `backups`,
    /// `sa=zipdl`), streamed like [`download_file`](UrbackupServer::download_file).
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
            .download(call, dest.as_ref(), &mut progress)
            .await
    }

    /// Starts restoring `path` of a file backup to the (online) client (web action `backups`,
    /// `sa=clientdl`). Wait for it with [`wait_for_restore`](UrbackupServer::wait_for_restore);
    /// its progress shows in `progress` as a file restore.
    pub async fn restore_files(
        &self,
        clientid: i64,
        backupid: i64,
        path: &str,
        filter: Option<&str>,
    ) -> Result<RestoreStarted> {
        let call = Call::write("backups")
            .param("sa", "clientdl")
            .param("clientid", clientid.to_string())
            .param("backupid", backupid.to_string())
            .param("path", normalize_path(path))
            .param_opt("filter", filter);
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
        })
    }

    /// Waits until the server has prepared a restore started with
    /// [`restore_files`](UrbackupServer::restore_files) (web action `restore_prepare_wait`,
    /// which holds each request up to 10 s). Returns `true` when prepared, `false` when
    /// `timeout` passed first.
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
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}
