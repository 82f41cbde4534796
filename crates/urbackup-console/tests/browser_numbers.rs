//! The console in a real browser (Debian's chromium through chromedriver), for issue 25:
//! an operator starts a backup and, without reloading, sees it in the client's history; the
//! server page keeps its filter when it refreshes itself; no date, size or duration wraps in
//! the middle at 1366 px, nothing is wider than a 390 px phone and the chart's labels stay
//! readable there; stopping a backup and removing a user ask first; error pages have the
//! navigation. Screenshots of every page at 1366 and 390 px go to
//! `target/browser-screenshots/numbers-*.png`.
//!
//! Without chromium and chromedriver the test says so and passes, unless
//! `URBACKUP_BROWSER_TESTS=required` (set by `.ci/run`): then it fails.

mod common;

use common::browser::{click, driver, login, logout, shot, text, wait_text};
use common::fleet;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::time::{Duration, Instant};

/// Waits (at most `secs`) until the script returns true.
async fn until(c: &Client, secs: u64, what: &str, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if c.execute(script, vec![]).await.ok() == Some(json!(true)) {
            return;
        }
        if Instant::now() > deadline {
            shot(c, "numbers-failed-wait").await;
            panic!("{what}: not within {secs} s: {}", text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Cells that must stay on one line (dates, sizes, durations, numbers; a compliance figure
/// and its "of N days seen" are two lines of one each) but wrap: their texts.
const WRAPPED: &str = r#"
const out = [];
for (const td of document.querySelectorAll('td.nowrap, td.num:not(:has(.seen)), td .share, td .seen')) {
  if (!td.offsetParent) continue;
  const r = document.createRange();
  r.selectNodeContents(td);
  const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
  if (tops.size > 1) out.push(td.innerText);
}
return out;
"#;

/// The page's width against the window's.
const WIDTHS: &str = "return [document.documentElement.scrollWidth, window.innerWidth]";

/// Takes the page at both sizes and checks each: no cell of a value wraps at 1366 px; the
/// page is no wider than the phone at 390 px.
async fn both_sizes(c: &Client, name: &str) {
    for (w, h) in [(1366u32, 900u32), (390, 844)] {
        c.set_window_size(w, h).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if w == 1366 {
            let wrapped = c.execute(WRAPPED, vec![]).await.unwrap();
            assert_eq!(wrapped, json!([]), "{name}: values wrapped at 1366 px");
        } else {
            let v = c.execute(WIDTHS, vec![]).await.unwrap();
            let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
            assert!(
                scroll <= inner,
                "{name}: {scroll} px wide on a {inner} px screen"
            );
        }
        // The whole page in the picture.
        let height = c
            .execute("return document.documentElement.scrollHeight", vec![])
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(900) as u32;
        c.set_window_size(w, (height + 140).clamp(h, 5000))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        shot(c, &format!("numbers-{w}-{name}")).await;
    }
    c.set_window_size(1366, 900).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_follow_the_fleet_in_a_real_browser() {
    let Some((_driver, c)) = driver().await else {
        return;
    };
    let f = fleet(Duration::from_secs(2), 10).await;
    f.console.start_polling();
    let base = common::serve(&f.console).await;
    let id = |server: &str, name: &str| common::client_id(&f.console, server, name);
    let ok = id("beta", "beta-ok");
    let client = format!("{base}/servers/beta/clients/{ok}");

    // An operator starts a backup; the page shows it running, then (no reload) in the
    // history.
    c.set_window_size(1366, 900).await.unwrap();
    login(&c, &base, "otto", "otto-password").await;
    c.goto(&client).await.unwrap();
    let rows =
        "return document.querySelectorAll('#client-live table tbody tr td.hide-narrow').length";
    let before = c.execute(rows, vec![]).await.unwrap().as_i64().unwrap();
    click(&c, Locator::Id("start-incr_file")).await;
    wait_text(&c, "is running").await;
    // From here on, the page is not loaded again: this mark would be gone.
    c.execute("window.__stay = 1", vec![]).await.unwrap();
    until(
        &c,
        60,
        "the finished backup in the history",
        &format!(
            "return window.__stay === 1 && document.querySelectorAll('#client-live table tbody tr td.hide-narrow').length === {}",
            before + 1
        ),
    )
    .await;
    let body = text(&c).await;
    assert!(
        body.contains("Nothing is running for this client."),
        "{body}"
    );
    both_sizes(&c, "01-client-after-backup").await;

    // Stopping asks first (no JavaScript needed: a page with the form again).
    click(&c, Locator::Id("start-full_file")).await;
    wait_text(&c, "is running").await;
    click(&c, Locator::XPath("//button[text()='Stop']")).await;
    wait_text(&c, "Stop the full file backup of beta-ok").await;
    both_sizes(&c, "02-confirm-stop").await;
    click(&c, Locator::Id("confirm")).await;
    wait_text(&c, "stopped").await;
    let audit = text(&c).await;
    assert!(
        audit.contains("started an incremental file backup")
            && audit.contains("stopped the full file backup"),
        "plain words in the audit trail: {audit}"
    );
    both_sizes(&c, "03-client-audit").await;

    // The server page refreshes itself and keeps its filter.
    c.goto(&format!("{base}/servers/beta")).await.unwrap();
    let search = c.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys("beta-o").await.unwrap();
    until(
        &c,
        10,
        "the filtered table",
        "return document.querySelectorAll('#client-table tbody tr').length === 1",
    )
    .await;
    c.execute(
        "document.getElementById('server-live').dataset.old = '1'",
        vec![],
    )
    .await
    .unwrap();
    until(
        &c,
        20,
        "a refresh of the live part",
        "const l = document.getElementById('server-live'); return l !== null && l.dataset.old === undefined",
    )
    .await;
    let rows = c
        .execute(
            "return [...document.querySelectorAll('#client-table tbody tr')].map(r => r.innerText)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "still filtered: {rows}");
    assert!(rows[0].as_str().unwrap().contains("beta-ok"), "{rows}");
    logout(&c).await;

    // Every page, at both sizes, as an admin.
    login(&c, &base, "ann", "ann-password").await;
    let failed = id("beta", "beta-failed");
    for (path, name) in [
        ("/".to_string(), "04-overview"),
        ("/servers".into(), "05-servers"),
        ("/servers/beta".into(), "06-server"),
        ("/servers/gamma".into(), "07-server-unreachable"),
        (
            format!("/servers/beta/clients/{failed}"),
            "08-client-failed",
        ),
        ("/compliance".into(), "09-compliance"),
        ("/compliance?server=beta".into(), "10-compliance-server"),
        ("/admin/users".into(), "11-users"),
        ("/servers/beta/clients/abc".into(), "12-not-found"),
        ("/servers/beta?sort=a&sort=b".into(), "13-bad-request"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        c.wait().for_element(Locator::Id("main")).await.unwrap();
        both_sizes(&c, name).await;
    }
    // On a phone, the chart drawn for it, with labels of a readable size.
    c.goto(&format!("{base}/servers/beta/clients/{failed}"))
        .await
        .unwrap();
    c.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let label = c
        .execute(
            "const f = document.querySelector('figure.chart-narrow'); const w = document.querySelector('figure.chart-wide'); return [getComputedStyle(f).display, getComputedStyle(w).display, f.querySelector('text').getBoundingClientRect().height]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(label[0], "block", "{label}");
    assert_eq!(label[1], "none", "{label}");
    assert!(label[2].as_f64().unwrap() >= 9.5, "chart labels {label}");
    // Client names are not broken inside a word.
    c.goto(&format!("{base}/servers/beta")).await.unwrap();
    let broken = c
        .execute(
            r#"const out = [];
for (const a of document.querySelectorAll('#client-table td.name a')) {
  for (const word of a.innerText.split(/[\s-]/)) {
    if (!word) continue;
    const i = a.innerText.indexOf(word);
    const r = document.createRange();
    r.setStart(a.firstChild, i); r.setEnd(a.firstChild, i + word.length);
    if (new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1) out.push(a.innerText);
  }
}
return out;"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(broken, json!([]), "names broken inside a word at 390 px");
    c.set_window_size(1366, 900).await.unwrap();

    // Removing a user asks first.
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    // (The changes of a user are folded under "Change NAME".)
    click(&c, Locator::XPath("//summary[text()='Change vera']")).await;
    click(
        &c,
        Locator::XPath("//tr[td[contains(., 'vera')]]//button[text()='Remove']"),
    )
    .await;
    wait_text(&c, "Remove the console user “vera”?").await;
    both_sizes(&c, "14-confirm-remove").await;
    click(&c, Locator::LinkText("Keep")).await;
    wait_text(&c, "Console users").await;
    assert!(text(&c).await.contains("vera"), "kept");
    logout(&c).await;

    // Not logged in: the login page, and an error page that leads there.
    both_sizes(&c, "15-login").await;
    c.goto(&format!("{base}/nope")).await.unwrap();
    let body = wait_text(&c, "Not found").await;
    assert!(
        body.contains("Log in") && !body.contains("Back to the overview"),
        "{body}"
    );
    both_sizes(&c, "16-not-found-logged-out").await;
    c.close().await.unwrap();
}
