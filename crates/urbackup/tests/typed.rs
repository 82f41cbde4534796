//! The specification's typed surface, method by method, against the simulator over HTTP.

mod common;
use common::*;
use std::time::Duration;
use urbackup::{ActionType, BackupType, InstallerOS, LogLevel, UrbackupError};

#[tokio::test]
async fn login_and_client_statuses() {
    let sim = start().await;
    let s = admin(&sim);
    let info = s.login_typed().await.unwrap();
    assert!(!info.anonymous);
    assert_eq!(info.api_version, Some(2));
    let clients = s.get_client_statuses().await.unwrap();
    let names: Vec<&str> = clients.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let beta = clients.iter().find(|c| c.name == "beta").unwrap();
    assert!(beta.online && beta.image_not_supported);
    assert!(!clients.iter().find(|c| c.name == "gamma").unwrap().online);
    assert!(clients
        .iter()
        .all(|c| c.id > 0 && c.raw.get().contains(&c.name)));
    assert_eq!(sim.logins(), 1);
}

#[tokio::test]
async fn client_status_by_name() {
    let sim = start().await;
    let s = admin(&sim);
    let a = s.get_client_status_by_name("alpha").await.unwrap();
    assert_eq!(a.name, "alpha");
    assert_eq!(Some(a.id), sim.client_id("alpha"));
    match s.get_client_status_by_name("nope").await {
        Err(UrbackupError::ClientNotFound(n)) => assert_eq!(n, "nope"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_identity() {
    let sim = start().await;
    let id = admin(&sim).get_server_identity_str().await.unwrap();
    assert!(!id.is_empty());
    let info = admin(&sim).server_info().await.unwrap();
    assert_eq!(info.identity, id);
    assert!(info.pubkey.starts_with(&id));
}

#[tokio::test]
async fn backups_usage_and_actions() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s
        .start_backup_typed("alpha", BackupType::FullFile)
        .await
        .unwrap());
    sim.advance(Duration::from_secs(3));
    let actions = s.get_actions_typed().await.unwrap();
    let a = actions
        .iter()
        .find(|a| a.name == "alpha")
        .expect("running backup");
    assert_eq!(a.action, ActionType::FullFile);
    assert!(a.progress_percent >= -1 && a.progress_percent <= 100);
    assert_eq!(a.percent().is_some(), a.progress_percent >= 0);
    assert_eq!(a.eta().is_some(), a.eta_ms > 0);
    let alpha = sim.client_id("alpha").unwrap();
    finish_actions(&sim, &s, alpha).await;

    let backups = s.get_backups(alpha).await.unwrap();
    assert!(!backups.is_empty());
    let newest = &backups[0];
    assert_eq!(newest.clientid, alpha);
    assert_eq!(newest.incremental, 0);
    assert!(newest.size_bytes > 0 && newest.backuptime > 0);

    let usage = s.get_usage_typed().await.unwrap();
    let u = usage
        .iter()
        .find(|u| u.name == "alpha")
        .expect("usage of alpha");
    assert!(u.used > 0 && u.files > 0);
}

#[tokio::test]
async fn image_backups_come_from_the_image_list() {
    let sim = start().await;
    let s = admin(&sim);
    let alpha = sim.client_id("alpha").unwrap();
    assert!(s
        .start_backup_typed("alpha", BackupType::FullImage)
        .await
        .unwrap());
    finish_actions(&sim, &s, alpha).await;
    let images = s.get_image_backups(alpha).await.unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    assert!(images[0].image && images[0].letter.is_some());
    assert!(s.get_backups(alpha).await.unwrap().iter().all(|b| !b.image));
}

#[tokio::test]
async fn start_backup_offline_is_false() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(!s
        .start_backup_typed("gamma", BackupType::IncrFile)
        .await
        .unwrap());
    assert!(matches!(
        s.start_backup_typed("nope", BackupType::IncrFile).await,
        Err(UrbackupError::ClientNotFound(_))
    ));
}

#[tokio::test]
async fn stop_action_typed_stops_it() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s
        .start_backup_typed("beta", BackupType::FullFile)
        .await
        .unwrap());
    sim.advance(Duration::from_secs(2));
    let a = s
        .get_actions_typed()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.name == "beta")
        .unwrap();
    assert!(s.stop_action_typed(&a).await.unwrap());
    sim.advance(Duration::from_secs(2));
    assert!(s
        .get_actions_typed()
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != a.id));
    let beta = sim.client_id("beta").unwrap();
    assert!(
        s.get_backups(beta).await.unwrap().is_empty(),
        "a stopped backup leaves no backup"
    );
}

#[tokio::test]
async fn livelog_typed() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s
        .start_backup_typed("alpha", BackupType::IncrFile)
        .await
        .unwrap());
    let alpha = sim.client_id("alpha").unwrap();
    finish_actions(&sim, &s, alpha).await;
    let lines = s.get_livelog_typed(alpha).await.unwrap();
    assert!(!lines.is_empty());
    assert!(lines.windows(2).all(|w| w[0].id < w[1].id));
    assert!(lines.iter().all(|l| !l.message.is_empty()));
    assert!(lines.iter().any(|l| l.level >= LogLevel::Info));
}

