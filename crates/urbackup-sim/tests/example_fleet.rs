//! The example fleet (`urbackup-sim --example`): its running backup (`db-01`) moves from its
//! first seconds and ends like any other backup, into the backup list.

mod common;

use common::{login_user, post};
use serde_json::Value;
use std::time::Duration;
use urbackup_sim::Simulator;

fn db01(progress: &Value) -> Option<Value> {
    progress["progress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "db-01")
        .cloned()
}

#[tokio::test]
async fn the_running_backup_of_the_example_fleet_moves_and_ends() {
    let sim = Simulator::builder()
        .example_fleet()
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .start()
        .await
        .unwrap();
    let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
    let progress = || async { post(sim.addr(), "progress", &[("ses", &ses)]).await.json() };
    let id = sim.client_id("db-01").unwrap().to_string();
    let backups = || async {
        post(
            sim.addr(),
            "backups",
            &[("ses", &ses), ("sa", "backups"), ("clientid", &id)],
        )
        .await
        .json()["backups"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = backups().await;
    let p = db01(&progress().await).expect("db-01 runs a backup from the start");
    assert_eq!(p["pcdone"], -1, "it lists its files first: {p}");
    // Within the first seconds (as a backup of the configured 20 s), it copies.
    sim.advance(Duration::from_secs(5));
    let p = db01(&progress().await).expect("still running");
    assert!(p["pcdone"].as_i64().unwrap() >= 0, "{p}");
    assert!(p["done_bytes"].as_i64().unwrap() > 0, "{p}");
    assert!(p["speed_bpms"].as_f64().unwrap() > 0.0, "{p}");
    let eta = p["eta_ms"].as_i64().unwrap();
    assert!(eta > 500_000, "about ten minutes left: {p}");
    // Moving: more done a minute later.
    sim.advance(Duration::from_secs(60));
    let later = db01(&progress().await).expect("still running");
    assert!(
        later["done_bytes"].as_i64() > p["done_bytes"].as_i64(),
        "{later}"
    );
    // In its last minute the estimate is the server's "under a minute", 61 s.
    sim.advance(Duration::from_secs(600 - 65 - 30));
    let end = db01(&progress().await).expect("in its last minute");
    assert_eq!(end["eta_ms"], 61_000, "{end}");
    // After its ten minutes it is over, and one more backup is listed.
    sim.advance(Duration::from_secs(60));
    assert!(db01(&progress().await).is_none(), "ended");
    assert_eq!(backups().await, before + 1);
}
