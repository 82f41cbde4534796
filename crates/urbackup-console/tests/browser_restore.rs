//! Browsing, downloading, restoring and the versions of a file in a real browser (Debian's
//! chromium through chromedriver), against the console served on a socket over a simulated
//! server: an operator opens a backup, walks into a folder, downloads a file (its bytes
//! compared with the simulator's), restores it and sees the outcome, opens the versions of a
//! file and downloads an older one; a name that is not UTF-8 is listed, downloaded and
//! restored; a backed-up HTML file downloads and never runs. Screenshots of every page at
//! 1366 and 390 px wide go to `target/browser-screenshots/` (`r-*.png`).
//!
//! Without chromium and chromedriver the test says so and passes, unless
//! `URBACKUP_BROWSER_TESTS=required` (set by `.ci/run`).

mod common;

use common::browser::{click, driver_with_downloads, login, shot, text, wait_text};
use common::files::{files, EVIL, LATIN1};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Waits for one finished download in `dir`; returns its bytes and empties the folder.
async fn downloaded(dir: &Path) -> Vec<u8> {
    let t0 = Instant::now();
    loop {
        let done: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        let finished: Vec<_> = done
            .iter()
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                !n.ends_with(".crdownload") && !n.starts_with('.')
            })
            .collect();
        if finished.len() == 1 && done.len() == 1 {
            let bytes = std::fs::read(finished[0]).unwrap();
            std::fs::remove_file(finished[0]).unwrap();
            return bytes;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no download in {}: {done:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Screenshots of the page at laptop and phone width; at 390 px nothing is wider than the
/// screen (wide tables scroll in their box).
async fn shots(c: &Client, name: &str) {
    c.set_window_size(1366, 900).await.unwrap();
    shot(c, &format!("r-{name}-1366")).await;
    c.set_window_size(390, 844).await.unwrap();
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
        "{name}: page {scroll}px wide on a {inner}px screen"
    );
    shot(c, &format!("r-{name}-390")).await;
    c.set_window_size(1366, 900).await.unwrap();
}

async fn wait_stage(c: &Client, word: &str) {
    let t0 = Instant::now();
    loop {
        let stage = c
            .execute(
                "let e = document.getElementById('restore-stage'); return e ? e.textContent : ''",
                vec![],
            )
            .await
            .unwrap();
        if stage == json!(word) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the restore did not reach {word}: {}",
            text(c).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_downloads_and_restores_files_in_a_real_browser() {
    let downloads = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = driver_with_downloads(downloads.path()).await else {
        return;
    };
    let f = files(2).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = f
        .console
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let pc = f.id("home", "pc");
    let ids = f.backups("pc");
    let newest = ids[0];

    login(&c, &base, "otto", "otto-password").await;
    c.goto(&format!("{base}/servers/home/clients/{pc}"))
        .await
        .unwrap();
    // The history leads into the backups.
    click(
        &c,
        Locator::Css(&format!(
            "a[href='/servers/home/clients/{pc}/backups/{newest}']"
        )),
    )
    .await;
    wait_text(&c, &format!("File backup {newest}")).await;
    shots(&c, "01-backup-root").await;
    click(&c, Locator::LinkText("C/")).await;
    wait_text(&c, "many/").await;
    click(&c, Locator::LinkText("docs/")).await;
    let body = wait_text(&c, "plan.txt").await;
    assert!(body.contains(LATIN1), "the Latin-1 name, listed: {body}");
    shots(&c, "02-folder").await;

    // Download a file: the simulator's bytes.
    click(&c, Locator::LinkText("plan.txt")).await;
    let got = downloaded(downloads.path()).await;
    assert_eq!(
        got,
        f.home
            .backup_file("pc", newest, "/C/docs/plan.txt")
            .unwrap()
    );
    // The audit trail says it was sent whole, with its bytes.
    let t0 = Instant::now();
    loop {
        let rows = f.console.store().client_audit("home", pc, 10).unwrap();
        let row = rows.iter().find(|r| {
            r.action == "downloaded a file" && r.path.as_deref() == Some("/C/docs/plan.txt")
        });
        if let Some(r) = row.filter(|r| r.outcome.as_deref() != Some("running")) {
            assert_eq!(r.outcome.as_deref(), Some("ok"), "{r:?}");
            assert_eq!(r.bytes, Some(got.len() as i64));
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The Latin-1 name, downloaded by the name the page shows.
    click(&c, Locator::LinkText(LATIN1)).await;
    assert_eq!(downloaded(downloads.path()).await, b"Latin-1 name\n");

    // Restore the file: the confirmation, then the page that follows it to its outcome.
    c.execute(
        "document.querySelector(\"a[href*='restore?path=%2FC%2Fdocs%2Fplan.txt']\").click()",
        vec![],
    )
    .await
    .unwrap();
    wait_text(&c, "Restore to pc?").await;
    shots(&c, "03-restore-confirm").await;
    click(&c, Locator::Id("restore")).await;
    wait_stage(&c, "done").await;
    assert!(text(&c).await.contains("finished without errors"));
    shots(&c, "04-restore-done").await;

    // The Latin-1 file restored too.
    c.goto(&format!(
        "{base}/servers/home/clients/{pc}/backups/{newest}/restore?path={}",
        form_urlencoded::byte_serialize(format!("/C/docs/{LATIN1}").as_bytes()).collect::<String>()
    ))
    .await
    .unwrap();
    wait_text(&c, LATIN1).await;
    click(&c, Locator::Id("restore")).await;
    wait_stage(&c, "done").await;

    // The versions of plan.txt, and an older one downloaded.
    c.goto(&format!(
        "{base}/servers/home/clients/{pc}/backups/{newest}?path=%2FC%2Fdocs"
    ))
    .await
    .unwrap();
    c.execute(
        "document.querySelector(\"a[href*='versions?path=%2FC%2Fdocs%2Fplan.txt']\").click()",
        vec![],
    )
    .await
    .unwrap();
    let body = wait_text(&c, "Versions of /C/docs/plan.txt").await;
    assert!(body.contains("3 of 4 file backups hold it"), "{body}");
    shots(&c, "05-versions").await;
    let older = ids[2];
    click(
        &c,
        Locator::Css(&format!("#versions a[href*='/backups/{older}/download']")),
    )
    .await;
    assert_eq!(downloaded(downloads.path()).await, b"first plan\n");

    // A backed-up HTML file: downloaded, never run in the console's origin.
    c.goto(&format!(
        "{base}/servers/home/clients/{pc}/backups/{newest}?path=%2FC%2Fweb"
    ))
    .await
    .unwrap();
    click(&c, Locator::LinkText("evil.html")).await;
    assert_eq!(downloaded(downloads.path()).await, EVIL.as_bytes());
    c.goto(&format!(
        "{base}/servers/home/clients/{pc}/backups/{newest}/download?path=%2FC%2Fweb%2Fevil.html"
    ))
    .await
    .unwrap();
    assert_eq!(downloaded(downloads.path()).await, EVIL.as_bytes());
    let pwned = c
        .execute("return window.__pwned === undefined", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, json!(true));

    // A folder of 10,000 entries, paged; a search below a folder.
    c.goto(&format!(
        "{base}/servers/home/clients/{pc}/backups/{newest}?path=%2FC%2Fmany"
    ))
    .await
    .unwrap();
    wait_text(&c, "page 1 of 40").await;
    shots(&c, "06-many").await;
    c.goto(&format!(
        "{base}/servers/home/clients/{pc}/backups/{newest}?path=%2FC"
    ))
    .await
    .unwrap();
    let find = c.find(Locator::Id("find")).await.unwrap();
    find.send_keys("plan").await.unwrap();
    find.send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .unwrap();
    wait_text(&c, "Names containing").await;
    shots(&c, "07-search").await;

    // An image backup's page.
    let image = f.images("pc")[0];
    c.goto(&format!("{base}/servers/home/clients/{pc}/images/{image}"))
        .await
        .unwrap();
    wait_text(&c, "cannot be browsed here").await;
    shots(&c, "08-image").await;

    // A restore that waits for the person at the client, who refuses it.
    let shy = f.id("home", "shy");
    let shy_backup = f.backups("shy")[0];
    c.goto(&format!(
        "{base}/servers/home/clients/{shy}/backups/{shy_backup}/restore?path=%2Fetc"
    ))
    .await
    .unwrap();
    wait_text(&c, "must confirm the restore").await;
    click(&c, Locator::Id("restore")).await;
    wait_stage(&c, "waiting for the client").await;
    shots(&c, "09-restore-waiting").await;
    assert_eq!(f.home.answer_restore("shy", false), 1);
    wait_stage(&c, "failed").await;
    assert!(text(&c).await.contains("Restore was denied at the client"));
    shots(&c, "10-restore-failed").await;

    // The client page shows its part of the audit trail; an admin sees all of it.
    c.goto(&format!("{base}/servers/home/clients/{pc}"))
        .await
        .unwrap();
    let body = wait_text(&c, "Done from this console").await;
    assert!(
        body.contains("downloaded a file /C/docs/plan.txt"),
        "{body}"
    );
    assert!(
        body.contains("restored to the client /C/docs/plan.txt"),
        "{body}"
    );
    shots(&c, "11-client-audit").await;
    click(&c, Locator::Id("logout")).await;
    login(&c, &base, "ann", "ann-password").await;
    c.goto(&format!("{base}/admin/audit")).await.unwrap();
    let body = wait_text(&c, "Audit trail").await;
    assert!(body.contains("browsed a file backup") && body.contains("looked up the versions"));
    shots(&c, "12-audit").await;
    c.close().await.unwrap();
}
