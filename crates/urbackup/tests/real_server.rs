//! Checks against a real UrBackup server, for anyone who has one:
//!
//! ```sh
//! URBACKUP_TEST_URL=http://127.0.0.1:55414/x URBACKUP_TEST_USER=admin \
//! URBACKUP_TEST_PASSWORD=secret cargo test -p urbackup --test real_server -- --nocapture
//! ```
//!
//! Without those variables every test here returns at once (and says so). Tests that change
//! the server (a setting written back to its own value, a user added and removed, a backup
//! started) run only with `URBACKUP_TEST_ALLOW_WRITE=1`.

use urbackup::{LogFilter, LogLevel, UrbackupError, UrbackupServer};

fn server() -> Option<UrbackupServer> {
    let url = std::env::var("URBACKUP_TEST_URL").ok()?;
    let user = std::env::var("URBACKUP_TEST_USER").unwrap_or_default();
    let pw = std::env::var("URBACKUP_TEST_PASSWORD").unwrap_or_default();
    Some(UrbackupServer::new(&url, &user, &pw).expect("valid URBACKUP_TEST_URL"))
}

fn writes_allowed() -> bool {
    std::env::var("URBACKUP_TEST_ALLOW_WRITE").as_deref() == Ok("1")
}

macro_rules! real_server {
    () => {
        match server() {
            Some(s) => s,
            None => {
                eprintln!("skipped: URBACKUP_TEST_URL is not set");
                return;
            }
        }
    };
}

#[tokio::test]
async fn reads() {
    let s = real_server!();
    let info = s.login_typed().await.expect("login");
    assert_eq!(info.api_version, Some(2));
    let clients = s.get_client_statuses().await.expect("status");
    assert!(!s.get_server_identity_str().await.unwrap().is_empty());
    s.get_actions_typed().await.expect("progress");
    s.last_activities().await.expect("lastacts");
    s.get_extra_clients_typed().await.expect("extra clients");
    s.get_logs(&LogFilter {
        clientids: vec![],
        min_level: Some(LogLevel::Info),
    })
    .await
    .expect("logs");
    s.get_livelog_typed(0).await.expect("livelog");
    if let Some(c) = clients.iter().find(|c| !c.rejected) {
        let by_name = s.get_client_status_by_name(&c.name).await.unwrap();
        assert_eq!(by_name.id, c.id);
        let b = s.client_backups(c.id).await.expect("backups");
        if let Some(first) = b.file_backups.first() {
            s.browse_backup(c.id, first.backup_ref(), "/")
                .await
                .expect("browse");
        }
        s.get_client_settings_typed(&c.name)
            .await
            .expect("client settings");
    }
    match s.get_global_settings_typed().await {
        Ok(g) => assert!(g.len() > 20),
        Err(UrbackupError::AccessDenied { .. }) => eprintln!("no general settings right"),
        Err(e) => panic!("{e}"),
    }
    match s.get_usage_typed().await {
        Ok(_) | Err(UrbackupError::AccessDenied { .. }) => {}
        Err(e) => panic!("{e}"),
    }
    assert!(matches!(
        s.get_client_status_by_name("urbackup-rs-no-such-client")
            .await,
        Err(UrbackupError::ClientNotFound(_))
    ));
}

#[tokio::test]
async fn wrong_password_is_reported_as_such() {
    let Some(url) = std::env::var("URBACKUP_TEST_URL").ok() else {
        eprintln!("skipped: URBACKUP_TEST_URL is not set");
        return;
    };
    let user = std::env::var("URBACKUP_TEST_USER").unwrap_or_default();
    if user.is_empty() {
        return;
    }
    // One failed login (the server bans an address after more than ten).
    let s = UrbackupServer::new(&url, &user, "urbackup-rs-wrong-password").unwrap();
    assert!(matches!(
        s.login_typed().await,
        Err(UrbackupError::Authentication(
            urbackup::AuthFailure::WrongPassword
        ))
    ));
}

#[tokio::test]
async fn writes() {
    let s = real_server!();
    if !writes_allowed() {
        eprintln!("skipped: set URBACKUP_TEST_ALLOW_WRITE=1 to run the writing checks");
        return;
    }
    // A global setting written back to its own value: nothing else may move.
    let before = s
        .get_global_settings_typed()
        .await
        .expect("general settings");
    let current = before
        .get("max_sim_backups")
        .expect("max_sim_backups")
        .text();
    let after = s
        .set_global_settings(&[("max_sim_backups", current.clone().into())])
        .await
        .expect("save");
    assert_eq!(before.diff_keys(&after), Vec::<String>::new());
    // A user added and removed again.
    let name = "urbackup-rs-test-user";
    s.add_user(name, "Temp-Pass-123", "status=all")
        .await
        .expect("add user");
    let u = s
        .get_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == name)
        .unwrap();
    let login = UrbackupServer::new(
        &std::env::var("URBACKUP_TEST_URL").unwrap(),
        name,
        "Temp-Pass-123",
    )
    .unwrap();
    login
        .get_client_statuses()
        .await
        .expect("the new user logs in");
    s.remove_user(u.id).await.expect("remove user");
}
