//! Client installers (web actions `status`, `add_client`, `download_client`).

use crate::error::{Result, UrbackupError};
use crate::models::InstallerOS;
use crate::transport::Call;
use crate::UrbackupServer;
use std::path::Path;

impl UrbackupServer {
    /// Downloads an installer for the client named `new_clientname` to `installer_fn`,
    /// adding the client first when it does not exist (spec: `download_installer_typed`; web
    /// actions `status`, `add_client` when needed, then `download_client`).
    ///
    /// `download_client` reads its parameters from the query string only, so for this one
    /// call the session id travels in the URL (as the web interface sends it); it never
    /// appears in logs or errors. The spec's Python origin omits `os` for existing clients and
    /// always gets the Windows installer; this sends it.
    pub async fn download_installer_typed(
        &self,
        installer_fn: impl AsRef<Path>,
        new_clientname: &str,
        os: InstallerOS,
    ) -> Result<bool> {
        let id = match self.client_id(new_clientname).await {
            Ok(id) => id,
            Err(UrbackupError::ClientNotFound(_)) => {
                self.add_client_typed(new_clientname).await?.id
            }
            Err(e) => return Err(e),
        };
        self.download_client_installer(id, os, installer_fn).await?;
        Ok(true)
    }

    /// Downloads the installer of client `clientid` for `os` to `dest` (web action
    /// `download_client`). Streamed to a temporary file and renamed into place when
    /// complete; returns its size. The server's `ERROR: ...` replies become
    /// [`UrbackupError::Server`].
    pub async fn download_client_installer(
        &self,
        clientid: i64,
        os: InstallerOS,
        dest: impl AsRef<Path>,
    ) -> Result<u64> {
        let call = Call::read("download_client")
            .param("clientid", clientid.to_string())
            .param("os", os.as_str())
            .in_query();
        self.transport
            .download(call, false, dest.as_ref(), &mut |_, _| {})
            .await
    }
}
