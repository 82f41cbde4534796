//! What a request names: a server, one of its clients, one of that client's backups.
//!
//! [`resolve`] is the one place where a request's server and client are found (every page,
//! fragment, download and action about a client goes through it, and it finds the server
//! through [`server`], where the server page starts too), so that what a user may see is
//! decided here; a backup is found only from what [`resolve`] returned
//! ([`Target::file_backup`], [`Target::image_backup`]).

use super::{AppState, PageError, Session};
use crate::store::BackupRow;
use std::sync::Arc;
use urbackup::UrbackupServer;
use urbackup_fleet::{ClientRow, FleetSnapshot, ServerSnapshot};

/// A server and one of its clients, as a request named them.
pub(in crate::web) struct Target {
    /// The server's snapshot.
    pub server: Arc<ServerSnapshot>,
    /// The client, as the server's last poll showed it.
    pub client: ClientRow,
}

/// Finds the server `name` for `session`: a server this console does not have is a page of
/// its own (404). Pages about a whole server start here; pages about a client start at
/// [`resolve`], which starts here.
pub(in crate::web) fn server(
    f: &FleetSnapshot,
    _session: &Session,
    name: &str,
) -> Result<Arc<ServerSnapshot>, PageError> {
    f.server(name)
        .cloned()
        .ok_or_else(|| PageError::NotFound(format!("No server named “{name}” in this console.")))
}

/// Finds the server `server` and its client `clientid` for `session`: a server this console
/// does not have, or a client that server does not have, is a page of its own (404).
pub(in crate::web) fn resolve(
    f: &FleetSnapshot,
    session: &Session,
    server_name: &str,
    clientid: i64,
) -> Result<Target, PageError> {
    let s = server(f, session, server_name)?;
    let client = s.client(clientid).cloned().ok_or_else(|| {
        PageError::NotFound(format!(
            "Server “{}” has no client with id {clientid}.",
            s.name
        ))
    })?;
    Ok(Target { server: s, client })
}

impl Target {
    /// The server's name in the console.
    pub fn server_name(&self) -> &str {
        &self.server.name
    }

    /// The client's id.
    pub fn id(&self) -> i64 {
        self.client.id()
    }

    /// The library's handle of the server.
    pub fn handle(&self, state: &AppState) -> Result<UrbackupServer, PageError> {
        state
            .poller()
            .server(&self.server.name)
            .map(|p| p.server().clone())
            .ok_or_else(|| PageError::NotFound("No such server.".into()))
    }

    /// File backup `id` of the client, as the console has seen it in the server's lists.
    pub async fn file_backup(&self, state: &AppState, id: i64) -> Result<BackupRow, PageError> {
        self.backup(state, false, id).await
    }

    /// Image backup `id` of the client.
    pub async fn image_backup(&self, state: &AppState, id: i64) -> Result<BackupRow, PageError> {
        self.backup(state, true, id).await
    }

    async fn backup(&self, state: &AppState, image: bool, id: i64) -> Result<BackupRow, PageError> {
        let (server, clientid) = (self.server.name.clone(), self.id());
        let rows = state.db(move |s| s.backups(&server, clientid)).await?;
        let kind = if image { "image" } else { "file" };
        match rows.into_iter().find(|b| b.image == image && b.id == id) {
            Some(b) if b.gone => Err(PageError::NotFound(format!(
                "The server has deleted {kind} backup {id} of {}.",
                self.client.name()
            ))),
            Some(b) => Ok(b),
            None => Err(PageError::NotFound(format!(
                "{} has no {kind} backup {id} that this console knows of (a new backup shows once the console has read the client's backup list).",
                self.client.name()
            ))),
        }
    }

    /// The client's file backups the server still lists, newest first.
    pub async fn file_backups(&self, state: &AppState) -> Result<Vec<BackupRow>, PageError> {
        let (server, clientid) = (self.server.name.clone(), self.id());
        let mut rows = state.db(move |s| s.backups(&server, clientid)).await?;
        rows.retain(|b| !b.image && !b.gone);
        rows.reverse();
        Ok(rows)
    }
}
