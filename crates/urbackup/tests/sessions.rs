//! Exporting and resuming a session: a resumed session costs no login; one the server has
//! forgotten (idle timeout, restart) takes the one-login-one-repeat path, for reads and for
//! writes; the observer sees every new session and a session that is gone.

mod common;
use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use urbackup::{AuthFailure, BackupType, Session, UrbackupError, UrbackupServer};

/// What an observer saw: `Some(token)` for a new session, `None` for one that is gone.
type Seen = Arc<Mutex<Vec<Option<String>>>>;

fn resumed(sim: &SimServer, session: Session, password: &str) -> (UrbackupServer, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let s = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, password)
        .timeout(Duration::from_secs(10))
        .resume_session(session)
        .on_session_change(move |s| {
            sink.lock()
                .unwrap()
                .push(s.map(|s| s.expose_token().to_owned()))
        })
        .build()
        .unwrap();
    (s, seen)
}

/// A session made by a first handle (a login), as another process would have stored it.
async fn exported(sim: &SimServer) -> Session {
    let first = admin(sim);
    assert!(first.session().is_none(), "no session before the login");
    first.get_client_statuses().await.unwrap();
    first.session().expect("a session after the login")
}

#[tokio::test]
async fn a_resumed_session_makes_a_read_one_request() {
    let sim = start().await;
    let session = exported(&sim).await;
    assert!(!session.login_info().anonymous);
    assert!(session
        .login_info()
        .rights
        .iter()
        .any(|(k, v)| k == "status" && v == "all"));
    sim.reset_counters();
    let (s, seen) = resumed(&sim, session.clone(), ADMIN.1);
    let clients = s.get_client_statuses().await.unwrap();
    assert_eq!(clients.len(), 3);
    assert_eq!(sim.total_requests(), 1, "one request, no login");
    assert_eq!(sim.logins(), 0);
    assert!(seen.lock().unwrap().is_empty(), "no new session");
    assert_eq!(s.session().as_ref(), Some(&session));
    // What the login reported travels with the session.
    assert_eq!(s.login_typed().await.unwrap(), *session.login_info());
    assert_eq!(sim.total_requests(), 1);
}

#[tokio::test]
async fn the_server_keeps_a_session_for_30_minutes_idle() {
    let sim = start().await;
    let session = exported(&sim).await;
    // 29 minutes idle: still valid, and the use refreshes it.
    sim.advance(Duration::from_secs(29 * 60));
    let (s, seen) = resumed(&sim, session.clone(), ADMIN.1);
    sim.reset_counters();
    s.get_client_statuses().await.unwrap();
    assert_eq!((sim.total_requests(), sim.logins()), (1, 0));
    sim.advance(Duration::from_secs(29 * 60));
    s.get_client_statuses().await.unwrap();
    assert_eq!((sim.total_requests(), sim.logins()), (2, 0));
    assert!(seen.lock().unwrap().is_empty());

    // 31 minutes idle: forgotten. One refused request, salt + login, the repeat.
    sim.advance(Duration::from_secs(31 * 60));
    sim.reset_counters();
    let clients = s.get_client_statuses().await.unwrap();
    assert_eq!(clients.len(), 3);
    assert_eq!(sim.requests("status"), 2);
    assert_eq!(sim.logins(), 1);
    assert_eq!(sim.total_requests(), 4);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let new = seen[0].clone().expect("a new session");
    assert_ne!(new, session.expose_token());
    assert_eq!(s.session().unwrap().expose_token(), new);
}

#[tokio::test]
async fn a_write_refused_for_lack_of_a_session_is_done_once_after_the_login() {
    let sim = start().await;
    let session = exported(&sim).await;
    // Judged on a `status` reply read before: the write is the first request.
    let report = admin(&sim).status_report().await.unwrap();
    sim.restart();
    let (s, seen) = resumed(&sim, session, ADMIN.1);
    let alpha = sim.client_id("alpha").unwrap();
    sim.reset_counters();
    let started = s
        .start_backups_from(&report, &[alpha], BackupType::IncrFile)
        .await
        .unwrap();
    assert!(started.len() == 1 && started[0].start_ok, "{started:?}");
    assert_eq!(sim.requests("start_backup"), 2, "refused, then repeated");
    assert_eq!(sim.logins(), 1);
    assert_eq!(
        sim.total_requests(),
        4,
        "start_backup, salt, login, start_backup"
    );
    let processes = sim.with_state(|st| st.processes.len());
    assert_eq!(processes, 1, "the refused request started nothing");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_forgotten_session_and_a_wrong_password_leave_no_session() {
    let sim = start().await;
    let session = exported(&sim).await;
    sim.invalidate_sessions();
    let (s, seen) = resumed(&sim, session, "not-the-password");
    let e = s.get_client_statuses().await.unwrap_err();
    assert!(
        matches!(e, UrbackupError::Authentication(AuthFailure::WrongPassword)),
        "{e:?}"
    );
    assert!(s.session().is_none(), "the refused session is dropped");
    assert_eq!(seen.lock().unwrap().clone(), vec![None]);
    // The next call logs in at once (no second try of the dead session).
    sim.reset_counters();
    let _ = s.get_client_statuses().await;
    assert_eq!(sim.requests("status"), 0);
}

#[tokio::test]
async fn a_resumed_session_without_the_right_is_access_denied_after_one_login() {
    let sim = start().await;
    let v = viewer(&sim);
    v.get_client_statuses().await.unwrap();
    let session = v.session().unwrap();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let s = UrbackupServer::builder(&sim.url())
        .credentials(VIEWER.0, VIEWER.1)
        .resume_session(session)
        .on_session_change(move |s| sink.lock().unwrap().push(s.map(|_| String::new())))
        .build()
        .unwrap();
    let alpha = sim.client_id("alpha").unwrap();
    sim.reset_counters();
    let e = s
        .start_backups(&[alpha], BackupType::IncrFile)
        .await
        .unwrap_err();
    assert!(matches!(e, UrbackupError::AccessDenied { .. }), "{e:?}");
    assert_eq!(
        sim.requests("start_backup"),
        2,
        "refused, login, refused again"
    );
    assert_eq!(sim.logins(), 1);
    assert_eq!(sim.with_state(|st| st.processes.len()), 0);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the new session was reported"
    );
}

#[tokio::test]
async fn forget_session_tells_the_observer() {
    let sim = start().await;
    let (s, seen) = resumed(&sim, exported(&sim).await, ADMIN.1);
    s.forget_session();
    assert!(s.session().is_none());
    assert_eq!(seen.lock().unwrap().clone(), vec![None]);
    s.forget_session();
    assert_eq!(seen.lock().unwrap().len(), 1, "nothing more to forget");
}

#[test]
fn debug_and_display_hide_the_token() {
    let token = "0123456789abcdefghijABCDEFGHIJ";
    let session = Session::from_token(token);
    let b = UrbackupServer::builder("http://127.0.0.1:1/x")
        .credentials("admin", "pw")
        .resume_session(session.clone());
    assert_eq!(b.endpoint().unwrap(), "http://127.0.0.1:1/x");
    let s = b.build().unwrap();
    for text in [
        format!("{session:?}"),
        session.to_string(),
        format!("{s:?}"),
        format!("{:?}", s.session()),
        format!(
            "{:?}",
            UrbackupServer::builder("http://h").resume_session(session.clone())
        ),
    ] {
        assert!(!text.contains(token), "{text}");
    }
    assert_eq!(s.session().unwrap().expose_token(), token);
}
