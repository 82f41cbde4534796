//! The real-server suite: the library against a real UrBackup server, for anyone who has one.
//!
//! ```sh
//! URBACKUP_TEST_URL=http://127.0.0.1:55414/x URBACKUP_TEST_USER=admin \
//! URBACKUP_TEST_PASSWORD=secret cargo test -p urbackup --test real_server -- --ignored --nocapture
//! ```
//!
//! The tests are `#[ignore]`d: a plain `cargo test` lists them as ignored, and `-- --ignored`
//! runs them (without `URBACKUP_TEST_URL` they then fail and say why). They run against
//! UrBackup 2.5 and 2.4 servers alike. What else runs depends on what the environment allows:
//!
//! | variable | enables |
//! |---|---|
//! | `URBACKUP_TEST_ALLOW_WRITE=1` | settings writes (put back afterwards), clients, extra clients, users and groups added and removed, archive/delete marks set and cleared |
//! | `URBACKUP_TEST_CLIENT=NAME` | (with writes) a file backup of that online client started and waited for, browse and download of it |
//! | `URBACKUP_TEST_CLIENT_DIR=DIR` | (with the client) restores: `DIR` is the client's backed-up folder as this machine sees it, backed up as `/<basename of DIR>`; a file and a folder are changed there, restored, and their content checked |
//! | `URBACKUP_TEST_RESTART_CMD=...` | a server restart (`sh -c`), then the same handle works again (one new login) |
//! | `URBACKUP_TEST_SERVER_VERSION=2.4` or `2.5` | the generation the library finds out is checked against it |
//!
//! `../shared/real-server/` of the project runs such a server with such a client; the command
//! it takes is in `docs/real-server.md`. The tests take turns (one lock), because they share
//! one server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use urbackup::{
    BackupRef, BackupType, InstallerOS, LogFilter, LogLevel, SettingValue, UrbackupError,
    UrbackupServer,
};

static TURN: Mutex<()> = Mutex::const_new(());

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn url() -> Option<String> {
    env("URBACKUP_TEST_URL")
}

fn connect(user: &str, pw: &str) -> UrbackupServer {
    UrbackupServer::builder(&url().unwrap())
        .credentials(user, pw)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("valid URBACKUP_TEST_URL")
}

fn server() -> Option<UrbackupServer> {
    url()?;
    Some(connect(
        &env("URBACKUP_TEST_USER").unwrap_or_default(),
        &env("URBACKUP_TEST_PASSWORD").unwrap_or_default(),
    ))
}

fn writes_allowed() -> bool {
    env("URBACKUP_TEST_ALLOW_WRITE").as_deref() == Some("1")
}

macro_rules! real_server {
    () => {
        match server() {
            Some(s) => s,
            None => panic!(
                "URBACKUP_TEST_URL is not set: these tests need a real UrBackup server \
                 (see the top of real_server.rs)"
            ),
        }
    };
}

macro_rules! writes {
    () => {
        if !writes_allowed() {
            eprintln!("skipped: set URBACKUP_TEST_ALLOW_WRITE=1 to run the writing checks");
            return;
        }
    };
}

/// The test client: name and id, online.
async fn test_client(s: &UrbackupServer) -> Option<(String, i64)> {
    let name = env("URBACKUP_TEST_CLIENT")?;
    let c = s
        .get_client_status_by_name(&name)
        .await
        .expect("URBACKUP_TEST_CLIENT is a client of the server");
    assert!(c.online, "URBACKUP_TEST_CLIENT `{name}` must be online");
    Some((name, c.id))
}

/// Waits until the minute of the client's newest backup has passed: the server names a
/// backup's folder by the minute it starts (`YYMMDD-HHMM`), and a second backup started in the
/// same minute fails ("Cannot create directory ... File exists").
async fn a_new_minute_for_a_backup(s: &UrbackupServer, id: i64) {
    // A stopped or failed backup leaves its folder too: its log's time counts as well.
    let logs = s
        .get_logs(&LogFilter {
            clientids: vec![id],
            min_level: Some(LogLevel::Info),
        })
        .await
        .unwrap();
    let newest = s
        .get_backups(id)
        .await
        .unwrap()
        .iter()
        .map(|b| b.backuptime)
        .chain(logs.iter().filter(|l| !l.restore).map(|l| l.time))
        .max()
        .unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let next_minute = (newest / 60 + 1) * 60 + 1;
    if now < next_minute {
        tokio::time::sleep(Duration::from_secs((next_minute - now) as u64)).await;
    }
}

