//! The console never sends a start the server would accept and never run (the library's
//! `StartRefusal`): a kind switched off on the server, and on UrBackup 2.4 an image backup of
//! a Linux client (2.4's `status` does not say it; the library derives it). The buttons say
//! why, a forged form is refused, and the simulators count the `start_backup` requests.

mod common;

use axum::http::StatusCode;
use common::web::{csrf, get, login, post, send};
use common::{fleet, member, SIM_PASSWORD, SIM_USER};
use std::sync::Arc;
use std::time::Duration;
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_sim::{ClientSpec, ServerVersion, Simulator};

/// The client page after an operator's start of `kind`: the flash message is on it.
async fn start_and_read(app: &axum::Router, path: &str, cookie: &str, kind: &str) -> String {
    let page = send(app, get(path, cookie)).await.body;
    let token = csrf(&page);
    let r = send(
        app,
        post(
            &format!("{path}/backup"),
            cookie,
            &[("csrf", &token), ("kind", kind)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    send(app, get(path, cookie)).await.body
}

#[tokio::test]
async fn a_kind_switched_off_on_the_server_is_refused() {
    let f = fleet(Duration::from_secs(3600), 30).await;
    f.beta.with_state(|st| {
        st.general.insert("no_file_backups".into(), "true".into());
    });
    f.console.poll_once().await;
    f.console.start_polling();
    let app = f.console.router();
    let o = login(&app, "otto", "otto-password").await;
    let snap = f.console.poller().snapshot();
    let beta = snap.server("beta").unwrap();
    let id = |name: &str| beta.clients.iter().find(|c| c.name() == name).unwrap().id();
    let why = "File backups are switched off on the server (no_file_backups).";

    let path = format!("/servers/beta/clients/{}", id("beta-ok"));
    let page = send(&app, get(&path, &o)).await.body;
    assert_eq!(
        page.matches(&format!("disabled title=\"{why}\"")).count(),
        2,
        "both file buttons: {page}"
    );
    let page = start_and_read(&app, &path, &o, "full_file").await;
    assert!(page.contains(&format!("Not started: {why}")), "{page}");
    // The page does not promise that a started file backup runs on a client whose own
    // intervals are off, while the server's switch keeps it from running.
    let manual = format!("/servers/beta/clients/{}", id("beta-manual"));
    let page = send(&app, get(&manual, &o)).await.body;
    assert!(!page.contains("one started here still runs"), "{page}");
    assert_eq!(f.beta.requests("start_backup"), 0);

    // Image backups of the same client are not switched off: that start is sent.
    let page = start_and_read(&app, &path, &o, "incr_image").await;
    assert!(
        page.contains("Incremental image backup of beta-ok is running."),
        "{page}"
    );
    assert_eq!(f.beta.requests("start_backup"), 1);
}

#[tokio::test]
async fn on_2_4_an_image_backup_of_a_linux_client_is_refused() {
    let sim = Simulator::builder()
        .client(ClientSpec::new("lin").linux().backups(1, 0))
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(30))
        .server_version(ServerVersion::V2_4)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    store
        .add_user("otto", Role::Operator, "otto-password")
        .unwrap();
    let console = Console::new(
        vec![member("old", &sim.url())],
        store,
        ConsoleConfig::default(),
    )
    .unwrap();
    console.poll_once().await;
    console.start_polling();
    let app = console.router();
    let o = login(&app, "otto", "otto-password").await;
    let id = sim.client_id("lin").unwrap();
    let path = format!("/servers/old/clients/{id}");
    let why = "The client cannot do image backups.";
    let page = send(&app, get(&path, &o)).await.body;
    assert_eq!(
        page.matches(&format!("disabled title=\"{why}\"")).count(),
        2
    );
    for kind in ["incr_image", "full_image"] {
        let page = start_and_read(&app, &path, &o, kind).await;
        assert!(page.contains(&format!("Not started: {why}")), "{page}");
    }
    assert_eq!(sim.requests("start_backup"), 0);
    sim.with_state(|st| assert!(st.pending_starts.is_empty()));
    // Its file backups start.
    let page = start_and_read(&app, &path, &o, "incr_file").await;
    assert!(
        page.contains("Incremental file backup of lin is running"),
        "{page}"
    );
    assert_eq!(sim.requests("start_backup"), 1);
}
