//! The client page's start buttons in a real browser (Debian's chromium through chromedriver)
//! when the server would accept a start and never run it: an image backup of a Linux client,
//! and file backups switched off on the server. The buttons are disabled and say why; nothing
//! reaches the server. Screenshots at laptop and phone width go to
//! `target/browser-screenshots/refused-*.png`.

mod common;

use common::browser::{driver, login, shot, wait_text};
use common::fleet;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// `[label, title]` of each disabled start button of the page.
async fn disabled_buttons(c: &fantoccini::Client) -> Vec<(String, String)> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('#start ~ .actions button[disabled]')]\
             .map(b => [b.textContent, b.title])",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| match p {
            Value::Array(a) => (
                a[0].as_str().unwrap().to_owned(),
                a[1].as_str().unwrap().to_owned(),
            ),
            _ => panic!("{p}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_starts_in_a_real_browser() {
    let Some((_driver, c)) = driver().await else {
        return;
    };
    let f = fleet(Duration::from_secs(2), 120).await;
    f.beta.with_state(|st| {
        st.general.insert("no_file_backups".into(), "true".into());
    });
    f.console.poll_once().await;
    f.console.start_polling();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = f
        .console
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let snap = f.console.poller().snapshot();
    let id = |name: &str| {
        snap.server("beta")
            .unwrap()
            .clients
            .iter()
            .find(|c| c.name() == name)
            .unwrap()
            .id()
    };
    login(&c, &base, "otto", "otto-password").await;
    let files_off = "File backups are switched off on the server (no_file_backups).";
    let no_images = "The client cannot do image backups.";
    for (width, height, tag) in [(1366, 900, "laptop"), (390, 844, "phone")] {
        c.set_window_size(width, height).await.unwrap();
        c.goto(&format!("{base}/servers/beta/clients/{}", id("beta-linux")))
            .await
            .unwrap();
        wait_text(&c, "Start a backup").await;
        let d = disabled_buttons(&c).await;
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(d[..2].iter().all(|(_, t)| t == files_off), "{d:?}");
        assert!(d[2..].iter().all(|(_, t)| t == no_images), "{d:?}");
        // The reasons are on the page too (a title shows on no phone).
        let t = wait_text(&c, "No image backup is started from here").await;
        assert!(
            t.contains("No image backup is started from here: the client cannot do image backups.")
                && t.contains("No file backup is started from here: file backups are switched off on the server (no_file_backups)."),
            "{t}"
        );
        c.execute("document.getElementById('start').scrollIntoView()", vec![])
            .await
            .unwrap();
        shot(&c, &format!("refused-linux-{tag}")).await;
        c.goto(&format!("{base}/servers/beta/clients/{}", id("beta-ok")))
            .await
            .unwrap();
        wait_text(&c, "Start a backup").await;
        let d = disabled_buttons(&c).await;
        assert_eq!(
            d,
            [
                ("Incremental file backup".to_owned(), files_off.to_owned()),
                ("Full file backup".to_owned(), files_off.to_owned()),
            ]
        );
        c.execute("document.getElementById('start').scrollIntoView()", vec![])
            .await
            .unwrap();
        shot(&c, &format!("refused-files-off-{tag}")).await;
    }
    assert_eq!(f.beta.requests("start_backup"), 0);
}