/// Starts an incremental file backup of the client (in a new minute; the server may refuse
/// for a few seconds after the client came online) and waits until it is listed and done.
async fn incremental_backup(s: &UrbackupServer, name: &str, id: i64) {
    let n_before = s.get_backups(id).await.unwrap().len();
    a_new_minute_for_a_backup(s, id).await;
    wait_until("start_backup", Duration::from_secs(60), || async {
        s.start_backup_typed(name, BackupType::IncrFile)
            .await
            .unwrap()
    })
    .await;
    wait_until("the new backup", Duration::from_secs(300), || async {
        s.get_backups(id).await.unwrap().len() > n_before
            && s.client_actions(id).await.unwrap().is_empty()
    })
    .await;
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn spec_reads_on_both_surfaces() {
    let s = real_server!();
    let _turn = TURN.lock().await;
    let info = s.login_typed().await.expect("login");
    assert_eq!(info.api_version, Some(2));
    assert!(s.login().await);
    let generation = s.server_generation().await.expect("status");
    eprintln!("the server is {generation:?}");
    if let Some(v) = env("URBACKUP_TEST_SERVER_VERSION") {
        assert_eq!(generation.map(|g| g.as_str()), Some(v.as_str()));
    }

    let clients = s.get_client_statuses().await.expect("status");
    let raw = s.get_status().await.expect("legacy status");
    assert_eq!(raw.as_array().map(Vec::len), Some(clients.len()));

    let ident = s.get_server_identity_str().await.unwrap();
    assert!(!ident.is_empty());
    assert_eq!(
        s.get_server_identity().await.as_deref(),
        Some(ident.as_str())
    );

    let usage = s.get_usage_typed().await.expect("usage");
    assert_eq!(
        s.get_usage().await.and_then(|v| v.as_array().map(Vec::len)),
        Some(usage.len())
    );
    s.get_actions_typed().await.expect("progress");
    assert!(s.get_actions().await.is_some_and(|v| v.is_array()));

    let extra = s.get_extra_clients_typed().await.expect("extra clients");
    assert_eq!(
        s.get_extra_clients()
            .await
            .and_then(|v| v.as_array().map(Vec::len)),
        Some(extra.len())
    );

    // The server log always holds its start-up lines.
    let live = s.get_livelog_typed(0).await.expect("livelog");
    assert!(
        !live.is_empty(),
        "the global live log of a running server is not empty"
    );
    assert!(s
        .get_livelog(0)
        .await
        .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty())));

    let global = s
        .get_global_settings_typed()
        .await
        .expect("general settings");
    assert!(global.len() > 20);
    assert!(s.get_global_settings().await.is_some_and(|v| v.is_object()));

    s.get_users().await.expect("users");
    s.get_groups().await.expect("groups");
    s.last_activities().await.expect("lastacts");
    s.get_logs(&LogFilter {
        clientids: vec![],
        min_level: Some(LogLevel::Info),
    })
    .await
    .expect("logs");

    if let Some(c) = clients.iter().find(|c| !c.rejected) {
        let by_name = s.get_client_status_by_name(&c.name).await.unwrap();
        assert_eq!(by_name.id, c.id);
        let raw = s
            .get_client_status(&c.name)
            .await
            .expect("legacy client status");
        assert_eq!(raw["id"].as_i64(), Some(c.id));
        let settings = s.get_client_settings_typed(&c.name).await.unwrap();
        assert!(settings.len() > 20);
        assert!(s.get_client_settings(&c.name).await.is_some());
        let key = s.get_client_authkey_typed(&c.name).await.unwrap();
        assert_eq!(s.get_client_authkey(&c.name).await, Some(key));
        s.get_backups(c.id).await.expect("file backups");
        s.get_image_backups(c.id).await.expect("image backups");
        s.get_livelog_typed(c.id).await.expect("client live log");
    }

    // Unknown clients: the typed error, and None on the legacy surface.
    let nobody = "urbackup-rs-no-such-client";
    assert!(matches!(
        s.get_client_status_by_name(nobody).await,
        Err(UrbackupError::ClientNotFound(_))
    ));
    assert!(s.get_client_status(nobody).await.is_none());
    assert!(s.get_client_settings(nobody).await.is_none());
    assert!(matches!(
        s.change_client_setting_typed(nobody, "internet_speed", 1)
            .await,
        Err(UrbackupError::ClientNotFound(_))
    ));
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn wrong_password_is_reported_as_such() {
    let _ = real_server!();
    let Some(user) = env("URBACKUP_TEST_USER") else {
        return;
    };
    let _turn = TURN.lock().await;
    // One failed login (the server bans an address after more than ten).
    let s = connect(&user, "urbackup-rs-wrong-password");
    assert!(matches!(
        s.login_typed().await,
        Err(UrbackupError::Authentication(
            urbackup::AuthFailure::WrongPassword
        ))
    ));
    assert!(!s.login().await);
    assert!(s.get_status().await.is_none());
}

