//! A console over a simulated server whose client holds files for the browse, download,
//! restore and versions tests (`router_restore.rs`, `browser_restore.rs`).

use super::{member, USERS};
use std::sync::Arc;
use std::time::Duration;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::PollerConfig;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

/// The markup of a backed-up HTML file: it must never run in the console's origin.
pub const EVIL: &str = "<!doctype html><script>window.__pwned=1</script><h1>evil</h1>";
/// The Latin-1 name as the console shows it (the crate's rule).
pub const LATIN1: &str = r"caf\xE9.txt";
/// Bytes of the large file.
pub const LARGE: u64 = 3 * 1024 * 1024 + 17;

pub struct Files {
    /// Server `home`: `pc` (the files), `shy` (restores confirmed at the client), `away`
    /// (offline).
    pub home: SimServer,
    /// Server `other`: one client.
    pub other: SimServer,
    pub console: Console,
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn id(&self, server: &str, name: &str) -> i64 {
        let snap = self.console.poller().snapshot();
        snap.server(server)
            .unwrap()
            .clients
            .iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no client {name} on {server}"))
            .id()
    }

    /// File backup ids of a client of `home`, newest first.
    pub fn backups(&self, name: &str) -> Vec<i64> {
        let id = self.home.client_id(name).unwrap();
        self.home.with_state(|s| {
            s.clients[&id]
                .file_backups
                .iter()
                .rev()
                .map(|b| b.id)
                .collect()
        })
    }

    /// Image backup ids of a client of `home`, newest first.
    pub fn images(&self, name: &str) -> Vec<i64> {
        let id = self.home.client_id(name).unwrap();
        self.home.with_state(|s| {
            s.clients[&id]
                .image_backups
                .iter()
                .rev()
                .map(|b| b.id)
                .collect()
        })
    }
}

/// The scene, polled once; restores take about `restore_secs`.
pub async fn files(restore_secs: u64) -> Files {
    let builder = || {
        Simulator::builder()
            .admin(super::SIM_USER, super::SIM_PASSWORD)
            .login_failure_delay(Duration::ZERO)
            .backup_duration(Duration::from_secs(restore_secs * 2))
    };
    let home = builder()
        .client(
            ClientSpec::new("pc")
                .windows()
                .backups(4, 1)
                .file_versions(
                    "/C/docs/plan.txt",
                    &[
                        None,
                        Some(b"first plan\n".to_vec()),
                        Some(b"first plan\n".to_vec()),
                        Some(b"second plan, longer\n".to_vec()),
                    ],
                )
                .file("/C/web/evil.html", EVIL)
                .file(&format!("/C/docs/{LATIN1}"), "Latin-1 name\n")
                .wide_folder("/C/many", 10_000)
                .large_file("/C/big/disk.img", LARGE),
        )
        .client(
            ClientSpec::new("shy")
                .linux()
                .backups(2, 0)
                .restores_confirmed_at_client(),
        )
        .client(
            ClientSpec::new("away")
                .windows()
                .backups(2, 0)
                .online(false),
        )
        .start()
        .await
        .unwrap();
    let other = builder()
        .client(ClientSpec::new("x").windows().backups(1, 0))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    for (name, pw, role) in USERS {
        store.add_user(name, role, pw).unwrap();
    }
    let config = ConsoleConfig {
        poll: PollerConfig {
            interval: Duration::from_secs(3600),
            ..PollerConfig::default()
        },
        ..ConsoleConfig::default()
    };
    let console = Console::new(
        vec![member("home", &home.url()), member("other", &other.url())],
        store,
        config,
    )
    .unwrap();
    console.poll_once().await;
    Files {
        home,
        other,
        console,
        dir,
    }
}
