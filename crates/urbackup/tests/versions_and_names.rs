//! Every server and every byte, end to end against the simulator over HTTP: names that are
//! not UTF-8 (a Latin-1 file name, a log line quoting it) on both server generations, and
//! UrBackup 2.4's own ways (settings with `overwrite` and `archive_settings`, status without
//! 2.5's fields, `add_client` without `server_url`).

mod common;
use common::*;
use std::time::Duration;
use urbackup::text::{from_server, to_server};
use urbackup::{
    BackupRef, BackupType, LogFilter, LogLevel, ServerGeneration, SettingValue, UrbackupError,
    UrbackupServer,
};
use urbackup_sim::ServerVersion;

const LATIN1: &str = r"caf\xE9-latin1.txt";

/// A fleet whose client-00009 (Linux) has a Latin-1 file name in `/etc` of its backups, and
/// `alpha`, a Windows client, speaking `version`.
async fn fleet(version: ServerVersion) -> (SimServer, UrbackupServer) {
    let sim = Simulator::builder()
        .server_version(version)
        .clients(9)
        .client(
            ClientSpec::new("alpha")
                .online(true)
                .windows()
                .backups(1, 0),
        )
        .admin(ADMIN.0, ADMIN.1)
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .backup_duration(Duration::from_secs(20))
        .livelog_wait(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let s = admin(&sim);
    (sim, s)
}

#[tokio::test]
async fn a_latin1_name_round_trips_on_both_generations() {
    for version in [ServerVersion::V2_5, ServerVersion::V2_4] {
        let (sim, s) = fleet(version).await;
        let c = s.get_client_status_by_name("client-00009").await.unwrap();
        let backup = s.get_backups(c.id).await.unwrap()[0].backup_ref();
        // Listed under the crate's rule, readable, in the model and in `raw`.
        let l = s.browse_backup(c.id, backup, "/etc").await.unwrap();
        let f = l
            .files
            .iter()
            .find(|f| f.name == LATIN1)
            .unwrap_or_else(|| panic!("{version}: {:?}", l.files));
        assert!(f.raw.get().contains(r#""caf\\xE9-latin1.txt""#));
        assert!(urbackup::text::has_raw_bytes(&f.name));
        // The same on the legacy surface's values.
        let dir =
            std::env::temp_dir().join(format!("urbackup-names-{}-{version}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Downloaded by the listed name: the server finds the file (the form carries %E9).
        let dest = dir.join("latin1");
        let n = s
            .download_file(c.id, backup, &format!("/etc/{}", f.name), &dest)
            .await
            .unwrap();
        assert_eq!(n as i64, f.size);
        // The ZIP of the folder holds the name's bytes.
        let zip = dir.join("etc.zip");
        s.download_folder_zip(c.id, backup, "/etc", &zip)
            .await
            .unwrap();
        let bytes = std::fs::read(&zip).unwrap();
        let name = b"caf\xE9-latin1.txt";
        assert!(bytes.windows(name.len()).any(|w| w == name));
        // Restored by the listed name: the folder plus the name as filter, outcome from its log.
        let started = s
            .restore_files(c.id, backup.wire_id(), &format!("/etc/{}", f.name), None)
            .await
            .unwrap();
        assert_eq!(started.filter.as_deref(), Some(LATIN1));
        let poll = async {
            loop {
                sim.advance(Duration::from_secs(5));
                if let Some(o) = s.restore_outcome(&started).await.unwrap() {
                    return o;
                }
            }
        };
        let o = tokio::time::timeout(Duration::from_secs(20), poll)
            .await
            .expect("the restore ends");
        assert!(o.succeeded(), "{version}: {o:?}");
        // A stored log and the live log quote the name.
        let logs = s
            .get_logs(&LogFilter {
                clientids: vec![c.id],
                min_level: Some(LogLevel::Info),
            })
            .await
            .unwrap();
        let backup_log = logs.iter().find(|l| !l.restore).unwrap();
        let log = s.get_log(backup_log.id).await.unwrap().unwrap();
        assert!(
            log.lines.iter().any(|l| l.message.contains(LATIN1)),
            "{version}: {:?}",
            log.lines
        );
        assert!(s
            .start_backup_typed("client-00009", BackupType::IncrFile)
            .await
            .unwrap());
        let live = s.get_livelog_typed(c.id).await.unwrap();
        assert!(
            live.iter().any(|e| e.message.contains(LATIN1)),
            "{version}: {live:?}"
        );
        let raw = s.get_livelog(c.id).await.unwrap();
        assert!(raw.to_string().contains(r"caf\\xE9-latin1.txt"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn the_rule_is_exact_both_ways() {
    for bytes in [&b"caf\xE9"[..], b"\xff\xfe", br"a\xE9", "é".as_bytes()] {
        assert_eq!(to_server(&from_server(bytes)).as_ref(), bytes);
    }
}

#[tokio::test]
async fn the_generation_is_found_out() {
    let (_sim, s) = fleet(ServerVersion::V2_5).await;
    assert_eq!(
        s.server_generation().await.unwrap(),
        Some(ServerGeneration::V2_5)
    );
    let (_sim24, s24) = fleet(ServerVersion::V2_4).await;
    assert_eq!(
        s24.server_generation().await.unwrap(),
        Some(ServerGeneration::V2_4)
    );
    assert_eq!(
        s24.server_info().await.unwrap().generation,
        Some(ServerGeneration::V2_4)
    );
    // 2.4 says nothing of image support: a Linux client is "not supported", as its web UI says.
    let linux = s24.get_client_status_by_name("client-00009").await.unwrap();
    assert!(linux.uid.is_empty() && linux.image_not_supported && !linux.image_failed());
    let windows = s24.get_client_status_by_name("alpha").await.unwrap();
    assert!(!windows.image_not_supported);
}

#[tokio::test]
async fn settings_of_2_4_on_every_surface() {
    let (_sim, s) = fleet(ServerVersion::V2_4).await;
    // A client: typed, then legacy; only that key moves, the client's overwrite goes on.
    let before = s.get_client_settings_typed("alpha").await.unwrap();
    assert_eq!(before.get("local_speed").unwrap().use_mask, Some(1));
    assert!(before.raw.get("overwrite").is_some());
    assert!(s
        .change_client_setting_typed("alpha", "local_speed", 7654321)
        .await
        .unwrap());
    let after = s.get_client_settings_typed("alpha").await.unwrap();
    assert_eq!(before.diff_keys(&after), vec!["local_speed".to_string()]);
    assert_eq!(after.get("local_speed").unwrap().text(), "7654321");
    assert_eq!(after.get("local_speed").unwrap().use_mask, Some(2));
    assert!(s.change_client_setting("alpha", "local_speed", "-1").await);
    let back = s.get_client_settings_typed("alpha").await.unwrap();
    assert_eq!(back.get("local_speed").unwrap().text(), "-1");
    assert_eq!(
        s.get_client_settings("alpha").await.unwrap()["local_speed"],
        "-1"
    );
    // A key of 2.5 only: refused before anything is sent, naming the version.
    let e = s
        .change_client_setting_typed("alpha", "download_threads", 2)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            UrbackupError::Unsupported {
                server: ServerGeneration::V2_4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("UrBackup 2.4"), "{e}");
    assert!(
        !s.change_client_setting("alpha", "download_threads", 2)
            .await
    );

    // Global: one key, then archive rules added and put back; nothing else moves.
    let g0 = s.get_global_settings_typed().await.unwrap();
    assert!(g0.get("backupfolder").unwrap().use_mask.is_none());
    assert!(s
        .set_global_setting_typed("max_sim_backups", 7)
        .await
        .unwrap());
    assert!(s.set_global_setting("max_sim_backups", 10).await);
    let rule = "every_d0=86400&every_unit_d0=d&for_d0=2592000&for_unit_d0=d\
                &backup_type_d0=file&window_d0=*;*;*;*&letters_d0=";
    let saved = s
        .set_global_settings(&[("archive", SettingValue::from(rule))])
        .await
        .unwrap();
    let text = saved.get("archive").unwrap().text();
    assert!(
        text.contains("every_c0=86400") && text.contains("backup_type_c0=file"),
        "{text}"
    );
    // A client that does not overwrite its settings inherits the rule...
    let inherited = s.get_client_settings_typed("client-00003").await.unwrap();
    assert!(inherited
        .get("archive")
        .unwrap()
        .text()
        .contains("every_c0=86400"));
    // ... and a client save keeps it (2.4 replaces a target's rules by those sent).
    s.change_client_setting_typed("client-00003", "local_speed", 5)
        .await
        .unwrap();
    let kept = s.get_client_settings_typed("client-00003").await.unwrap();
    assert!(kept
        .get("archive")
        .unwrap()
        .text()
        .contains("every_c0=86400"));
    s.set_global_settings(&[("archive", SettingValue::from(""))])
        .await
        .unwrap();
    let g1 = s.get_global_settings_typed().await.unwrap();
    assert_eq!(g1.get("archive").unwrap().text(), "");
    assert_eq!(g1.diff_keys(&g0), vec!["max_sim_backups".to_string()]);

    // A group: its own values, one key saved.
    let g = s.add_group("v24-group").await.unwrap();
    let before = s.group_settings(g.id).await.unwrap();
    s.change_group_settings(g.id, &[("update_freq_full", SettingValue::Int(1_000_000))])
        .await
        .unwrap();
    let after = s.group_settings(g.id).await.unwrap();
    assert_eq!(
        before.diff_keys(&after),
        vec!["update_freq_full".to_string()]
    );
}

#[tokio::test]
async fn add_client_and_logins_of_2_4() {
    let (_sim, s) = fleet(ServerVersion::V2_4).await;
    // The server URL 2.4 does not send, made as 2.5 makes it.
    s.set_global_settings(&[("internet_server", SettingValue::from("backup.example.com"))])
        .await
        .unwrap();
    let c = s.add_client_typed("new-v24").await.unwrap();
    assert_eq!(c.server_url, "urbackup://backup.example.com");
    let raw = s.add_client("new-v24-legacy").await.unwrap();
    assert!(
        raw.get("server_url").is_none(),
        "the raw reply as 2.4 sent it"
    );
    // Failed logins: 2.4 bans nobody; each is a wrong password.
    for _ in 0..12 {
        let bad = UrbackupServer::builder(&_sim.url())
            .credentials(ADMIN.0, "wrong")
            .build()
            .unwrap();
        assert!(matches!(
            bad.login_typed().await,
            Err(UrbackupError::Authentication(
                urbackup::AuthFailure::WrongPassword
            ))
        ));
    }
    assert!(s.login().await);
    let nobody = UrbackupServer::builder(&_sim.url())
        .credentials("nobody", "x")
        .build()
        .unwrap();
    assert!(matches!(
        nobody.login_typed().await,
        Err(UrbackupError::Authentication(
            urbackup::AuthFailure::UnknownUser
        ))
    ));
    // The file backup of a 2.4 server ends as on 2.5 (the CLI's --wait reads the same lists).
    let id = s.client_id("alpha").await.unwrap();
    assert!(s
        .start_backup_typed("alpha", BackupType::IncrFile)
        .await
        .unwrap());
    let n0 = s.get_backups(id).await.unwrap().len();
    for _ in 0..20 {
        _sim.advance(Duration::from_secs(5));
        if s.get_backups(id).await.unwrap().len() > n0 {
            break;
        }
    }
    assert_eq!(s.get_backups(id).await.unwrap().len(), n0 + 1);
    assert!(s
        .last_activities()
        .await
        .unwrap()
        .iter()
        .any(|a| a.clientid == id && !a.restore));
    let _ = BackupRef::File(0);
}
