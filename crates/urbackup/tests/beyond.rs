//! The rest of the real web API: clients, backups (browse, download, restore, archive,
//! delete), logs, usage, groups, users, mail/LDAP settings.

mod common;
use common::*;
use std::time::Duration;
use urbackup::{
    BackupRef, BackupType, GraphScale, LogFilter, LogLevel, SettingValue, UrbackupError,
};

async fn with_file_backup() -> (SimServer, urbackup::UrbackupServer, i64) {
    let sim = start().await;
    let s = admin(&sim);
    let alpha = sim.client_id("alpha").unwrap();
    assert!(s
        .start_backup_typed("alpha", BackupType::FullFile)
        .await
        .unwrap());
    finish_actions(&sim, &s, alpha).await;
    (sim, s, alpha)
}

#[tokio::test]
async fn remove_and_cancel_removal() {
    let sim = start().await;
    let s = admin(&sim);
    let gamma = s.client_id("gamma").await.unwrap();
    s.remove_client(&[gamma]).await.unwrap();
    assert!(
        s.get_client_status_by_name("gamma")
            .await
            .unwrap()
            .delete_pending
    );
    s.cancel_client_removal(&[gamma]).await.unwrap();
    assert!(
        !s.get_client_status_by_name("gamma")
            .await
            .unwrap()
            .delete_pending
    );
}

#[tokio::test]
async fn start_several_in_one_call() {
    let sim = start().await;
    let s = admin(&sim);
    let ids: Vec<i64> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|n| sim.client_id(n).unwrap())
        .collect();
    let r = s.start_backups(&ids, BackupType::IncrFile).await.unwrap();
    assert_eq!(sim.requests("start_backup"), 1);
    let ok: Vec<(i64, bool)> = r.iter().map(|x| (x.clientid, x.start_ok)).collect();
    assert_eq!(ok, vec![(ids[0], true), (ids[1], true), (ids[2], false)]);
    assert!(r.iter().all(|x| x.start_type == "incr_file"));
}

#[tokio::test]
async fn client_backups_browse_and_download() {
    let (_sim, s, alpha) = with_file_backup().await;
    let all = s.client_backups(alpha).await.unwrap();
    assert_eq!(all.clientid, alpha);
    assert_eq!(all.file_backups.len(), 1);
    assert!(all.can_archive && all.can_delete);
    let b = all.file_backups[0].backup_ref();

    let root = s.browse_backup(alpha, b, "/").await.unwrap();
    assert_eq!(root.clientid, alpha);
    assert!(!root.files.is_empty());
    let dir = root
        .files
        .iter()
        .find(|f| f.dir)
        .expect("a folder at the root");
    let sub = s.browse_backup(alpha, b, &dir.name).await.unwrap();
    let file = sub
        .files
        .iter()
        .find(|f| !f.dir)
        .expect("a file in the folder");

    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("file.bin");
    let mut seen = Vec::new();
    let path = format!("{}/{}", dir.name, file.name);
    let n = s
        .download_file_with_progress(alpha, b, &path, &dest, |done, total| {
            seen.push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(n, file.size as u64);
    assert_eq!(
        seen.last(),
        Some(&(n, Some(n))),
        "progress reaches the announced size"
    );
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), n);

    let zip = tmp.path().join("folder.zip");
    let mut last = 0;
    let z = s
        .download_folder_zip_with_progress(alpha, b, &dir.name, &zip, |done, _| last = done)
        .await
        .unwrap();
    assert_eq!(last, z);
    let bytes = std::fs::read(&zip).unwrap();
    assert_eq!(bytes.len() as u64, z);
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip file");
    // Only the two files are left in the folder: no temporary files.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
}

