//! Starts the real server accepts and does not run, as `ClientMain.cpp` of 2.4.x and 2.5.x
//! holds them (`urbackup_sim::state::PendingStarts`): an image start of a client without
//! image support (2.4: it blocks the client's file backups until a restart; 2.5: dropped),
//! starts of a kind switched off on the server (they wait, an image one blocking file
//! backups, until the kind is switched on).

mod common;

use std::time::Duration;

use common::{login_user, post};
use serde_json::Value;
use urbackup_sim::{ClientSpec, ServerVersion, SimServer, Simulator};

async fn sim(version: ServerVersion) -> (SimServer, String) {
    let sim = Simulator::builder()
        .client(ClientSpec::new("win").online(true).windows().backups(1, 1))
        .client(ClientSpec::new("lin").online(true).linux().backups(1, 0))
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .session_idle_timeout(Duration::from_secs(86_400))
        .server_version(version)
        .start()
        .await
        .unwrap();
    let (ses, r) = login_user(sim.addr(), "admin", "secret").await;
    assert_eq!(r["success"], Value::Bool(true));
    (sim, ses)
}

/// `start_backup` of one client: its `start_ok`.
async fn start(sim: &SimServer, ses: &str, name: &str, ty: &str) -> bool {
    let id = sim.client_id(name).unwrap().to_string();
    let r = post(
        sim.addr(),
        "start_backup",
        &[("ses", ses), ("start_client", &id), ("start_type", ty)],
    )
    .await
    .json();
    r["result"][0]["start_ok"].as_bool().unwrap()
}

/// The `progress` actions of client `name`.
async fn running(sim: &SimServer, ses: &str, name: &str) -> Vec<i64> {
    let id = sim.client_id(name).unwrap();
    let p = post(sim.addr(), "progress", &[("ses", ses)]).await.json();
    p["progress"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["clientid"] == id)
        .map(|a| a["action"].as_i64().unwrap())
        .collect()
}

fn file_backups(sim: &SimServer, name: &str) -> usize {
    let id = sim.client_id(name).unwrap();
    sim.with_state(|st| st.clients[&id].file_backups.len())
}

fn image_backups(sim: &SimServer, name: &str) -> usize {
    let id = sim.client_id(name).unwrap();
    sim.with_state(|st| st.clients[&id].image_backups.len())
}

fn switch(sim: &SimServer, key: &str, on: bool) {
    sim.with_state(|st| {
        st.general.insert(key.into(), on.to_string());
    });
}

