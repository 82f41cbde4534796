//! The console against a real UrBackup server, for anyone who has one (`#[ignore]`d: run
//! with `-- --ignored`; without `URBACKUP_TEST_URL` the test fails and says why).
//!
//! ```sh
//! URBACKUP_TEST_URL=http://127.0.0.1:55414/x URBACKUP_TEST_USER=admin URBACKUP_TEST_PASSWORD=secret \
//! URBACKUP_TEST_ALLOW_WRITE=1 URBACKUP_TEST_CLIENT=laptop \
//!   cargo test -p urbackup-console --test real_server -- --ignored --nocapture
//! ```
//!
//! Polls the server (beside a member that does not answer), then reads every page as a
//! viewer: overview, servers, the server, each client, compliance and its CSV. With
//! `URBACKUP_TEST_ALLOW_WRITE=1` and `URBACKUP_TEST_CLIENT` (an online client), an operator
//! starts an incremental file backup from the client page; the test waits (at most 10
//! minutes) until the server lists a new file backup, and checks that the client page shows
//! it in its history and the start in its audit trail. With chromium and chromedriver
//! installed, screenshots of the pages go to `target/browser-screenshots/real-*.png`.

mod common;

use axum::http::StatusCode;
use common::browser::{driver, shot, wait_text};
use common::member;
use common::web::{csrf, get, login, post, send};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use urbackup::UrbackupServer;
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::{Member, PollerConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real UrBackup server: URBACKUP_TEST_URL (run with -- --ignored)"]
async fn every_page_and_a_started_backup_against_a_real_server() {
    let url =
        env("URBACKUP_TEST_URL").expect("URBACKUP_TEST_URL is not set: no real server to test");
    let server = UrbackupServer::builder(&url)
        .credentials(
            &env("URBACKUP_TEST_USER").unwrap_or_default(),
            &env("URBACKUP_TEST_PASSWORD").unwrap_or_default(),
        )
        .build()
        .unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    store
        .add_user("vera", Role::Viewer, "vera-password")
        .unwrap();
    store
        .add_user("otto", Role::Operator, "otto-password")
        .unwrap();
    let console = Console::new(
        vec![Member::new("real", server), member("gone", &dead)],
        store,
        ConsoleConfig {
            poll: PollerConfig {
                interval: Duration::from_secs(5),
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
    assert!(!real.clients.is_empty(), "the server has no client");
    eprintln!(
        "real server: {} clients, {} running, usage {}, error logs {}",
        real.clients.len(),
        real.actions.as_ref().map_or(0, |a| a.len()),
        real.usage.is_some(),
        real.error_logs.as_ref().map_or(0, |l| l.len())
    );
    let app = console.router();
    let v = login(&app, "vera", "vera-password").await;
    let mut paths: Vec<String> = vec![
        "/".into(),
        "/servers".into(),
        "/servers/real".into(),
        "/servers/gone".into(),
        "/compliance".into(),
        "/compliance?server=real".into(),
        "/compliance.csv".into(),
        "/servers/real/live".into(),
    ];
    paths.extend(real.clients.iter().flat_map(|c| {
        [
            format!("/servers/real/clients/{}", c.id()),
            format!("/servers/real/clients/{}/live", c.id()),
        ]
    }));
    for path in &paths {
        let r = send(&app, get(path, &v)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let overview = send(&app, get("/", &v)).await.body;
    assert!(overview.contains("Unreachable servers") && overview.contains(">gone<"));
    let server_page = send(&app, get("/servers/real", &v)).await.body;
    for c in real.clients.iter() {
        let shown = askama_escape(c.name());
        assert!(
            server_page.contains(&shown),
            "{} on the server page",
            c.name()
        );
    }
    // Compliance agrees with the health rule: a kind the server judges failed is below 100%
    // in every window.
    let csv = send(&app, get("/compliance.csv", &v)).await.body;
    for c in real.clients.iter() {
        for kind in [urbackup::BackupKind::File, urbackup::BackupKind::Image] {
            if c.health.kind(kind).state != urbackup::BackupState::Failed {
                continue;
            }
            let row = csv
                .lines()
                .find(|l| l.contains(&format!(",{},{},", c.id(), kind.as_str())))
                .unwrap_or_else(|| panic!("{} {}: no CSV row: {csv}", c.name(), kind.as_str()));
            let shares: Vec<&str> = row.split(',').skip(6).take(3).collect();
            eprintln!("{} {} failed: shares {shares:?}", c.name(), kind.as_str());
            assert!(
                shares
                    .iter()
                    .all(|s| s.parse::<f64>().is_ok_and(|x| x < 1.0)),
                "{row}"
            );
        }
    }
    // The history the console read from the server's backup lists.
    for c in real
        .clients
        .iter()
        .filter(|c| c.health.file.last_backup.is_some())
    {
        let page = send(&app, get(&format!("/servers/real/clients/{}", c.id()), &v))
            .await
            .body;
        assert!(
            page.contains("<svg class=\"chart\""),
            "{}: a chart",
            c.name()
        );
    }

    // Started from the console, seen on the server.
    if let (Some("1"), Some(client)) = (
        env("URBACKUP_TEST_ALLOW_WRITE").as_deref(),
        env("URBACKUP_TEST_CLIENT"),
    ) {
        console.start_polling();
        let c = real
            .clients
            .iter()
            .find(|c| c.name() == client)
            .unwrap_or_else(|| panic!("no client {client}"))
            .clone();
        let before = c.health.file.last_backup.unwrap_or(0);
        // Two backups of one client in the same minute collide on the server.
        while urbackup_fleet::unix_now() / 60 == before / 60 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let o = login(&app, "otto", "otto-password").await;
        let path = format!("/servers/real/clients/{}", c.id());
        let token = csrf(&send(&app, get(&path, &o)).await.body);
        let r = send(
            &app,
            post(
                &format!("{path}/backup"),
                &o,
                &[("csrf", &token), ("kind", "incr_file")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = send(&app, get(&path, &o)).await.body;
        let flash = page
            .split("class=\"flash ")
            .nth(1)
            .and_then(|f| f.split("</p>").next())
            .unwrap_or("")
            .to_owned();
        eprintln!("after the start: {flash}");
        assert!(
            flash.starts_with("ok") && (flash.contains("is running") || flash.contains("queued")),
            "{flash}"
        );
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let s = console
                .poller()
                .poll_now("real", Duration::from_secs(30))
                .await
                .unwrap();
            let now = s
                .client(c.id())
                .and_then(|c| c.health.file.last_backup)
                .unwrap_or(0);
            if now > before
                && s.actions
                    .as_ref()
                    .is_some_and(|a| a.iter().all(|a| a.clientid != c.id()))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no new file backup of {client} in 10 minutes"
            );
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        // The lists are read at the poll after the change; the page shows the new backup.
        console.poll_once().await;
        let page = send(&app, get(&path, &o)).await.body;
        assert!(page.contains("Done from this console") && page.contains(">otto<"));
        assert!(
            page.contains("started an incremental file backup"),
            "plain words"
        );
        let lists = console
            .poller()
            .server("real")
            .unwrap()
            .server()
            .client_backups(c.id())
            .await
            .unwrap();
        let newest = lists.file_backups.iter().map(|b| b.id).max().unwrap();
        assert!(
            page.contains(&format!("<td class=\"hide-narrow\">{newest}</td>")),
            "backup {newest} in the history"
        );
        // The live part, which the page fetches on the interval, shows it too.
        let live = send(&app, get(&format!("{path}/live"), &o)).await.body;
        assert!(
            live.contains(&format!("<td class=\"hide-narrow\">{newest}</td>")),
            "backup {newest} in the live history"
        );
        eprintln!("file backup {newest} of {client} started from the console and listed");
    }

    // Screenshots in a real browser.
    if let Some((_driver, b)) = driver().await {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = console
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        common::browser::login(&b, &base, "otto", "otto-password").await;
        wait_text(&b, "Clients that need attention").await;
        shot(&b, "real-overview").await;
        b.goto(&format!("{base}/servers/real")).await.unwrap();
        shot(&b, "real-server").await;
        for c in real.clients.iter() {
            b.goto(&format!("{base}/servers/real/clients/{}", c.id()))
                .await
                .unwrap();
            shot(&b, &format!("real-client-{}", c.id())).await;
        }
        b.goto(&format!("{base}/compliance")).await.unwrap();
        shot(&b, "real-compliance").await;
        b.close().await.unwrap();
    }
}

/// A name as askama writes it in HTML.
fn askama_escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '&' => out.push_str("&#38;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