#[tokio::test]
async fn browse_unknown_backup_is_access_denied() {
    let (_sim, s, alpha) = with_file_backup().await;
    let r = s.browse_backup(alpha, BackupRef::File(9999), "/").await;
    assert!(
        matches!(r, Err(UrbackupError::AccessDenied { .. })),
        "{r:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("x");
    assert!(s
        .download_file(alpha, BackupRef::File(9999), "/a", &dest)
        .await
        .is_err());
    assert!(
        !dest.exists(),
        "no file under the final name after a failed download"
    );
}

#[tokio::test]
async fn restore_to_client() {
    let (sim, s, alpha) = with_file_backup().await;
    let b = s.get_backups(alpha).await.unwrap()[0].id;
    let r = s.restore_files(alpha, b, "/", None).await.unwrap();
    assert!(!r.wait_key.is_empty());
    sim.advance(Duration::from_secs(1));
    let acts = s.client_actions(alpha).await.unwrap();
    assert!(
        acts.iter()
            .any(|a| a.action == urbackup::ActionType::FileRestore),
        "{acts:?}"
    );
    sim.advance(Duration::from_secs(15));
    assert!(s
        .wait_for_restore(&r, Duration::from_secs(20))
        .await
        .unwrap());
    finish_actions(&sim, &s, alpha).await;
    assert!(s.last_activities().await.unwrap().iter().any(|a| a.restore));
}

#[tokio::test]
async fn archive_unarchive_delete_cancel() {
    let (sim, s, alpha) = with_file_backup().await;
    assert!(s
        .start_backup_typed("alpha", BackupType::IncrFile)
        .await
        .unwrap());
    finish_actions(&sim, &s, alpha).await;
    let backups = s.get_backups(alpha).await.unwrap();
    assert_eq!(backups.len(), 2);
    let old = backups[1].backup_ref();
    s.archive_backup(alpha, old).await.unwrap();
    assert!(s.get_backups(alpha).await.unwrap()[1].archived);
    s.unarchive_backup(alpha, old).await.unwrap();
    assert!(!s.get_backups(alpha).await.unwrap()[1].archived);
    s.delete_backup(alpha, old).await.unwrap();
    assert!(s.get_backups(alpha).await.unwrap()[1].delete_pending);
    s.cancel_backup_deletion(alpha, old).await.unwrap();
    assert!(!s.get_backups(alpha).await.unwrap()[1].delete_pending);
    assert!(s
        .archive_backup(alpha, BackupRef::File(4242))
        .await
        .is_err());
}

#[tokio::test]
async fn image_backup_operations_use_negative_ids() {
    let sim = start().await;
    let s = admin(&sim);
    let alpha = sim.client_id("alpha").unwrap();
    s.start_backup_typed("alpha", BackupType::FullImage)
        .await
        .unwrap();
    finish_actions(&sim, &s, alpha).await;
    let img = s.get_image_backups(alpha).await.unwrap()[0].backup_ref();
    assert!(matches!(img, BackupRef::Image(id) if id > 0));
    s.archive_backup(alpha, img).await.unwrap();
    assert!(s.get_image_backups(alpha).await.unwrap()[0].archived);
}

#[tokio::test]
async fn last_activities_and_logs() {
    let (_sim, s, alpha) = with_file_backup().await;
    let acts = s.last_activities().await.unwrap();
    assert!(acts
        .iter()
        .any(|a| a.clientid == alpha && !a.image && a.size_bytes > 0));
    let logs = s
        .get_logs(&LogFilter {
            clientids: vec![alpha],
            min_level: Some(LogLevel::Info),
        })
        .await
        .unwrap();
    assert!(!logs.is_empty());
    let log = s
        .get_log(logs[0].id)
        .await
        .unwrap()
        .expect("the log exists");
    assert_eq!(log.clientname, "alpha");
    assert!(!log.lines.is_empty());
    assert!(s.get_log(987654).await.unwrap().is_none());
    // Default filter = logs with errors only.
    let errors = s.get_logs(&LogFilter::default()).await.unwrap();
    assert!(errors.iter().all(|l| l.errors > 0));
}

#[tokio::test]
async fn livelog_with_lastid_long_polls() {
    let (_sim, s, alpha) = with_file_backup().await;
    let all = s.livelog(alpha, None, None).await.unwrap();
    let last = all.last().unwrap().id;
    let t = std::time::Instant::now();
    let none = s.livelog(alpha, Some(last), None).await.unwrap();
    assert!(none.is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "the server waited"
    );
}

#[tokio::test]
async fn usage_graphs_and_recalculation() {
    let (sim, s, alpha) = with_file_backup().await;
    let pie = s.pie_graph().await.unwrap();
    assert!(pie.iter().any(|p| p.label == "alpha" && p.data > 0.0));
    let g = s.usage_graph(None, GraphScale::Day).await.unwrap();
    assert!(g.ylabel == "MB" || g.ylabel == "GB");
    s.usage_graph(Some(alpha), GraphScale::Month).await.unwrap();
    s.recalculate_statistics().await.unwrap();
    sim.advance(Duration::from_secs(1));
    let acts = s.get_actions_typed().await.unwrap();
    assert!(
        acts.iter()
            .any(|a| a.action == urbackup::ActionType::RecalcStats),
        "{acts:?}"
    );
}

#[tokio::test]
async fn groups_and_membership() {
    let sim = start().await;
    let s = admin(&sim);
    let g = s.add_group("laptops").await.unwrap();
    assert!(matches!(
        s.add_group("laptops").await,
        Err(UrbackupError::Server { .. })
    ));
    let alpha = sim.client_id("alpha").unwrap();
    s.set_client_group(alpha, g.id).await.unwrap();
    assert_eq!(
        s.get_client_status_by_name("alpha")
            .await
            .unwrap()
            .groupname,
        "laptops"
    );
    let gs = s.group_settings(g.id).await.unwrap();
    assert!(gs.get("update_freq_incr").is_some());
    s.change_group_settings(g.id, &[("update_freq_full", SettingValue::Int(1_000_000))])
        .await
        .unwrap();
    assert_eq!(
        s.group_settings(g.id)
            .await
            .unwrap()
            .get("update_freq_full")
            .unwrap()
            .text(),
        "1000000"
    );
    s.remove_group(g.id).await.unwrap();
    assert!(s.get_groups().await.unwrap().is_empty());
    assert_eq!(
        s.get_client_status_by_name("alpha")
            .await
            .unwrap()
            .groupname,
        ""
    );
}

#[tokio::test]
async fn users_remove_password_rights() {
    let sim = start().await;
    let s = admin(&sim);
    s.add_user("erin", "old-pw", "status=all").await.unwrap();
    let erin = s
        .get_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "erin")
        .unwrap();
    s.change_password(erin.id, "new-pw").await.unwrap();
    let e = urbackup::UrbackupServer::new(&sim.url(), "erin", "new-pw").unwrap();
    assert_eq!(e.get_client_statuses().await.unwrap().len(), 3);
    s.set_user_rights(erin.id, "status=all;logs=all")
        .await
        .unwrap();
    let erin2 = s
        .get_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == erin.id)
        .unwrap();
    assert_eq!(erin2.right_list.len(), 2);
    s.remove_user(erin.id).await.unwrap();
    assert!(s
        .get_users()
        .await
        .unwrap()
        .iter()
        .all(|u| u.name != "erin"));
    assert!(matches!(
        s.add_user("bad", "x", "status").await,
        Err(UrbackupError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn mail_and_ldap_settings() {
    let sim = start().await;
    let s = admin(&sim);
    let before = s.mail_settings().await.unwrap();
    assert!(before.get("mail_servername").is_some());
    let after = s
        .set_mail_settings(&[
            ("mail_servername", "smtp.example.com".into()),
            ("mail_ssl_only", true.into()),
        ])
        .await
        .unwrap();
    assert_eq!(
        after.get("mail_servername").unwrap().text(),
        "smtp.example.com"
    );
    assert_eq!(after.get("mail_ssl_only").unwrap().text(), "true");
    assert_eq!(
        s.mail_settings()
            .await
            .unwrap()
            .get("mail_from")
            .unwrap()
            .text(),
        before.get("mail_from").unwrap().text()
    );
    let l = s
        .set_ldap_settings(&[("ldap_server_name", "ldap.example.com".into())])
        .await
        .unwrap();
    assert_eq!(
        l.get("ldap_server_name").unwrap().text(),
        "ldap.example.com"
    );
    assert!(s
        .ldap_settings()
        .await
        .unwrap()
        .get("ldap_login_enabled")
        .is_some());
    assert!(matches!(
        s.set_mail_settings(&[("nope", "x".into())]).await,
        Err(UrbackupError::UnknownSetting(_))
    ));
}

#[tokio::test]
async fn status_check_and_settings_clients() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(s.status_check().await.unwrap().is_empty());
    let clients = s.settings_clients().await.unwrap();
    assert_eq!(clients.len(), 3);
    let key = s.get_client_authkey_typed("alpha").await.unwrap();
    assert!(!key.is_empty());
    let new = s.add_client_typed("epsilon").await.unwrap();
    assert!(new.id > 0 && !new.authkey.is_empty());
    assert!(s.add_client_typed("epsilon").await.is_err());
    assert!(matches!(
        s.add_client_typed("").await,
        Err(UrbackupError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn installer_error_text_is_an_error() {
    let sim = start().await;
    let v = viewer(&sim);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("i.exe");
    let alpha = sim.client_id("alpha").unwrap();
    let r = v
        .download_client_installer(alpha, urbackup::InstallerOS::Windows, &dest)
        .await;
    assert!(r.is_err(), "{r:?}");
    assert!(!dest.exists());
}
