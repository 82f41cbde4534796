//! Failure paths: logins, rights, unknown clients, expired sessions, bad replies.

mod common;
use common::*;
use std::time::{Duration, Instant};
use urbackup::{AuthFailure, BackupType, UrbackupError, UrbackupServer};

#[tokio::test]
async fn wrong_password() {
    let sim = start().await;
    let s = UrbackupServer::new(&sim.url(), "admin", "not-it").unwrap();
    match s.get_client_statuses().await {
        Err(UrbackupError::Authentication(AuthFailure::WrongPassword)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.requests("salt"), 1);
    assert_eq!(
        sim.requests("login"),
        1,
        "one hashed login, no retry, no anonymous probe"
    );
}

#[tokio::test]
async fn unknown_user() {
    let sim = start().await;
    let s = UrbackupServer::new(&sim.url(), "mallory", "x").unwrap();
    assert!(matches!(
        s.login_typed().await,
        Err(UrbackupError::Authentication(AuthFailure::UnknownUser))
    ));
}

#[tokio::test]
async fn credentials_required_when_users_exist() {
    let sim = start().await;
    let s = UrbackupServer::new(&sim.url(), "", "").unwrap();
    assert!(matches!(
        s.login_typed().await,
        Err(UrbackupError::Authentication(
            AuthFailure::CredentialsRequired
        ))
    ));
}

#[tokio::test]
async fn a_user_name_on_a_server_without_users_falls_back_to_anonymous() {
    let sim = Simulator::builder()
        .client(ClientSpec::new("solo").online(true))
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .start()
        .await
        .unwrap();
    let s = UrbackupServer::new(&sim.url(), "admin", "whatever").unwrap();
    assert!(s.login_typed().await.unwrap().anonymous);
    // The specification's order: anonymous first, no salt at all.
    sim.reset_counters();
    let spec = UrbackupServer::builder(&sim.url())
        .credentials("admin", "whatever")
        .anonymous_first(true)
        .build()
        .unwrap();
    assert!(spec.login_typed().await.unwrap().anonymous);
    assert_eq!((sim.requests("login"), sim.requests("salt")), (1, 0));
}

#[tokio::test]
async fn login_costs_two_round_trips_with_credentials() {
    let sim = start().await;
    let s = admin(&sim);
    s.get_client_statuses().await.unwrap();
    assert_eq!((sim.requests("salt"), sim.requests("login")), (1, 1));
    sim.invalidate_sessions();
    s.get_client_statuses().await.unwrap();
    assert_eq!((sim.requests("salt"), sim.requests("login")), (2, 2));
    let spec = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, ADMIN.1)
        .anonymous_first(true)
        .build()
        .unwrap();
    spec.login_typed().await.unwrap();
    assert_eq!(
        sim.requests("login"),
        4,
        "the specification's order adds the anonymous probe"
    );
}

#[tokio::test]
async fn anonymous_login_without_users() {
    let sim = Simulator::builder()
        .client(ClientSpec::new("solo").online(true))
        .manual_clock()
        .start()
        .await
        .unwrap();
    let s = UrbackupServer::new(&sim.url(), "", "").unwrap();
    let info = s.login_typed().await.unwrap();
    assert!(info.anonymous);
    assert_eq!(s.get_client_statuses().await.unwrap()[0].name, "solo");
}

#[tokio::test]
async fn rate_limited_after_many_failures() {
    let sim = start().await;
    let s = UrbackupServer::new(&sim.url(), "admin", "bad").unwrap();
    let mut last = None;
    for _ in 0..12 {
        last = Some(s.login_typed().await);
    }
    assert!(
        matches!(
            last,
            Some(Err(UrbackupError::Authentication(AuthFailure::RateLimited)))
        ),
        "{last:?}"
    );
    // The ban holds for the right password too, and says so.
    let good = admin(&sim);
    let e = good.login_typed().await.unwrap_err();
    assert!(e.to_string().contains("10 minutes"), "{e}");
}

