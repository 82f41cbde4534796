//! A console over simulated servers, for the router and browser tests.

#![allow(dead_code)]

pub mod browser;
pub mod files;
pub mod slapd;
pub mod socket;
pub mod web;

use std::sync::Arc;
use std::time::Duration;
use urbackup::{HealthPolicy, UrbackupServer};
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::{Member, PollerConfig};
use urbackup_sim::{ClientSpec, SimServer, Simulator};

pub const SIM_USER: &str = "admin";
pub const SIM_PASSWORD: &str = "sim-secret";

/// Console users of the tests: (name, password, role).
pub const USERS: [(&str, &str, Role); 3] = [
    ("ann", "ann-password", Role::Admin),
    ("otto", "otto-password", Role::Operator),
    ("vera", "vera-password", Role::Viewer),
];

/// A client whose name is markup (client names are chosen by the clients).
pub const MARKUP: &str =
    "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";
/// A client whose name a spreadsheet would run as a formula.
pub const FORMULA: &str = "=HYPERLINK(\"http://evil\")";

/// Two simulated servers (`alpha`: healthy, plus a client named with markup; `beta`: a
/// failed client, a stale one, one never backed up, a Linux client, one whose automatic file
/// backups are switched off) and a third member
/// (`gamma`) that does not answer.
pub struct Fleet {
    pub alpha: SimServer,
    pub beta: SimServer,
    pub console: Console,
    pub dir: tempfile::TempDir,
}

pub fn day() -> i64 {
    86_400
}

async fn sim(clients: Vec<ClientSpec>, backup_secs: u64) -> SimServer {
    let mut b = Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(backup_secs));
    for c in clients {
        b = b.client(c);
    }
    b.start().await.expect("simulator")
}

pub fn member(name: &str, url: &str) -> Member {
    Member::new(
        name,
        UrbackupServer::builder(url)
            .credentials(SIM_USER, SIM_PASSWORD)
            .connect_timeout(Duration::from_secs(2))
            .read_retries(0)
            .build()
            .expect("handle"),
    )
}

/// A console over `members` with the test users, its store in `dir`, the health limits of
/// the tests (file backups: warning 26 h, critical 3 days); not polled yet.
pub fn console(members: Vec<Member>, dir: &tempfile::TempDir, interval: Duration) -> Console {
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    for (name, pw, role) in USERS {
        store.add_user(name, role, pw).unwrap();
    }
    let config = ConsoleConfig {
        policy: HealthPolicy {
            file_warning: Some(26 * 3600),
            file_critical: Some(3 * day()),
            ..HealthPolicy::default()
        },
        poll: PollerConfig {
            interval,
            ..PollerConfig::default()
        },
        ..ConsoleConfig::default()
    };
    Console::new(members, store, config).unwrap()
}

/// Serves the console's router on a free port of loopback; returns its base URL.
pub async fn serve(console: &Console) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = console
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The id of a client of a server in the console's snapshot.
pub fn client_id(console: &Console, server: &str, name: &str) -> i64 {
    console
        .poller()
        .snapshot()
        .server(server)
        .unwrap()
        .clients
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no client {name} on {server}"))
        .id()
}

/// The fleet, its console (store in a temporary folder, the three users), polled once.
pub async fn fleet(interval: Duration, backup_secs: u64) -> Fleet {
    let alpha = sim(
        vec![
            ClientSpec::new("alpha-pc").windows().backups(5, 2),
            ClientSpec::new("alpha-srv").windows().backups(8, 3),
            ClientSpec::new(MARKUP).windows().backups(2, 1),
            ClientSpec::new(FORMULA)
                .windows()
                .backups(1, 0)
                .backups_older_by(5 * day()),
        ],
        backup_secs,
    )
    .await;
    let beta = sim(
        vec![
            ClientSpec::new("beta-ok").windows().backups(4, 1),
            ClientSpec::new("beta-failed")
                .windows()
                .backups(4, 1)
                .last_backup_failed(),
            ClientSpec::new("beta-stale")
                .windows()
                .backups(3, 1)
                .backups_older_by(6 * day()),
            ClientSpec::new("beta-linux").linux().backups(3, 0),
            ClientSpec::new("beta-manual")
                .windows()
                .backups(2, 1)
                .file_backups_disabled(),
            ClientSpec::new("beta-new").never_seen(),
        ],
        backup_secs,
    )
    .await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let console = console(
        vec![
            member("alpha", &alpha.url()),
            member("beta", &beta.url()),
            member("gamma", &dead),
        ],
        &dir,
        interval,
    );
    console.poll_once().await;
    Fleet {
        alpha,
        beta,
        console,
        dir,
    }
}
