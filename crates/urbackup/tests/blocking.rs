//! The blocking facade: every method, in plain (non-async) tests, against the simulator.

mod common;
use common::*;
use std::time::Duration;
use urbackup::blocking::UrbackupServer;
use urbackup::{
    BackupType, GraphScale, InstallerOS, LogFilter, LogLevel, SettingValue, UrbackupError,
};

fn setup() -> (SimServer, UrbackupServer) {
    let sim = scene().start_blocking().expect("simulator");
    let s = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, ADMIN.1)
        .build_blocking()
        .unwrap();
    (sim, s)
}

fn finish(sim: &SimServer, s: &UrbackupServer, clientid: i64) {
    for _ in 0..60 {
        sim.advance(Duration::from_secs(5));
        if s.client_actions(clientid).unwrap().is_empty() {
            return;
        }
    }
    panic!("not finished");
}

#[test]
fn legacy_methods() {
    let (sim, s) = setup();
    assert!(s.login());
    assert_eq!(s.get_status().unwrap().as_array().unwrap().len(), 3);
    assert_eq!(s.get_client_status("beta").unwrap()["name"], "beta");
    assert!(!s.get_server_identity().unwrap().is_empty());
    assert!(s.get_usage().is_some());
    assert!(s.get_actions().unwrap().as_array().unwrap().is_empty());
    assert!(s.get_livelog(0).is_some());
    assert!(s
        .get_extra_clients()
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
    assert!(s.get_global_settings().is_some());
    assert!(s.get_client_settings("alpha").is_some());
    assert!(!s.get_client_authkey("alpha").unwrap().is_empty());
    assert!(s.set_global_setting("update_freq_full", 2_000_000));
    assert!(s.change_client_setting("alpha", "max_file_full", 12));
    assert!(s.add_client("zeta").is_some());
    assert!(s.add_extra_client("10.9.9.9"));
    let ecid = s.get_extra_clients_typed().unwrap()[0].id;
    assert!(s.remove_extra_client(ecid));
    assert!(s.start_incr_file_backup("alpha"));
    assert!(s.start_full_file_backup("beta"));
    let alpha = sim.client_id("alpha").unwrap();
    finish(&sim, &s, alpha);
    assert!(s.start_incr_image_backup("alpha"));
    finish(&sim, &s, alpha);
    assert!(s.start_full_image_backup("alpha"));
    sim.advance(Duration::from_secs(1));
    let actions = s.get_actions().unwrap();
    let a = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "alpha")
        .unwrap()
        .clone();
    assert!(s.stop_action(&a));
    let dir = tempfile::tempdir().unwrap();
    assert!(s.download_installer(dir.path().join("i.sh"), "zeta", "linux"));
}

#[test]
fn typed_methods_of_the_spec() {
    let (sim, s) = setup();
    assert!(!s.login_typed().unwrap().anonymous);
    assert_eq!(s.get_client_statuses().unwrap().len(), 3);
    assert_eq!(s.get_client_status_by_name("alpha").unwrap().name, "alpha");
    assert!(matches!(
        s.get_client_status_by_name("x"),
        Err(UrbackupError::ClientNotFound(_))
    ));
    assert!(!s.get_server_identity_str().unwrap().is_empty());
    assert!(s.start_backup_typed("alpha", BackupType::FullFile).unwrap());
    sim.advance(Duration::from_secs(1));
    assert_eq!(s.get_actions_typed().unwrap().len(), 1);
    let alpha = sim.client_id("alpha").unwrap();
    finish(&sim, &s, alpha);
    assert!(!s.get_usage_typed().unwrap().is_empty());
    assert!(!s.get_livelog_typed(alpha).unwrap().is_empty());
    assert!(s.get_extra_clients_typed().unwrap().is_empty());
    assert_eq!(s.get_backups(alpha).unwrap().len(), 1);
    assert!(s.get_image_backups(alpha).unwrap().is_empty());
    assert!(s.get_global_settings_typed().unwrap().len() > 50);
    assert!(s.set_global_setting_typed("max_sim_backups", 20).unwrap());
    assert!(s.get_client_settings_typed("beta").unwrap().len() > 50);
    assert!(s
        .change_client_setting_typed("beta", "computername", "b-host")
        .unwrap());
    assert!(s.start_backup_typed("beta", BackupType::FullFile).unwrap());
    sim.advance(Duration::from_secs(1));
    let a = s.get_actions_typed().unwrap().remove(0);
    assert!(s.stop_action_typed(&a).unwrap());
    assert!(s.get_users().unwrap().len() >= 2);
    assert!(s.get_groups().unwrap().is_empty());
    assert!(s.add_user("frank", "pw", "all").unwrap());
    let dir = tempfile::tempdir().unwrap();
    assert!(s
        .download_installer_typed(dir.path().join("i.exe"), "alpha", InstallerOS::Windows)
        .unwrap());
}