#[tokio::test]
async fn missing_rights_are_access_denied() {
    let sim = start().await;
    let v = viewer(&sim);
    assert_eq!(
        v.get_client_statuses().await.unwrap().len(),
        3,
        "status right: all"
    );
    // Each refusal names the rights the call needs, in the words of the server's user rights.
    let denied = |r: Result<(), UrbackupError>, rights: &[&str], text: &str| {
        let e = r.unwrap_err();
        assert!(matches!(e, UrbackupError::AccessDenied { .. }), "{e:?}");
        assert_eq!(e.needed_rights(), rights, "{e}");
        assert!(e.to_string().contains(text), "{e}");
    };
    denied(
        v.get_global_settings_typed().await.map(drop),
        &["settings", "general_settings"],
        "needs the rights `settings` and `general_settings`",
    );
    denied(
        v.get_users().await.map(drop),
        &["settings", "usermod"],
        "access denied for `settings` (listusers): needs the rights `settings` and `usermod`",
    );
    denied(
        v.start_backup_typed("alpha", BackupType::IncrFile)
            .await
            .map(drop),
        &["start_backup"],
        "needs the right `start_backup`",
    );
    denied(
        v.get_usage_typed().await.map(drop),
        &["piegraph"],
        "needs the right `piegraph`",
    );
    denied(
        v.add_user("x", "y", "all").await.map(drop),
        &["settings", "usermod"],
        "needs the rights `settings` and `usermod`",
    );
    // One login for the first call; each refusal costs at most one more.
    assert!(sim.logins() <= 6, "{}", sim.logins());
}

#[tokio::test]
async fn expired_session_logs_in_once_and_succeeds() {
    let sim = start().await;
    let s = admin(&sim);
    s.get_client_statuses().await.unwrap();
    assert_eq!(sim.logins(), 1);
    sim.advance(Duration::from_secs(1801)); // idle past the server's 30 minutes
    sim.reset_counters();
    let clients = s.get_client_statuses().await.unwrap();
    assert_eq!(clients.len(), 3);
    assert_eq!(sim.logins(), 1, "exactly one new login");
    assert_eq!(sim.requests("status"), 2, "refused once, repeated once");
}

#[tokio::test]
async fn server_restart_in_a_sequence_of_calls() {
    let sim = start().await;
    let s = admin(&sim);
    s.get_client_statuses().await.unwrap();
    sim.restart();
    assert!(s
        .start_backup_typed("alpha", BackupType::IncrFile)
        .await
        .unwrap());
    sim.advance(Duration::from_secs(1));
    sim.invalidate_sessions();
    assert_eq!(s.get_actions_typed().await.unwrap().len(), 1);
    // The lookup by name met the lost session and logged in again; the backup started once.
    assert_eq!(sim.requests("start_backup"), 1);
    assert_eq!(sim.logins(), 3);
}

#[tokio::test]
async fn a_second_refusal_is_access_denied() {
    let sim = start().await;
    let v = viewer(&sim);
    v.get_client_statuses().await.unwrap();
    assert_eq!(sim.logins(), 1);
    // Refused on an established session: one new login, refused again: AccessDenied.
    let r = v.get_global_settings_typed().await;
    assert!(
        matches!(r, Err(UrbackupError::AccessDenied { .. })),
        "{r:?}"
    );
    assert_eq!(sim.logins(), 2);
    assert_eq!(sim.requests("settings"), 2);
}

#[tokio::test]
async fn proxy_error_page_on_a_read_is_retried() {
    let sim = start().await;
    let s = admin(&sim);
    s.login_typed().await.unwrap();
    sim.inject(FaultRule::new(Fault::BadGateway).action("status").times(1));
    assert_eq!(s.get_client_statuses().await.unwrap().len(), 3);
    assert_eq!(sim.requests("status"), 2);
}