/// The debug lines `msg=...` of the server's live log (every message a client's thread reads).
async fn messages(sim: &SimServer, ses: &str) -> Vec<String> {
    let r = post(sim.addr(), "livelog", &[("ses", ses), ("clientid", "0")])
        .await
        .json();
    r["logdata"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["msg"].as_str())
        .filter(|m| m.starts_with("msg="))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn on_2_4_an_image_start_of_a_linux_client_stops_its_file_backups_until_a_restart() {
    let (sim, ses) = sim(ServerVersion::V2_4).await;
    // Accepted, like the real 2.4.15 server: `start_ok` true, nothing runs.
    assert!(start(&sim, &ses, "lin", "incr_image").await);
    assert!(running(&sim, &ses, "lin").await.is_empty());
    assert_eq!(messages(&sim, &ses).await, ["msg=START IMAGE INCR"]);
    // From now on file backups are accepted and never run, however long one waits.
    let before = file_backups(&sim, "lin");
    assert!(start(&sim, &ses, "lin", "incr_file").await);
    assert!(start(&sim, &ses, "lin", "full_file").await);
    sim.advance(Duration::from_secs(3600));
    assert!(running(&sim, &ses, "lin").await.is_empty());
    assert_eq!(file_backups(&sim, "lin"), before);
    // Another client is not touched.
    assert!(start(&sim, &ses, "win", "incr_file").await);
    assert_eq!(running(&sim, &ses, "win").await, [1]);
    // A restart forgets the pending start: the next file backup runs and finishes.
    sim.restart();
    let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
    assert!(start(&sim, &ses, "lin", "incr_file").await);
    assert_eq!(running(&sim, &ses, "lin").await, [1]);
    sim.advance(Duration::from_secs(21));
    assert!(running(&sim, &ses, "lin").await.is_empty());
    assert_eq!(file_backups(&sim, "lin"), before + 1);
}

#[tokio::test]
async fn on_2_5_an_image_start_of_a_linux_client_is_dropped() {
    let (sim, ses) = sim(ServerVersion::V2_5).await;
    assert!(start(&sim, &ses, "lin", "full_image").await);
    assert!(running(&sim, &ses, "lin").await.is_empty());
    let before = file_backups(&sim, "lin");
    assert!(start(&sim, &ses, "lin", "incr_file").await);
    assert_eq!(running(&sim, &ses, "lin").await, [1]);
    sim.advance(Duration::from_secs(21));
    assert_eq!(file_backups(&sim, "lin"), before + 1);
    assert_eq!(
        messages(&sim, &ses).await,
        ["msg=START IMAGE FULL", "msg=START BACKUP INCR"]
    );
}

#[tokio::test]
async fn an_image_start_while_images_are_switched_off_blocks_file_backups_until_switched_on() {
    for version in [ServerVersion::V2_4, ServerVersion::V2_5] {
        let (sim, ses) = sim(version).await;
        switch(&sim, "no_images", true);
        let (files, images) = (file_backups(&sim, "win"), image_backups(&sim, "win"));
        assert!(start(&sim, &ses, "win", "full_image").await, "{version}");
        assert!(start(&sim, &ses, "win", "incr_file").await);
        sim.advance(Duration::from_secs(3600));
        assert!(running(&sim, &ses, "win").await.is_empty(), "{version}");
        // Switched on again: the image backup runs, and the file backup that waited for it
        // (the server runs a client's file and image backups side by side).
        switch(&sim, "no_images", false);
        assert_eq!(running(&sim, &ses, "win").await, [4, 1], "{version}");
        sim.advance(Duration::from_secs(21));
        assert_eq!(image_backups(&sim, "win"), images + 1);
        assert_eq!(file_backups(&sim, "win"), files + 1, "{version}");
    }
}

#[tokio::test]
async fn a_file_start_while_file_backups_are_switched_off_waits_and_a_restart_forgets_it() {
    for version in [ServerVersion::V2_4, ServerVersion::V2_5] {
        let (sim, ses) = sim(version).await;
        switch(&sim, "no_file_backups", true);
        let before = file_backups(&sim, "lin");
        assert!(start(&sim, &ses, "lin", "incr_file").await, "{version}");
        sim.advance(Duration::from_secs(3600));
        assert!(running(&sim, &ses, "lin").await.is_empty());
        assert_eq!(file_backups(&sim, "lin"), before);
        sim.restart();
        switch(&sim, "no_file_backups", false);
        sim.advance(Duration::from_secs(3600));
        assert_eq!(file_backups(&sim, "lin"), before, "{version}: forgotten");
        // Switched on without a restart, a waiting start runs.
        let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
        switch(&sim, "no_file_backups", true);
        assert!(start(&sim, &ses, "lin", "full_file").await);
        switch(&sim, "no_file_backups", false);
        assert_eq!(running(&sim, &ses, "lin").await, [2], "{version}");
    }
}

#[tokio::test]
async fn a_client_that_disconnects_forgets_its_pending_starts() {
    let (sim, ses) = sim(ServerVersion::V2_4).await;
    assert!(start(&sim, &ses, "lin", "incr_image").await);
    assert!(start(&sim, &ses, "lin", "incr_file").await);
    assert!(running(&sim, &ses, "lin").await.is_empty());
    sim.set_online("lin", false);
    sim.set_online("lin", true);
    assert!(start(&sim, &ses, "lin", "incr_file").await);
    assert_eq!(running(&sim, &ses, "lin").await, [1]);
}
