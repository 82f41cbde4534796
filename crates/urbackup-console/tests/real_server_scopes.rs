//! Scoped console users against a real UrBackup server (`#[ignore]`d: run with
//! `-- --ignored`; without `URBACKUP_TEST_URL` the test fails and says why). Reads only:
//! nothing is written to the server.
//!
//! ```sh
//! URBACKUP_TEST_URL=http://127.0.0.1:55414/x URBACKUP_TEST_USER=admin URBACKUP_TEST_PASSWORD=secret \
//!   cargo test -p urbackup-console --test real_server_scopes -- --ignored --nocapture
//! ```
//!
//! The console polls the server (as `real`, beside a member `gone` that does not answer).
//! A viewer scoped to `real` and the group of its first client (the group name as the real
//! server reports it: the default group is `(default)`) reads every page with that client in
//! it; an operator scoped to `real` and a group no client has sees no client of it on any page,
//! and their start of a backup of that client is a 404 that sends nothing (the server's running
//! actions and newest activity are the same after it); a viewer scoped to `gone` alone cannot
//! learn that `real` exists.

mod common;

use axum::http::StatusCode;
use common::member;
use common::web::{csrf, get, login, post, send};
use std::sync::Arc;
use std::time::Duration;
use urbackup::UrbackupServer;
use urbackup_console::auth::scope::DEFAULT_GROUP;
use urbackup_console::auth::{Role, Scope};
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::{Member, PollerConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real UrBackup server: URBACKUP_TEST_URL (run with -- --ignored)"]
async fn scoped_users_against_a_real_server() {
    let url =
        env("URBACKUP_TEST_URL").expect("URBACKUP_TEST_URL is not set: no real server to test");
    let server = UrbackupServer::builder(&url)
        .credentials(
            &env("URBACKUP_TEST_USER").unwrap_or_default(),
            &env("URBACKUP_TEST_PASSWORD").unwrap_or_default(),
        )
        .build()
        .unwrap();
    let check = server.clone();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    let console = Console::new(
        vec![Member::new("real", server), member("gone", &dead)],
        store.clone(),
        ConsoleConfig {
            poll: PollerConfig {
                interval: Duration::from_secs(3600),
                ..PollerConfig::default()
            },
            ..ConsoleConfig::default()
        },
    )
    .unwrap();
    let snap = console.poll_once().await;
    let real = snap.server("real").unwrap().clone();
    assert!(
        real.is_up(),
        "the real server cannot be read: {:?}",
        real.failure
    );
    let client = real
        .clients
        .first()
        .expect("the server has a client")
        .clone();
    let group = match client.health.group.as_str() {
        "" => DEFAULT_GROUP.to_string(),
        g => g.to_string(),
    };
    eprintln!(
        "real server: {} clients; {} (id {}) in group {group:?}",
        real.clients.len(),
        client.name(),
        client.id()
    );
    store
        .add_user_scoped(
            "gina",
            Role::Viewer,
            "gina-password",
            &Scope::servers(["real"]).with_groups([group.as_str()]),
        )
        .unwrap();
    store
        .add_user_scoped(
            "olga",
            Role::Operator,
            "olga-password",
            &Scope::servers(["real"]).with_groups(["no-client-has-this-group"]),
        )
        .unwrap();
    store
        .add_user_scoped(
            "rita",
            Role::Viewer,
            "rita-password",
            &Scope::servers(["gone"]),
        )
        .unwrap();
    let app = console.router();
    let client_path = format!("/servers/real/clients/{}", client.id());
    let name = client.name().replace('&', "&amp;").replace('<', "&lt;");

    // In scope: every page, with the client in it.
    let g = login(&app, "gina", "gina-password").await;
    for path in [
        "/",
        "/servers",
        "/servers/real",
        client_path.as_str(),
        "/compliance?server=real",
        "/compliance.csv",
    ] {
        let r = send(&app, get(path, &g)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert!(
            !r.body.contains("gone"),
            "{path}: gone is outside gina's scope"
        );
    }
    let page = send(&app, get("/servers/real", &g)).await.body;
    assert!(page.contains(&name), "{page}");

    // Out of scope: the client on no page, its page and its actions 404, nothing sent.
    let o = login(&app, "olga", "olga-password").await;
    for path in [
        "/",
        "/servers",
        "/servers/real",
        "/compliance",
        "/compliance.csv",
    ] {
        let r = send(&app, get(path, &o)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            !r.body.contains(&name),
            "{path}: {} is outside olga's scope",
            client.name()
        );
    }
    let page = send(&app, get("/servers/real", &o)).await.body;
    assert!(page.contains("0 of 0 clients"), "{page}");
    let unknown = send(&app, get("/servers/real/clients/999999", &o)).await;
    let r = send(&app, get(&client_path, &o)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.body
            .replace(&format!("with id {}.", client.id()), "with id 999999.")
            .replace(&format!("clients/{}\"", client.id()), "clients/999999\""),
        unknown.body
    );
    let before_acts = check.get_actions_typed().await.unwrap().len();
    let before_last = check.last_activities().await.unwrap().first().map(|a| a.id);
    let token = csrf(&send(&app, get("/", &o)).await.body);
    let r = send(
        &app,
        post(
            &format!("{client_path}/backup"),
            &o,
            &[("csrf", &token), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        check.get_actions_typed().await.unwrap().len(),
        before_acts,
        "nothing started"
    );
    assert_eq!(
        check.last_activities().await.unwrap().first().map(|a| a.id),
        before_last
    );

    // Scoped to another server: `real` does not exist for them.
    let r_ = login(&app, "rita", "rita-password").await;
    let page = send(&app, get("/servers", &r_)).await.body;
    assert!(!page.contains("real"), "{page}");
    let r = send(&app, get("/servers/real", &r_)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let unknown = send(&app, get("/servers/nowhere", &r_)).await;
    assert_eq!(r.body.replace("real", "nowhere"), unknown.body);
}