#[tokio::test]
async fn proxy_error_page_on_a_write_is_not_retried() {
    let sim = start().await;
    let s = admin(&sim);
    let alpha = s.client_id("alpha").await.unwrap();
    sim.inject(FaultRule::new(Fault::BadGateway).action("start_backup"));
    match s.start_backups(&[alpha], BackupType::IncrFile).await {
        Err(UrbackupError::HttpStatus {
            status: 502,
            snippet,
            ..
        }) => {
            assert!(snippet.to_lowercase().contains("bad gateway"), "{snippet}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.requests("start_backup"), 1);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let sim = start().await;
    let s = admin(&sim);
    s.login_typed().await.unwrap();
    for fault in [Fault::InvalidJson, Fault::TruncatedJson] {
        sim.clear_faults();
        sim.inject(FaultRule::new(fault).action("status"));
        match s.get_client_statuses().await {
            Err(UrbackupError::UnexpectedResponse {
                action, snippet, ..
            }) => {
                assert_eq!(action, "status");
                assert!(!snippet.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn timeout_is_reported_in_time() {
    let sim = start().await;
    let s = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, ADMIN.1)
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    s.login_typed().await.unwrap();
    sim.inject(FaultRule::new(Fault::Delay(Duration::from_secs(5))).action("status"));
    let t = Instant::now();
    let r = s.get_client_statuses().await;
    assert!(
        matches!(
            r,
            Err(UrbackupError::Timeout {
                outcome_unknown: false,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn unknown_client_everywhere() {
    let sim = start().await;
    let s = admin(&sim);
    assert!(matches!(
        s.get_client_settings_typed("zzz").await,
        Err(UrbackupError::ClientNotFound(_))
    ));
    assert!(matches!(
        s.get_client_authkey_typed("zzz").await,
        Err(UrbackupError::ClientNotFound(_))
    ));
    assert!(matches!(
        s.remove_client(&[9999]).await,
        Err(UrbackupError::ClientNotFound(_))
    ));
}

#[tokio::test]
async fn refused_connection_is_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let s = UrbackupServer::builder(&format!("http://127.0.0.1:{port}/x"))
        .credentials("a", "b")
        .retry_base_delay(Duration::from_millis(5))
        .build()
        .unwrap();
    let e = s.get_client_statuses().await.unwrap_err();
    assert!(
        matches!(
            e,
            UrbackupError::Transport {
                outcome_unknown: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("ses="));
    // The message names the server, not the internal login step.
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "connection to http://127.0.0.1:{port}/x failed while logging in: cannot connect"
        )),
        "{text}"
    );
    assert!(!text.contains("salt"), "{text}");
}

#[tokio::test]
async fn plain_password_login_for_ldap_style_accounts() {
    let sim = start().await;
    let s = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, ADMIN.1)
        .plain_password_login(true)
        .build()
        .unwrap();
    assert_eq!(s.get_client_statuses().await.unwrap().len(), 3);
    assert_eq!(sim.requests("salt"), 0, "no salt in plain-password mode");
    let bad = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, "nope")
        .plain_password_login(true)
        .build()
        .unwrap();
    assert!(matches!(
        bad.login_typed().await,
        Err(UrbackupError::Authentication(AuthFailure::WrongPassword))
    ));
}

#[tokio::test]
async fn legacy_md5_account_logs_in() {
    let sim = scene()
        .legacy_md5_user("oldie", "old-secret")
        .start()
        .await
        .unwrap();
    let s = UrbackupServer::new(&sim.url(), "oldie", "old-secret").unwrap();
    assert_eq!(s.get_client_statuses().await.unwrap().len(), 3);
    let wrong = UrbackupServer::new(&sim.url(), "oldie", "x").unwrap();
    assert!(matches!(
        wrong.login_typed().await,
        Err(UrbackupError::Authentication(AuthFailure::WrongPassword))
    ));
}

#[tokio::test]
async fn sub_path_urls_work() {
    let sim = start().await;
    for url in [sim.base_url(), format!("{}/", sim.base_url()), sim.url()] {
        let s = UrbackupServer::new(&url, ADMIN.0, ADMIN.1).unwrap();
        assert_eq!(s.get_client_statuses().await.unwrap().len(), 3, "{url}");
    }
    // A reverse-proxy prefix: the server reads only the last path segment.
    let s =
        UrbackupServer::new(&format!("{}/urbackup/", sim.base_url()), ADMIN.0, ADMIN.1).unwrap();
    assert!(s.url().ends_with("/urbackup/x"));
    assert_eq!(s.get_client_statuses().await.unwrap().len(), 3);
}

#[tokio::test]
async fn oversized_reply_is_refused() {
    let sim = Simulator::builder()
        .clients(200)
        .admin("admin", "secret")
        .manual_clock()
        .start()
        .await
        .unwrap();
    let s = UrbackupServer::builder(&sim.url())
        .credentials("admin", "secret")
        .max_response_bytes(10_000)
        .build()
        .unwrap();
    let r = s.get_client_statuses().await;
    assert!(
        matches!(
            r,
            Err(UrbackupError::ResponseTooLarge { limit: 10_000, .. })
        ),
        "{r:?}"
    );
}
