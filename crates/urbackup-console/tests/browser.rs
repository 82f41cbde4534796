//! The console in a real browser: Debian's `chromium` driven by `chromedriver` (WebDriver,
//! through `fantoccini`), against the console served on a socket over simulated servers.
//! Screenshots of every page go to `target/browser-screenshots/`.
//!
//! Without chromium and chromedriver the test says so and passes, unless
//! `URBACKUP_BROWSER_TESTS=required` (set by `.ci/run`, which installs them): then it fails.

mod common;

use common::browser::{click, driver, login, logout, shot, text, wait_text};
use common::{fleet, MARKUP};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

/// An HTML page on another origin that posts a form to the console (a forgery).
async fn attacker(target: String) -> SocketAddr {
    let page = format!(
        "<!doctype html><title>prize</title><form method=post action=\"{target}\"><input type=hidden name=kind value=incr_file><button id=win>Win a prize</button></form>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let Some((_driver, c)) = driver().await else {
        return;
    };
    let f = fleet(Duration::from_secs(2), 120).await;
    f.console.start_polling();
    let base = common::serve(&f.console).await;
    let id = |server: &str, name: &str| common::client_id(&f.console, server, name);

    // Not logged in: the login page.
    c.goto(&base).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    shot(&c, "01-login").await;
    login(&c, &base, "vera", "not her password").await;
    wait_text(&c, "Wrong user name or password.").await;
    shot(&c, "02-login-failed").await;

    // The overview, problems first: the unreachable server, the failed client.
    login(&c, &base, "vera", "vera-password").await;
    let body = wait_text(&c, "Clients that need attention").await;
    let unreachable = body
        .find("Unreachable servers")
        .expect("unreachable section");
    let attention = body.find("Clients that need attention").unwrap();
    assert!(unreachable < attention);
    assert!(body[unreachable..attention].contains("gamma"), "{body}");
    assert!(body[attention..].contains("beta-failed"), "{body}");
    shot(&c, "03-overview").await;

    // Keyboard: the first Tab reaches the skip link, which leads to the content.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Skip to content");

    // A client named with markup is text and runs nothing.
    c.goto(&format!("{base}/servers/alpha")).await.unwrap();
    let body = text(&c).await;
    assert!(body.contains(MARKUP), "the name shown as typed: {body}");
    let probe = c
        .execute(
            "return [window.__pwned === undefined, document.querySelectorAll('main img, main script').length]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(probe, json!([true, 0]));
    shot(&c, "04-server").await;

    // Sorting and filtering the clients.
    c.goto(&format!(
        "{base}/servers/beta?show=attention&sort=name&dir=asc"
    ))
    .await
    .unwrap();
    let table = c
        .find(Locator::Id("client-table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("beta-failed") && !table.contains("beta-ok"),
        "{table}"
    );
    shot(&c, "05-server-filtered").await;

    // The failed client's page: health, history with the chart, its error log.
    click(&c, Locator::LinkText("beta-failed")).await;
    c.wait().for_element(Locator::Id("history")).await.unwrap();
    let dots = c
        .find_all(Locator::Css("svg.chart circle"))
        .await
        .unwrap()
        .len();
    assert!(dots >= 5, "{dots} dots");
    let body = text(&c).await;
    assert!(body.contains("Latest logs with errors") && body.contains("failed"));
    // A viewer has no start button.
    assert!(c
        .find_all(Locator::Css("form[action$='/backup'] button"))
        .await
        .unwrap()
        .is_empty());
    shot(&c, "06-client").await;

    c.goto(&format!("{base}/compliance")).await.unwrap();
    assert!(text(&c).await.contains("Per server"));
    shot(&c, "07-compliance").await;
    c.goto(&format!("{base}/servers")).await.unwrap();
    shot(&c, "08-servers").await;
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    assert!(text(&c).await.contains("This needs the admin role"));
    shot(&c, "09-forbidden").await;

    // A forged POST from another origin (the browser holds a viewer's session): refused,
    // and nothing reaches the server.
    let ok_id = id("beta", "beta-ok");
    let evil = attacker(format!("{base}/servers/beta/clients/{ok_id}/backup")).await;
    c.goto(&format!("http://{evil}/")).await.unwrap();
    click(&c, Locator::Id("win")).await;
    c.wait().for_element(Locator::Css("h1")).await.unwrap();
    let body = text(&c).await;
    assert!(
        body.contains("Forbidden") || body.contains("Not logged in"),
        "{body}"
    );
    shot(&c, "10-forged-post").await;
    assert_eq!(f.beta.requests("start_backup"), 0);

    c.goto(&base).await.unwrap();
    logout(&c).await;
    c.goto(&format!("{base}/servers")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));

    // An operator starts a backup and sees it running.
    login(&c, &base, "otto", "otto-password").await;
    c.goto(&format!("{base}/servers/beta/clients/{ok_id}"))
        .await
        .unwrap();
    click(
        &c,
        Locator::XPath("//button[text()='Incremental file backup']"),
    )
    .await;
    c.wait().for_element(Locator::Css("p.flash")).await.unwrap();
    let flash = c
        .find(Locator::Css("p.flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("is running"), "{flash}");
    let live = c
        .find(Locator::Id("live"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        live.contains("incremental file backup") && live.contains("Stop"),
        "{live}"
    );
    assert_eq!(f.beta.requests("start_backup"), 1);
    shot(&c, "11-client-running").await;

    // The running backup shows on the overview too, with its progress.
    c.goto(&base).await.unwrap();
    let body = text(&c).await;
    assert!(
        body.contains("1\nrunning activities") || body.contains("beta-ok"),
        "{body}"
    );
    // At the size of a laptop screen (the README's picture).
    c.set_window_size(1280, 860).await.unwrap();
    shot(&c, "12-overview-running").await;
    c.set_window_size(1280, 1600).await.unwrap();

    // Themes: auto -> light -> dark.
    for expected in ["light", "dark"] {
        click(&c, Locator::Css("form[action='/prefs/theme'] button")).await;
        c.wait().for_element(Locator::Id("main")).await.unwrap();
        let theme = c
            .execute("return document.documentElement.dataset.theme", vec![])
            .await
            .unwrap();
        assert_eq!(theme, json!(expected));
    }
    shot(&c, "13-overview-dark").await;
    c.goto(&format!(
        "{base}/servers/beta/clients/{}",
        id("beta", "beta-failed")
    ))
    .await
    .unwrap();
    shot(&c, "14-client-dark").await;

    // On a phone: nothing wider than the screen (wide tables scroll in their box).
    c.set_window_size(390, 844).await.unwrap();
    for (path, name) in [
        ("/".to_string(), "15-overview-phone"),
        (format!("/servers/beta/clients/{ok_id}"), "16-client-phone"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let widths = c
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        assert!(
            scroll <= inner,
            "{path}: page {scroll}px wide on a {inner}px screen"
        );
        shot(&c, name).await;
    }
    c.set_window_size(1280, 1600).await.unwrap();

    // An admin manages users.
    logout(&c).await;
    login(&c, &base, "ann", "ann-password").await;
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    assert!(text(&c).await.contains("Console users"));
    shot(&c, "17-users").await;
    logout(&c).await;
    shot(&c, "18-logged-out").await;
    c.close().await.unwrap();
}