#[tokio::test]
async fn extra_clients_typed() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.get_extra_clients_typed().await.unwrap().is_empty());
    let e = s.add_extra_client_typed("10.1.2.3").await.unwrap();
    assert_eq!(e.hostname, "10.1.2.3");
    let list = s.get_extra_clients_typed().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, e.id);
    s.remove_extra_client_typed(e.id).await.unwrap();
    assert!(s.get_extra_clients_typed().await.unwrap().is_empty());
}

#[tokio::test]
async fn global_settings_typed_change_exactly_one_key() {
    let sim = start().await;
    let s = admin(&sim);
    let before = s.get_global_settings_typed().await.unwrap();
    assert!(before.len() > 50);
    assert!(s
        .set_global_setting_typed("update_freq_incr", 7200)
        .await
        .unwrap());
    let after = s.get_global_settings_typed().await.unwrap();
    assert_eq!(before.diff_keys(&after), ["update_freq_incr"]);
    assert_eq!(after.get("update_freq_incr").unwrap().text(), "7200");
    // A boolean flat key: sent as `false`, read back as false.
    assert!(s
        .set_global_setting_typed("backup_database", false)
        .await
        .unwrap());
    let again = s.get_global_settings_typed().await.unwrap();
    assert_eq!(after.diff_keys(&again), ["backup_database"]);
    assert!(matches!(
        s.set_global_setting_typed("no_such_key", 1).await,
        Err(UrbackupError::UnknownSetting(k)) if k == "no_such_key"
    ));
}

#[tokio::test]
async fn client_settings_typed_change_exactly_one_key() {
    let sim = start().await;
    let s = admin(&sim);
    let before = s.get_client_settings_typed("alpha").await.unwrap();
    assert!(before.get("update_freq_incr").unwrap().use_mask.is_some());
    assert!(s
        .change_client_setting_typed("alpha", "exclude_files", "*.tmp;*.bak")
        .await
        .unwrap());
    let after = s.get_client_settings_typed("alpha").await.unwrap();
    assert_eq!(before.diff_keys(&after), ["exclude_files"]);
    let x = after.get("exclude_files").unwrap();
    assert_eq!(x.text(), "*.tmp;*.bak");
    assert_eq!(x.use_mask, Some(2));
    // The other clients are untouched.
    let beta = s.get_client_settings_typed("beta").await.unwrap();
    assert_ne!(beta.get("exclude_files").unwrap().text(), "*.tmp;*.bak");
    assert!(matches!(
        s.change_client_setting_typed("alpha", "bogus", "1").await,
        Err(UrbackupError::UnknownSetting(_))
    ));
    assert!(matches!(
        s.change_client_setting_typed("nope", "exclude_files", "x")
            .await,
        Err(UrbackupError::ClientNotFound(_))
    ));
}

#[tokio::test]
async fn users_add_and_list() {
    let sim = start().await;
    let s = admin(&sim);
    let users = s.get_users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    assert!(names.contains(&"admin") && names.contains(&"viewer"));
    assert_eq!(
        users.iter().find(|u| u.name == "admin").unwrap().rights,
        "all"
    );

    assert!(s.add_user("carol", "carol-pw", "all").await.unwrap());
    assert!(matches!(
        s.add_user("carol", "x", "all").await,
        Err(UrbackupError::UserAlreadyExists(n)) if n == "carol"
    ));
    // The new user can log in with that password: the hash was made as the web UI does.
    let carol = urbackup::UrbackupServer::new(&sim.url(), "carol", "carol-pw").unwrap();
    assert_eq!(carol.get_client_statuses().await.unwrap().len(), 3);

    assert!(s
        .add_user("dave", "dave-pw", "status=all;logs=1")
        .await
        .unwrap());
    let dave = s
        .get_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "dave")
        .unwrap();
    assert!(
        dave.rights.contains("status=all") && dave.rights.contains("logs=1"),
        "{}",
        dave.rights
    );
    // No failed logins were spent on checks.
    assert_eq!(sim.requests("salt"), 2, "one salt per login (admin, carol)");
}

#[tokio::test]
async fn groups_come_from_navitems() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.get_groups().await.unwrap().is_empty());
    let g = s.add_group("servers").await.unwrap();
    assert_eq!(g.name, "servers");
    let groups = s.get_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id, g.id);
}

#[tokio::test]
async fn installer_typed_downloads_the_requested_os() {
    let sim = start().await;
    let s = admin(&sim);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("installer.sh");
    assert!(s
        .download_installer_typed(&path, "newbox", InstallerOS::Linux)
        .await
        .unwrap());
    let body = std::fs::read(&path).unwrap();
    assert!(!body.is_empty());
    assert!(String::from_utf8_lossy(&body).contains("newbox"));
    // The client was added first.
    assert!(s.client_id("newbox").await.is_ok());
    // An existing client gets the OS asked for, not Windows.
    let exe = dir.path().join("installer.exe");
    assert!(s
        .download_installer_typed(&exe, "alpha", InstallerOS::Windows)
        .await
        .unwrap());
    assert_ne!(std::fs::read(&exe).unwrap(), body);
}