#[test]
fn methods_beyond_the_spec() {
    let (sim, s) = setup();
    let alpha = s.client_id("alpha").unwrap();
    assert_eq!(s.status_report().unwrap().status.len(), 3);
    assert!(s.server_info().unwrap().api_version.is_some());
    let e = s.add_extra_client_typed("h1").unwrap();
    s.remove_extra_client_typed(e.id).unwrap();
    let new = s.add_client_typed("eta").unwrap();
    s.remove_client(&[new.id]).unwrap();
    s.cancel_client_removal(&[new.id]).unwrap();
    assert!(s.status_check().unwrap().is_empty());
    let r = s.start_backups(&[alpha], BackupType::FullFile).unwrap();
    assert!(r[0].start_ok);
    sim.advance(Duration::from_secs(1));
    let act = s.client_actions(alpha).unwrap().remove(0);
    assert!(s.stop_action_ids(alpha, act.id).unwrap());
    sim.advance(Duration::from_secs(60));
    s.start_backups(&[alpha], BackupType::FullFile).unwrap();
    finish(&sim, &s, alpha);
    assert!(!s.last_activities().unwrap().is_empty());
    let b = s.client_backups(alpha).unwrap().file_backups[0].backup_ref();
    let root = s.browse_backup(alpha, b, "").unwrap();
    let dir = root.files.iter().find(|f| f.dir).unwrap().name.clone();
    let tmp = tempfile::tempdir().unwrap();
    assert!(
        s.download_folder_zip(alpha, b, &dir, tmp.path().join("d.zip"))
            .unwrap()
            > 0
    );
    let sub = s.browse_backup(alpha, b, &dir).unwrap();
    let f = sub.files.iter().find(|f| !f.dir).unwrap();
    s.download_file(alpha, b, &format!("{dir}/{}", f.name), tmp.path().join("f"))
        .unwrap();
    let mut calls = 0;
    let fpath = format!("{dir}/{}", f.name);
    s.download_file_with_progress(alpha, b, &fpath, tmp.path().join("g"), |_, _| calls += 1)
        .unwrap();
    assert!(calls > 0);
    let mut zipped = 0;
    s.download_folder_zip_with_progress(alpha, b, &dir, tmp.path().join("e.zip"), |d, _| {
        zipped = d
    })
    .unwrap();
    assert!(zipped > 0);
    let restore = s.restore_files(alpha, b.wire_id(), &dir, None).unwrap();
    sim.advance(Duration::from_secs(15));
    assert!(s
        .wait_for_restore(&restore, Duration::from_secs(20))
        .unwrap());
    finish(&sim, &s, alpha);
    s.archive_backup(alpha, b).unwrap();
    s.unarchive_backup(alpha, b).unwrap();
    s.start_backups(&[alpha], BackupType::IncrFile).unwrap();
    finish(&sim, &s, alpha);
    let old = s.get_backups(alpha).unwrap()[1].backup_ref();
    s.delete_backup(alpha, old).unwrap();
    s.cancel_backup_deletion(alpha, old).unwrap();
    assert!(!s.client_settings_by_id(alpha).unwrap().is_empty());
    s.set_global_settings(&[("max_active_clients", SettingValue::Int(500))])
        .unwrap();
    s.change_client_settings(alpha, &[("max_file_incr", SettingValue::Int(41))])
        .unwrap();
    let g = s.add_group("g1").unwrap();
    assert!(!s.group_settings(g.id).unwrap().is_empty());
    s.change_group_settings(g.id, &[("max_file_full", SettingValue::Int(3))])
        .unwrap();
    s.set_client_group(alpha, g.id).unwrap();
    assert_eq!(
        s.settings_clients()
            .unwrap()
            .iter()
            .find(|c| c.id == alpha)
            .unwrap()
            .group,
        g.id
    );
    s.remove_group(g.id).unwrap();
    assert!(!s.get_client_authkey_typed("alpha").unwrap().is_empty());
    assert!(s.mail_settings().unwrap().get("mail_servername").is_some());
    s.set_mail_settings(&[("mail_from", "b@example.com".into())])
        .unwrap();
    assert!(s.ldap_settings().unwrap().get("ldap_server_name").is_some());
    s.set_ldap_settings(&[("ldap_server_port", SettingValue::Int(636))])
        .unwrap();
    s.add_user("gina", "pw", "status=all").unwrap();
    let gina = s
        .get_users()
        .unwrap()
        .into_iter()
        .find(|u| u.name == "gina")
        .unwrap();
    s.change_password(gina.id, "pw2").unwrap();
    s.set_user_rights(gina.id, "all").unwrap();
    s.remove_user(gina.id).unwrap();
    let last = s.livelog(alpha, None, None).unwrap().last().map(|l| l.id);
    assert!(s.livelog(alpha, last, None).unwrap().is_empty());
    let logs = s
        .get_logs(&LogFilter {
            clientids: vec![],
            min_level: Some(LogLevel::Info),
        })
        .unwrap();
    assert!(s.get_log(logs[0].id).unwrap().is_some());
    s.recalculate_statistics().unwrap();
    assert!(!s.pie_graph().unwrap().is_empty());
    s.usage_graph(None, GraphScale::Year).unwrap();
    assert!(
        s.download_client_installer(alpha, InstallerOS::Mac, tmp.path().join("m.sh"))
            .unwrap()
            > 0
    );
    s.forget_session();
    assert_eq!(s.get_client_statuses().unwrap().len(), 4);
    assert!(s.url().ends_with("/x"));
    assert!(s.as_async().url().ends_with("/x"));
}