/// Reads the settings, runs `write`, reads them again: exactly `key` differs.
async fn exactly_one_key_changes<F, Fut>(
    read: impl Fn() -> Fut,
    write: F,
    key: &str,
) -> urbackup::Settings
where
    F: std::future::Future<Output = bool>,
    Fut: std::future::Future<Output = urbackup::Result<urbackup::Settings>>,
{
    let before = read().await.expect("read settings");
    assert!(write.await, "the save reports success");
    let after = read().await.expect("read settings again");
    assert_eq!(before.diff_keys(&after), vec![key.to_string()]);
    after
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn settings_writes_change_exactly_one_key() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let original = s.get_global_settings_typed().await.unwrap();
    let authkey = original.get("internet_authkey").map(|k| k.text());
    let current: i64 = original
        .get("max_sim_backups")
        .unwrap()
        .text()
        .parse()
        .unwrap();
    // Typed, then legacy back to the old value; each time only that key moves, and the
    // Internet auth key shown before stays (a never-saved one is pinned, not regenerated).
    exactly_one_key_changes(
        || s.get_global_settings_typed(),
        async {
            s.set_global_setting_typed("max_sim_backups", current + 1)
                .await
                .expect("typed save")
        },
        "max_sim_backups",
    )
    .await;
    exactly_one_key_changes(
        || s.get_global_settings_typed(),
        s.set_global_setting("max_sim_backups", current),
        "max_sim_backups",
    )
    .await;
    let now = s.get_global_settings_typed().await.unwrap();
    assert_eq!(now.diff_keys(&original), Vec::<String>::new());
    assert_eq!(now.get("internet_authkey").map(|k| k.text()), authkey);
    // The archive rules (2.5: the `archive` setting; 2.4: `archive_N` fields, read as the
    // same text): one rule added, then the rules as they were.
    let archive = original
        .get("archive")
        .map(|a| a.text())
        .expect("archive rules");
    let rule = "every_d9=86400&every_unit_d9=d&for_d9=2592000&for_unit_d9=d\
                &backup_type_d9=file&window_d9=*;*;*;*&letters_d9=";
    let more = if archive.is_empty() {
        rule.to_string()
    } else {
        format!("{archive}&{rule}")
    };
    let saved = s
        .set_global_settings(&[("archive", SettingValue::from(more.as_str()))])
        .await
        .expect("archive rule added");
    assert!(saved.get("archive").unwrap().text().contains("=2592000"));
    s.set_global_settings(&[("archive", SettingValue::from(archive.as_str()))])
        .await
        .expect("archive rules put back");
    let now = s.get_global_settings_typed().await.unwrap();
    assert_eq!(now.diff_keys(&original), Vec::<String>::new());

    // A key the server does not know is refused before anything is sent.
    assert!(matches!(
        s.set_global_setting_typed("urbackup_rs_no_such_key", 1)
            .await,
        Err(UrbackupError::UnknownSetting(_))
    ));
    assert!(!s.set_global_setting("urbackup_rs_no_such_key", 1).await);

    // A client setting, both surfaces.
    let Some(c) = s.get_client_statuses().await.unwrap().into_iter().next() else {
        return;
    };
    let read = || s.get_client_settings_typed(&c.name);
    let own = read().await.unwrap();
    let speed = own.get("local_speed").map(|v| v.text()).unwrap_or_default();
    exactly_one_key_changes(
        read,
        async {
            s.change_client_setting_typed(&c.name, "local_speed", "7654321")
                .await
                .expect("typed client save")
        },
        "local_speed",
    )
    .await;
    let back = if speed.is_empty() {
        "-1".to_string()
    } else {
        speed
    };
    exactly_one_key_changes(
        read,
        s.change_client_setting(&c.name, "local_speed", back.as_str()),
        "local_speed",
    )
    .await;
    assert!(matches!(
        s.change_client_setting_typed(&c.name, "urbackup_rs_no_such_key", 1)
            .await,
        Err(UrbackupError::UnknownSetting(_))
    ));
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn clients_and_extra_clients_added_and_removed() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let name = "urbackup-rs-real-test";
    let id = match s.get_client_status_by_name(name).await {
        // Left from an earlier run, marked for removal: take it back.
        Ok(c) => {
            s.cancel_client_removal(&[c.id]).await.unwrap();
            c.id
        }
        Err(UrbackupError::ClientNotFound(_)) => {
            let added = s.add_client_typed(name).await.expect("add client");
            assert_eq!(added.name, name);
            assert!(!added.authkey.is_empty());
            added.id
        }
        Err(e) => panic!("{e}"),
    };
    let listed = s.get_client_status_by_name(name).await.unwrap();
    assert_eq!(listed.id, id);
    // A second add: the typed error, None on the legacy surface, no second client.
    assert!(s.add_client_typed(name).await.is_err());
    assert!(s.add_client(name).await.is_none());
    let named = s.get_client_statuses().await.unwrap();
    assert_eq!(named.iter().filter(|c| c.name == name).count(), 1);
    // Removal is a mark the server acts on at its next cleanup; both ways verified on a re-read.
    s.remove_client(&[id]).await.unwrap();
    assert!(
        s.get_client_status_by_name(name)
            .await
            .unwrap()
            .delete_pending
    );
    s.cancel_client_removal(&[id]).await.unwrap();
    assert!(
        !s.get_client_status_by_name(name)
            .await
            .unwrap()
            .delete_pending
    );
    s.remove_client(&[id]).await.unwrap();

    // Extra clients, typed then legacy.
    let host = "192.0.2.77";
    let e = s
        .add_extra_client_typed(host)
        .await
        .expect("add extra client");
    assert!(s
        .get_extra_clients_typed()
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == e.id && x.hostname == host));
    s.remove_extra_client_typed(e.id).await.unwrap();
    assert!(!s
        .get_extra_clients_typed()
        .await
        .unwrap()
        .iter()
        .any(|x| x.hostname == host));
    assert!(s.add_extra_client(host).await);
    let e = s
        .get_extra_clients_typed()
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.hostname == host)
        .expect("added by the legacy call");
    assert!(s.remove_extra_client(e.id).await);
    assert!(!s
        .get_extra_clients_typed()
        .await
        .unwrap()
        .iter()
        .any(|x| x.hostname == host));
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn users_and_groups_added_and_removed() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let name = "urbackup-rs-test-user";
    if let Some(old) = s
        .get_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == name)
    {
        s.remove_user(old.id).await.unwrap();
    }
    assert!(s
        .add_user(name, "Temp-Pass-123", "status=all")
        .await
        .unwrap());
    assert!(matches!(
        s.add_user(name, "other", "all").await,
        Err(UrbackupError::UserAlreadyExists(_))
    ));
    let u = s
        .get_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == name)
        .expect("the user is listed");
    assert_eq!(u.rights, "status=all");
    let login = connect(name, "Temp-Pass-123");
    login
        .get_client_statuses()
        .await
        .expect("the new user logs in");
    assert!(matches!(
        login.get_global_settings_typed().await,
        Err(UrbackupError::AccessDenied { .. })
    ));
    s.change_password(u.id, "Temp-Pass-456").await.unwrap();
    connect(name, "Temp-Pass-456")
        .get_client_statuses()
        .await
        .expect("the new password works");
    s.remove_user(u.id).await.expect("remove user");
    assert!(!s.get_users().await.unwrap().iter().any(|u| u.name == name));

    let gname = "urbackup-rs-test-group";
    if let Some(old) = s
        .get_groups()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.name == gname)
    {
        s.remove_group(old.id).await.unwrap();
    }
    let g = s.add_group(gname).await.expect("add group");
    assert!(s.get_groups().await.unwrap().iter().any(|x| x.id == g.id));
    // A group save: only that key of the group's own moves (a never-saved global Internet
    // auth key, which the group inherits, is made up anew by the server on this save).
    let before = s.group_settings(g.id).await.unwrap();
    s.change_group_settings(g.id, &[("update_freq_full", SettingValue::Int(1_000_000))])
        .await
        .expect("group save");
    let after = s.group_settings(g.id).await.unwrap();
    let moved: Vec<String> = before
        .diff_keys(&after)
        .into_iter()
        .filter(|k| {
            k != "internet_authkey" || before.get(k).unwrap().own != after.get(k).unwrap().own
        })
        .collect();
    assert_eq!(moved, vec!["update_freq_full".to_string()]);
    s.remove_group(g.id).await.expect("remove group");
    assert!(!s.get_groups().await.unwrap().iter().any(|x| x.id == g.id));
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn installer_download_says_what_it_got() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let dir = tempdir();
    let dest = dir.join("installer.sh");
    let typed = s
        .download_installer_typed(&dest, "urbackup-rs-installer-client", InstallerOS::Linux)
        .await;
    let legacy = s
        .download_installer(&dest, "urbackup-rs-installer-client", "linux")
        .await;
    assert_eq!(typed.is_ok(), legacy, "{typed:?}");
    eprintln!("installer download: {typed:?}");
    match typed {
        Ok(_) => assert!(std::fs::metadata(&dest).unwrap().len() > 0),
        // A server built from source has no signed installers: an error, no file.
        Err(e) => {
            assert!(matches!(e, UrbackupError::Server { .. }), "{e}");
            assert!(!dest.exists());
        }
    }
    if let Ok(c) = s
        .get_client_status_by_name("urbackup-rs-installer-client")
        .await
    {
        s.remove_client(&[c.id]).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn file_backup_started_waited_for_browsed_downloaded() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let Some((name, id)) = test_client(&s).await else {
        eprintln!("skipped: set URBACKUP_TEST_CLIENT to an online client");
        return;
    };
    let n_before = s.get_backups(id).await.unwrap().len();
    incremental_backup(&s, &name, id).await;
    // Legacy start, and an image backup of a client that cannot do them.
    let status = s.get_client_status_by_name(&name).await.unwrap();
    a_new_minute_for_a_backup(&s, id).await;
    assert!(s.start_incr_file_backup(&name).await);
    wait_until("legacy backup done", Duration::from_secs(300), || async {
        s.get_backups(id).await.unwrap().len() > n_before + 1
            && s.client_actions(id).await.unwrap().is_empty()
    })
    .await;
    if status.image_not_supported {
        eprintln!(
            "{name} cannot do image backups: the refusal of its image starts is \
             a_start_the_server_would_never_run_is_not_sent_and_file_backups_keep_running"
        );
    }

    let newest = s.get_backups(id).await.unwrap()[0].clone();
    let root = s
        .browse_backup(id, newest.backup_ref(), "/")
        .await
        .expect("browse");
    assert!(!root.files.is_empty());
    if let Some(dir) = env("URBACKUP_TEST_CLIENT_DIR") {
        let base = backup_base(&dir);
        let listing = s
            .browse_backup(id, newest.backup_ref(), &base)
            .await
            .unwrap();
        let file = listing.files.iter().find(|f| !f.dir).expect("a file");
        let tmp = tempdir();
        let dest = tmp.join("file");
        let n = s
            .download_file(
                id,
                newest.backup_ref(),
                &format!("{base}/{}", file.name),
                &dest,
            )
            .await
            .unwrap();
        assert_eq!(n as i64, file.size);
        let zip = tmp.join("folder.zip");
        let z = s
            .download_folder_zip(id, newest.backup_ref(), &base, &zip)
            .await
            .unwrap();
        assert!(z > 0 && std::fs::read(&zip).unwrap().starts_with(b"PK"));
    }

    // Archive and deletion marks, each checked on the server's list.
    let r = newest.backup_ref();
    s.archive_backup(id, r).await.unwrap();
    assert!(s.get_backups(id).await.unwrap()[0].archived);
    s.unarchive_backup(id, r).await.unwrap();
    assert!(!s.get_backups(id).await.unwrap()[0].archived);
    s.delete_backup(id, r).await.unwrap();
    assert!(s.get_backups(id).await.unwrap()[0].delete_pending);
    s.cancel_backup_deletion(id, r).await.unwrap();
    assert!(!s.get_backups(id).await.unwrap()[0].delete_pending);
    assert!(s
        .archive_backup(id, BackupRef::File(987_654))
        .await
        .is_err());
}

