//! Shared set-up: a simulated server with known clients and users, over real HTTP on
//! loopback.
#![allow(dead_code, unused_imports)]

use std::time::Duration;
use urbackup::UrbackupServer;
pub use urbackup_sim::{ClientSpec, Fault, FaultRule, SimServer, Simulator};

pub const ADMIN: (&str, &str) = ("admin", "secret");
pub const VIEWER: (&str, &str) = ("viewer", "viewer-pw");

/// The standard scene: three clients (two online; `beta` is Linux without image backups),
/// an admin, a viewer with status and progress rights only, a manual clock.
pub fn scene() -> urbackup_sim::SimBuilder {
    Simulator::builder()
        .client(ClientSpec::new("alpha").online(true).windows())
        .client(ClientSpec::new("beta").online(true).linux())
        .client(ClientSpec::new("gamma").online(false).windows())
        .admin(ADMIN.0, ADMIN.1)
        .user(
            VIEWER.0,
            VIEWER.1,
            &[("status", "all"), ("progress", "all")],
        )
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .backup_duration(Duration::from_secs(20))
        .livelog_wait(Duration::from_millis(300))
}

pub async fn start() -> SimServer {
    scene().start().await.expect("simulator starts")
}

pub fn admin(sim: &SimServer) -> UrbackupServer {
    UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, ADMIN.1)
        .timeout(Duration::from_secs(10))
        .retry_base_delay(Duration::from_millis(20))
        .build()
        .unwrap()
}

pub fn viewer(sim: &SimServer) -> UrbackupServer {
    UrbackupServer::builder(&sim.url())
        .credentials(VIEWER.0, VIEWER.1)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Runs the simulated clock until no action of `clientid` is left (at most `max` steps of
/// 5 virtual seconds).
pub async fn finish_actions(sim: &SimServer, server: &UrbackupServer, clientid: i64) {
    for _ in 0..60 {
        sim.advance(Duration::from_secs(5));
        let left = server.client_actions(clientid).await.unwrap();
        if left.is_empty() {
            return;
        }
    }
    panic!("actions of client {clientid} did not finish");
}
