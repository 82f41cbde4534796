//! The specification's legacy surface: raw JSON, `None`/`false` on failure.

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn login_and_status() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.login().await);
    let status = s.get_status().await.unwrap();
    let list = status.as_array().unwrap();
    assert_eq!(list.len(), 3);
    // Raw objects as the server sent them, with fields the typed model does not map.
    assert!(list
        .iter()
        .all(|c| c.get("lastseen").is_some() && c.get("os_simple").is_some()));
    let alpha = s.get_client_status("alpha").await.unwrap();
    assert_eq!(alpha["name"], "alpha");
    assert!(alpha["id"].is_i64());
    assert!(s.get_client_status("nope").await.is_none());
    assert!(!s.get_server_identity().await.unwrap().is_empty());
}

#[tokio::test]
async fn wrong_password_gives_false_and_none() {
    let sim = start().await;
    let s = urbackup::UrbackupServer::new(&sim.url(), "admin", "wrong").unwrap();
    assert!(!s.login().await);
    assert!(s.get_status().await.is_none());
    assert!(!s.start_incr_file_backup("alpha").await);
}

#[tokio::test]
async fn backups_actions_and_stop() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.start_full_file_backup("alpha").await);
    assert!(s.start_incr_file_backup("beta").await);
    assert!(!s.start_incr_file_backup("gamma").await, "offline");
    sim.advance(Duration::from_secs(2));
    let actions = s.get_actions().await.unwrap();
    let list = actions.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|a| a.get("pcdone").is_some()));
    let beta = list.iter().find(|a| a["name"] == "beta").unwrap();
    assert!(s.stop_action(beta).await);
    assert!(!s.stop_action(&Value::Null).await);
    sim.advance(Duration::from_secs(2));
    let left = s.get_actions().await.unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn image_backups_legacy() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.start_full_image_backup("alpha").await);
    let alpha = sim.client_id("alpha").unwrap();
    finish_actions(&sim, &s, alpha).await;
    assert!(s.start_incr_image_backup("alpha").await);
    finish_actions(&sim, &s, alpha).await;
    assert_eq!(s.get_image_backups(alpha).await.unwrap().len(), 2);
}

#[tokio::test]
async fn usage_livelog_extra_clients() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.start_full_file_backup("alpha").await);
    let alpha = sim.client_id("alpha").unwrap();
    finish_actions(&sim, &s, alpha).await;
    let usage = s.get_usage().await.unwrap();
    assert!(usage
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "alpha"));
    let live = s.get_livelog(alpha).await.unwrap();
    assert!(live
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l.get("msg").is_some()));
    assert!(s.get_livelog(0).await.is_some());

    assert!(s.add_extra_client("host-a.example").await);
    let extra = s.get_extra_clients().await.unwrap();
    let list = extra.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert!(
        list[0]["id"].is_string(),
        "raw keeps the server's string id"
    );
    let ecid: i64 = list[0]["id"].as_str().unwrap().parse().unwrap();
    assert!(s.remove_extra_client(ecid).await);
    assert!(s
        .get_extra_clients()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn settings_legacy() {
    let sim = start().await;
    let s = admin(&sim);
    let g = s.get_global_settings().await.unwrap();
    assert!(g.get("update_freq_incr").is_some());
    assert!(s.set_global_setting("max_sim_backups", 7).await);
    let g2 = s.get_global_settings().await.unwrap();
    assert_eq!(g2["max_sim_backups"].to_string().trim_matches('"'), "7");
    assert!(!s.set_global_setting("not_a_setting", 1).await);

    let c = s.get_client_settings("beta").await.unwrap();
    assert!(c.get("internet_authkey").is_some());
    assert!(s.change_client_setting("beta", "max_file_incr", 55).await);
    let c2 = s.get_client_settings("beta").await.unwrap();
    assert_eq!(
        c2["max_file_incr"]["value"].to_string().trim_matches('"'),
        "55"
    );
    assert!(!s.change_client_setting("beta", "nope", 1).await);
    assert!(s.get_client_settings("nope").await.is_none());

    let key = s.get_client_authkey("beta").await.unwrap();
    assert!(!key.is_empty());
    assert!(!key.contains('{'), "the key, not the settings object");
}

#[tokio::test]
async fn add_client_and_installer() {
    let sim = start().await;
    let s = admin(&sim);
    let added = s.add_client("delta").await.unwrap();
    assert!(added["new_clientid"].as_i64().unwrap() > 0);
    assert!(!added["new_authkey"].as_str().unwrap().is_empty());
    assert!(s.add_client("delta").await.is_none(), "exists already");

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("UrBackupUpdate.sh");
    assert!(s.download_installer(&f, "delta", "linux").await);
    assert!(std::fs::metadata(&f).unwrap().len() > 0);
    assert!(
        !s.download_installer(dir.path().join("x"), "delta", "amiga")
            .await
    );
}