/// The server's live log lines (`clientid` 0) after line `after`: the connection thread of a
/// client logs each message it reads (`msg=START IMAGE INCR`, debug level).
async fn server_lines_after(s: &UrbackupServer, after: i64) -> Vec<String> {
    s.get_livelog_typed(0)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.id > after)
        .map(|l| l.message)
        .collect()
}

async fn newest_server_line(s: &UrbackupServer) -> i64 {
    let lines = s.get_livelog_typed(0).await.unwrap();
    lines.iter().map(|l| l.id).max().unwrap_or(0)
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn a_start_the_server_would_never_run_is_not_sent_and_file_backups_keep_running() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let Some((name, id)) = test_client(&s).await else {
        eprintln!("skipped: set URBACKUP_TEST_CLIENT to an online client");
        return;
    };
    let status = s.get_client_status_by_name(&name).await.unwrap();
    let generation = s.server_generation().await.unwrap().expect("generation");
    eprintln!(
        "{generation}: image_not_supported={}",
        status.image_not_supported
    );
    let last = newest_server_line(&s).await;
    if status.image_not_supported {
        // Every surface refuses, naming the client and the reason.
        for t in [BackupType::IncrImage, BackupType::FullImage] {
            let e = s.start_backup_typed(&name, t).await.unwrap_err();
            assert!(
                matches!(e, UrbackupError::Unsupported { server, .. } if server == generation),
                "{e:?}"
            );
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{name}` (the client cannot do image backups)")),
                "{text}"
            );
            eprintln!("refused: {text}");
            assert!(matches!(
                s.start_backups(&[id], t).await,
                Err(UrbackupError::Unsupported { .. })
            ));
        }
        assert!(!s.start_incr_image_backup(&name).await);
        assert!(!s.start_full_image_backup(&name).await);
        let (url, user, pw, n) = (
            url().unwrap(),
            env("URBACKUP_TEST_USER").unwrap_or_default(),
            env("URBACKUP_TEST_PASSWORD").unwrap_or_default(),
            name.clone(),
        );
        let (typed, legacy) = tokio::task::spawn_blocking(move || {
            let b = urbackup::blocking::UrbackupServer::builder(&url)
                .credentials(&user, &pw)
                .build_blocking()
                .unwrap();
            (
                b.start_backup_typed(&n, BackupType::IncrImage),
                b.start_full_image_backup(&n),
            )
        })
        .await
        .unwrap();
        assert!(matches!(typed, Err(UrbackupError::Unsupported { .. })));
        assert!(!legacy);
    } else {
        eprintln!("{name} can do image backups: no image start to refuse");
    }

    // File backups switched off on the server: refused on what the real reply says, then
    // switched on again (checked on a re-read).
    s.set_global_setting_typed("no_file_backups", SettingValue::Bool(true))
        .await
        .unwrap();
    let seen = s.status_report().await.map(|r| r.no_file_backups);
    let typed = s.start_backup_typed(&name, BackupType::IncrFile).await;
    let legacy = s.start_full_file_backup(&name).await;
    s.set_global_setting_typed("no_file_backups", SettingValue::Bool(false))
        .await
        .unwrap();
    assert!(!s.status_report().await.unwrap().no_file_backups);
    assert!(seen.unwrap(), "the status reply shows the switch");
    match typed {
        Err(e @ UrbackupError::Unsupported { .. }) => {
            assert!(e.to_string().contains("no_file_backups"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!legacy);

    // No client thread got a start (its `msg=START ...` line).
    let lines = server_lines_after(&s, last).await;
    assert!(!lines.iter().any(|l| l.contains("msg=START")), "{lines:?}");

    // A file backup started now reaches the client's thread and finishes.
    let n_before = s.get_backups(id).await.unwrap().len();
    a_new_minute_for_a_backup(&s, id).await;
    let last = newest_server_line(&s).await;
    wait_until("start_backup", Duration::from_secs(60), || async {
        s.start_backup_typed(&name, BackupType::IncrFile)
            .await
            .unwrap()
    })
    .await;
    wait_until("msg=START BACKUP INCR", Duration::from_secs(30), || async {
        server_lines_after(&s, last)
            .await
            .iter()
            .any(|l| l == "msg=START BACKUP INCR")
    })
    .await;
    let lines = server_lines_after(&s, last).await;
    assert!(
        !lines.iter().any(|l| l.contains("msg=START IMAGE")),
        "{lines:?}"
    );
    wait_until("the new backup", Duration::from_secs(300), || async {
        s.get_backups(id).await.unwrap().len() > n_before
            && s.client_actions(id).await.unwrap().is_empty()
    })
    .await;
    let newest = &s.get_backups(id).await.unwrap()[0];
    eprintln!(
        "file backup {} of {name} done ({} backups before)",
        newest.id, n_before
    );
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn a_running_backup_stopped() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let Some((name, id)) = test_client(&s).await else {
        eprintln!("skipped: set URBACKUP_TEST_CLIENT to an online client");
        return;
    };
    a_new_minute_for_a_backup(&s, id).await;
    wait_until("start_backup", Duration::from_secs(60), || async {
        s.start_backup_typed(&name, BackupType::FullFile)
            .await
            .unwrap()
    })
    .await;
    // Catch it while it runs; a small client may finish first.
    let t0 = Instant::now();
    let running = loop {
        let acts = s.client_actions(id).await.unwrap();
        if let Some(a) = acts.into_iter().next() {
            break Some(a);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    match running {
        Some(a) => {
            eprintln!(
                "stopping {:?} {} at {}%",
                a.action, a.id, a.progress_percent
            );
            assert!(s.stop_action_typed(&a).await.unwrap());
            wait_until(
                "the stopped backup is gone",
                Duration::from_secs(120),
                || async { s.client_actions(id).await.unwrap().is_empty() },
            )
            .await;
        }
        None => eprintln!("the full backup ended before it could be stopped"),
    }
}

/// The local file a name of a listing stands for: its bytes (the crate's rule for names
/// that are not UTF-8, `urbackup::text`).
fn local(dir: &str, name: &str) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let bytes = urbackup::text::to_server(name);
    Path::new(dir).join(std::ffi::OsStr::from_bytes(&bytes))
}

/// `/<basename>` of the client folder given in `URBACKUP_TEST_CLIENT_DIR`.
fn backup_base(dir: &str) -> String {
    format!("/{}", Path::new(dir).file_name().unwrap().to_string_lossy())
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "urbackup-rs-real-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn a_file_and_a_folder_restored_onto_the_clients_disk() {
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let (Some((_, id)), Some(dir)) = (test_client(&s).await, env("URBACKUP_TEST_CLIENT_DIR"))
    else {
        eprintln!("skipped: set URBACKUP_TEST_CLIENT and URBACKUP_TEST_CLIENT_DIR");
        return;
    };
    let base = backup_base(&dir);
    let backup = s.get_backups(id).await.unwrap()[0].id;
    let listing = s
        .browse_backup(id, BackupRef::File(backup), &base)
        .await
        .unwrap();
    let file = listing
        .files
        .iter()
        .find(|f| !f.dir)
        .expect("a file")
        .name
        .clone();
    let folder = listing
        .files
        .iter()
        .find(|f| f.dir)
        .expect("a folder")
        .name
        .clone();
    let tmp = tempdir();
    let saved = tmp.join("saved");
    s.download_file(
        id,
        BackupRef::File(backup),
        &format!("{base}/{file}"),
        &saved,
    )
    .await
    .unwrap();
    let want = std::fs::read(&saved).unwrap();
    let poll = Duration::from_millis(500);
    let limit = Some(Duration::from_secs(180));

    // One file: sent as its folder plus a filter; the file on the client's disk is back.
    let on_disk = local(&dir, &file);
    std::fs::write(&on_disk, b"changed by urbackup-rs\n").unwrap();
    let started = s
        .restore_files(id, backup, &format!("{base}/{file}"), None)
        .await
        .unwrap();
    assert_eq!(started.filter.as_deref(), Some(file.as_str()));
    let o = s
        .wait_for_restore_outcome(&started, poll, limit, |_, _| {})
        .await
        .unwrap()
        .expect("the restore ends");
    assert!(o.succeeded(), "{o:?}");
    assert_eq!(std::fs::read(&on_disk).unwrap(), want);
    eprintln!("file restore: log {} in {:?}", o.log.id, o.elapsed);

    // A folder: a file inside it changed, restored with the folder.
    let inner = s
        .browse_backup(id, BackupRef::File(backup), &format!("{base}/{folder}"))
        .await
        .unwrap();
    let inner_file = inner
        .files
        .iter()
        .find(|f| !f.dir)
        .expect("a file")
        .name
        .clone();
    let inner_saved = tmp.join("inner");
    s.download_file(
        id,
        BackupRef::File(backup),
        &format!("{base}/{folder}/{inner_file}"),
        &inner_saved,
    )
    .await
    .unwrap();
    let inner_disk = local(&dir, &folder).join(local("", &inner_file));
    std::fs::write(&inner_disk, b"changed too\n").unwrap();
    let started = s
        .restore_files(id, backup, &format!("{base}/{folder}"), None)
        .await
        .unwrap();
    assert_eq!(started.filter, None);
    let o = s
        .wait_for_restore_outcome(&started, poll, limit, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(o.succeeded(), "{o:?}");
    assert_eq!(
        std::fs::read(&inner_disk).unwrap(),
        std::fs::read(&inner_saved).unwrap()
    );

    // The request the crate used to send (the file itself as `path`): "ok", then a failed
    // restore, known only from its log. The simulator gives the same verdict.
    let started = s
        .restore_files(id, backup, &format!("{base}/{file}"), Some(""))
        .await
        .expect("the server answers ok");
    let o = s
        .wait_for_restore_outcome(&started, poll, limit, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(!o.succeeded());
    assert!(
        o.errors()
            .any(|l| l.message.contains("Cannot start restore")),
        "{o:?}"
    );
    eprintln!(
        "a file sent as path: failed, as the simulator says: {:?}",
        o.errors().map(|l| &l.message).collect::<Vec<_>>()
    );

    // A filter naming nothing in the folder: the client fails the restore.
    let started = s
        .restore_files(id, backup, &base, Some("urbackup-rs-no-such-file"))
        .await
        .unwrap();
    let o = s
        .wait_for_restore_outcome(&started, poll, limit, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(!o.succeeded(), "{o:?}");
    eprintln!(
        "a filter naming nothing: failed, as the simulator says: {:?}",
        o.errors().map(|l| &l.message).collect::<Vec<_>>()
    );
}

/// A file whose name is Latin-1 (not UTF-8) on the client's disk: backed up, listed under the
/// crate's rule (`caf\xE9-latin1.txt`), and that name taken back to download it byte-exact and
/// to restore it. Needs the client and its folder here, like the restores.
#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn a_name_that_is_not_utf8_backed_up_browsed_downloaded_restored() {
    use std::os::unix::ffi::OsStrExt;
    let s = real_server!();
    writes!();
    let _turn = TURN.lock().await;
    let (Some((name, id)), Some(dir)) = (test_client(&s).await, env("URBACKUP_TEST_CLIENT_DIR"))
    else {
        eprintln!("skipped: set URBACKUP_TEST_CLIENT and URBACKUP_TEST_CLIENT_DIR");
        return;
    };
    let raw_name: &[u8] = b"caf\xE9-latin1.txt";
    let on_disk = Path::new(&dir).join(std::ffi::OsStr::from_bytes(raw_name));
    let content = b"Latin-1 name, caf\xE9\n".to_vec();
    if std::fs::read(&on_disk).ok().as_deref() != Some(&content[..]) {
        std::fs::write(&on_disk, &content).unwrap();
    }
    incremental_backup(&s, &name, id).await;
    let backup = s.get_backups(id).await.unwrap()[0].id;
    let base = backup_base(&dir);
    let listing = s
        .browse_backup(id, BackupRef::File(backup), &base)
        .await
        .expect("a listing holding a Latin-1 name decodes");
    let shown = r"caf\xE9-latin1.txt";
    let Some(entry) = listing.files.iter().find(|f| f.name == shown) else {
        let generation = s.server_generation().await.unwrap();
        let names: Vec<&str> = listing.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            generation,
            Some(urbackup::ServerGeneration::V2_4),
            "`{shown}` is not in backup {backup}: {names:?}"
        );
        eprintln!(
            "the 2.4 server left `{shown}` out of backup {backup} ({names:?}): the server's doing"
        );
        return;
    };
    assert_eq!(entry.size, content.len() as i64);
    assert!(entry.raw.get().contains(r#""caf\\xE9-latin1.txt""#));
    // Download by the name as listed: the original bytes go to the server.
    let tmp = tempdir();
    let dest = tmp.join("latin1");
    let n = s
        .download_file(
            id,
            BackupRef::File(backup),
            &format!("{base}/{shown}"),
            &dest,
        )
        .await
        .expect("download by the listed name");
    assert_eq!(n as usize, content.len());
    assert_eq!(std::fs::read(&dest).unwrap(), content, "byte-exact");
    // Restore it after a change on the client's disk.
    std::fs::write(&on_disk, b"changed by urbackup-rs\n").unwrap();
    let started = s
        .restore_files(id, backup, &format!("{base}/{shown}"), None)
        .await
        .expect("restore by the listed name");
    assert_eq!(started.filter.as_deref(), Some(shown));
    let o = s
        .wait_for_restore_outcome(
            &started,
            Duration::from_millis(500),
            Some(Duration::from_secs(180)),
            |_, _| {},
        )
        .await
        .unwrap()
        .expect("the restore ends");
    assert!(o.succeeded(), "{o:?}");
    assert_eq!(std::fs::read(&on_disk).unwrap(), content, "restored");
    // Live and stored logs that quote the name decode too.
    s.get_livelog_typed(id)
        .await
        .expect("the client's live log");
    eprintln!(
        "`{shown}`: backup {backup}, downloaded {n} bytes, restored in {:?}",
        o.elapsed
    );
}

#[tokio::test]
#[ignore = "needs a real server: set URBACKUP_TEST_URL and run with -- --ignored"]
async fn a_restarted_server_is_logged_into_again() {
    let s = real_server!();
    let Some(cmd) = env("URBACKUP_TEST_RESTART_CMD") else {
        eprintln!("skipped: set URBACKUP_TEST_RESTART_CMD to restart the server");
        return;
    };
    let _turn = TURN.lock().await;
    let before = s.get_client_statuses().await.unwrap();
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .status()
        .expect("restart command");
    assert!(st.success(), "restart command failed: {st}");
    // Same handle, old session: one new login, same answer.
    let after = s.get_client_statuses().await.expect("status after restart");
    assert_eq!(
        before.iter().map(|c| c.id).collect::<Vec<_>>(),
        after.iter().map(|c| c.id).collect::<Vec<_>>()
    );
    assert!(!s.get_livelog_typed(0).await.unwrap().is_empty());
    // The other tests need the test client back.
    if let Some(name) = env("URBACKUP_TEST_CLIENT") {
        wait_until(
            "the test client online again",
            Duration::from_secs(180),
            || async {
                s.get_client_status_by_name(&name)
                    .await
                    .is_ok_and(|c| c.online)
            },
        )
        .await;
    }
}
