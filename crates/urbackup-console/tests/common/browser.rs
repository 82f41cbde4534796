//! A real browser for the console's tests: Debian's `chromium` driven by `chromedriver`
//! (WebDriver, through `fantoccini`); screenshots go to `target/browser-screenshots/`.

#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// chromedriver on a free port, killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn driver() -> Option<(Driver, Client)> {
    driver_with(None).await
}

/// [`driver`] with downloads saved into `dir` without asking.
pub async fn driver_with_downloads(dir: &Path) -> Option<(Driver, Client)> {
    driver_with(Some(dir)).await
}

async fn driver_with(downloads: Option<&Path>) -> Option<(Driver, Client)> {
    let (Some(chromium), Some(chromedriver)) = (
        find_program(&["chromium", "chromium-browser", "google-chrome"]),
        find_program(&["chromedriver"]),
    ) else {
        if std::env::var("URBACKUP_BROWSER_TESTS").as_deref() == Ok("required") {
            panic!("URBACKUP_BROWSER_TESTS=required, but chromium or chromedriver is missing");
        }
        eprintln!("skipped: chromium and chromedriver are not installed (apt install chromium chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let d = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let mut caps = serde_json::Map::new();
    let prefs = match downloads {
        Some(dir) => json!({
            "download.default_directory": dir,
            "download.prompt_for_download": false,
            "safebrowsing.enabled": false,
        }),
        None => json!({}),
    };
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "prefs": prefs,
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                format!("--user-data-dir={}", d._profile.path().display()),
            ]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&d.url)
            .await
        {
            Ok(c) => return Some((d, c)),
            Err(e) if Instant::now() > deadline => panic!("cannot start a browser session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// The text of the page, read in one step (a page that is being replaced reads as empty
/// rather than failing on a stale element).
pub async fn text(c: &Client) -> String {
    match c
        .execute(
            "return document.body ? document.body.innerText : ''",
            vec![],
        )
        .await
    {
        Ok(v) => v.as_str().unwrap_or("").to_owned(),
        Err(_) => String::new(),
    }
}

/// Waits (at most 10 s) for the page to contain `needle`; returns its text.
pub async fn wait_text(c: &Client, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        if Instant::now() > deadline {
            let _ = shot(c, "failed-wait").await;
            panic!("no {needle:?} in the page: {t}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `at` (it must be there).
pub async fn click(c: &Client, at: Locator<'_>) {
    c.find(at).await.unwrap().click().await.unwrap();
}

/// Logs in through the form and waits for the answer: the page after the login, or the form
/// again with its message.
pub async fn login(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    let u = c.find(Locator::Id("username")).await.unwrap();
    u.clear().await.unwrap();
    u.send_keys(user).await.unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    click(c, Locator::Css("form.login button")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let away = c
            .current_url()
            .await
            .is_ok_and(|u| !u.path().starts_with("/login"));
        if away || text(c).await.contains("Wrong user name") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no answer to the login of {user}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn logout(c: &Client) {
    click(c, Locator::Id("logout")).await;
    c.wait().for_element(Locator::Id("username")).await.unwrap();
}
