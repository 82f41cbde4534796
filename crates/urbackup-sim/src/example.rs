//! The example fleet (`urbackup-sim --example`, [`SimBuilder::example_fleet`]): the clients
//! the CLI README's examples name, so that every example runs as written against a simulator
//! started with one command.
//!
//! [`SimBuilder::example_fleet`]: crate::SimBuilder::example_fleet

use crate::seed::ClientSpec;
use std::time::Duration;

/// The clients of the example fleet, in id order:
///
/// | client | what it is |
/// |---|---|
/// | `fileserver` | Windows, group `servers`, 7 file and 3 image backups |
/// | `web-01`, `web-02` | Linux (no images), group `servers` |
/// | `db-01` | Linux, group `servers`; a full file backup runs for ten minutes from the start, moving from its first seconds, then ends like any other (`actions stop 1` stops it) |
/// | `mail` | Linux, group `servers`; its last file backup failed |
/// | `accounting-pc`, `reception` | Windows, group `office` |
/// | `ceo-laptop` | Windows, group `office`, offline |
/// | `dev-ws-1` | Windows |
/// | `lab-pi` | Linux, offline, never backed up |
pub fn example_fleet() -> Vec<ClientSpec> {
    vec![
        ClientSpec::new("fileserver")
            .windows()
            .group("servers")
            .backups(7, 3),
        ClientSpec::new("web-01")
            .linux()
            .group("servers")
            .backups(6, 0),
        ClientSpec::new("web-02")
            .linux()
            .group("servers")
            .backups(6, 0),
        ClientSpec::new("db-01")
            .linux()
            .group("servers")
            .backups(7, 0)
            .running_backup(Duration::from_secs(600)),
        ClientSpec::new("mail")
            .linux()
            .group("servers")
            .backups(5, 0)
            .last_backup_failed(),
        ClientSpec::new("accounting-pc")
            .windows()
            .group("office")
            .backups(5, 2),
        ClientSpec::new("reception")
            .windows()
            .group("office")
            .backups(4, 1),
        ClientSpec::new("ceo-laptop")
            .windows()
            .group("office")
            .online(false)
            .backups(3, 1),
        ClientSpec::new("dev-ws-1").windows().backups(4, 2),
        ClientSpec::new("lab-pi").linux().online(false),
    ]
}
