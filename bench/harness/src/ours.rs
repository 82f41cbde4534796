//! "Ours": the urbackup library, used through its public API only.

use anyhow::Result;
use urbackup::{BackupType, UrbackupServer};

pub fn connect(url: &str, user: &str, password: &str) -> Result<UrbackupServer> {
    Ok(UrbackupServer::new(url, user, password)?)
}

/// The typed "all client statuses" call; returns the number of clients.
pub async fn statuses(server: &UrbackupServer) -> Result<usize> {
    Ok(server.get_client_statuses().await?.len())
}

/// Task: look a client up by name (fresh handle, so the login is included).
pub async fn lookup(server: &UrbackupServer, name: &str) -> Result<String> {
    let c = server.get_client_status_by_name(name).await?;
    Ok(format!("{{\"id\":{},\"name\":{:?}}}", c.id, c.name))
}

/// Task: start an incremental file backup of a client given by name.
pub async fn start_backup(server: &UrbackupServer, name: &str) -> Result<String> {
    let ok = server
        .start_backup_typed(name, BackupType::IncrFile)
        .await?;
    Ok(ok.to_string())
}
