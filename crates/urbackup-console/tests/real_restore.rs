//! Browsing, downloading, the versions of a file and a restore through the console, against
//! a real UrBackup server (`#[ignore]`d: run with `-- --ignored`).
//!
//! ```sh
//! URBACKUP_TEST_URL=http://127.0.0.1:55414/x URBACKUP_TEST_USER=admin URBACKUP_TEST_PASSWORD=secret \
//! URBACKUP_TEST_ALLOW_WRITE=1 URBACKUP_TEST_CLIENT=laptop URBACKUP_TEST_CLIENT_DIR=/path/of/its/folder \
//!   cargo test -p urbackup-console --test real_restore -- --ignored --nocapture
//! ```
//!
//! `URBACKUP_TEST_CLIENT_DIR` is the client's backed-up folder as this machine sees it, backed
//! up as `/<its basename>`, holding `hello.txt`. The test changes `hello.txt` there and makes an
//! incremental backup, so that two backups hold two versions of it; then, as an operator in
//! the console: browses the newest backup, downloads `hello.txt` byte-exact, lists its
//! versions (both, each downloading its own content), and restores the older one, whose
//! content is then back on the client's disk. On UrBackup 2.5 also a file whose name is
//! Latin-1 (`caf\xE9-latin1.txt`): listed, downloaded byte-exact, restored. It ends with one
//! more backup, so that the newest backup holds what the disk holds; a Latin-1 file it wrote
//! itself is removed first.

mod common;

use axum::http::{header, StatusCode};
use axum::Router;
use common::web::{csrf, get, login, post, send};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use urbackup::{BackupType, LogFilter, LogLevel, ServerGeneration, UrbackupServer};
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::{Member, PollerConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An incremental file backup of the client, in a minute of its own (the server names a
/// backup's folder by its minute), waited for until listed and done; returns its id.
async fn incremental_backup(s: &UrbackupServer, name: &str, id: i64) -> i64 {
    let before = s.get_backups(id).await.unwrap();
    // A stopped or failed backup leaves its folder too: its log's time counts as well.
    let logs = s
        .get_logs(&LogFilter {
            clientids: vec![id],
            min_level: Some(LogLevel::Info),
        })
        .await
        .unwrap();
    let newest = before
        .iter()
        .map(|b| b.backuptime)
        .chain(logs.iter().filter(|l| !l.restore).map(|l| l.time))
        .max()
        .unwrap_or(0);
    let next_minute = (newest / 60 + 1) * 60 + 1;
    if now() < next_minute {
        tokio::time::sleep(Duration::from_secs((next_minute - now()) as u64)).await;
    }
    wait_until("start_backup", Duration::from_secs(60), || async {
        s.start_backup_typed(name, BackupType::IncrFile)
            .await
            .unwrap()
    })
    .await;
    wait_until("the new backup", Duration::from_secs(300), || async {
        s.get_backups(id).await.unwrap().len() > before.len()
            && s.client_actions(id).await.unwrap().is_empty()
    })
    .await;
    s.get_backups(id).await.unwrap()[0].id
}

struct Real {
    app: Router,
    console: Console,
    otto: String,
    base: String,
}

impl Real {
    fn client(&self, id: i64) -> String {
        format!("/servers/real/clients/{id}")
    }

    async fn body(&self, path: &str) -> (StatusCode, String) {
        let r = send(&self.app, get(path, &self.otto)).await;
        (r.status, r.body)
    }

    /// The bytes of a download through the console.
    async fn download(&self, id: i64, backup: i64, path: &str) -> Vec<u8> {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let req = get(
            &format!(
                "{}/backups/{backup}/download?path={}",
                self.client(id),
                enc(path)
            ),
            &self.otto,
        );
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        assert_eq!(
            status,
            StatusCode::OK,
            "{path} of {backup}: {}",
            String::from_utf8_lossy(&body)
        );
        body
    }

    /// Restores `path` of `backup` through the confirmation and the POST; follows the
    /// restore's page until it has ended; returns that page.
    async fn restore(&self, id: i64, backup: i64, path: &str) -> String {
        let confirm = format!(
            "{}/backups/{backup}/restore?path={}",
            self.client(id),
            enc(path)
        );
        let (status, page) = self.body(&confirm).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("id=\"restore\""), "a restore button: {page}");
        let r = send(
            &self.app,
            post(
                &format!("{}/backups/{backup}/restore", self.client(id)),
                &self.otto,
                &[("csrf", &csrf(&page)), ("path", path)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let status = r.headers[header::LOCATION].to_str().unwrap().to_owned();
        let t0 = Instant::now();
        loop {
            let (_, page) = self.body(&status).await;
            if !page.contains("hx-trigger=\"every 2s\"") {
                return page;
            }
            assert!(t0.elapsed() < Duration::from_secs(240), "{page}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real UrBackup server: URBACKUP_TEST_URL (run with -- --ignored)"]
async fn browse_download_versions_and_restore_against_a_real_server() {
    let url =
        env("URBACKUP_TEST_URL").expect("URBACKUP_TEST_URL is not set: no real server to test");
    let (Some("1"), Some(client), Some(dir)) = (
        env("URBACKUP_TEST_ALLOW_WRITE").as_deref(),
        env("URBACKUP_TEST_CLIENT"),
        env("URBACKUP_TEST_CLIENT_DIR"),
    ) else {
        panic!(
            "set URBACKUP_TEST_ALLOW_WRITE=1, URBACKUP_TEST_CLIENT and URBACKUP_TEST_CLIENT_DIR"
        );
    };
    let server = UrbackupServer::builder(&url)
        .credentials(
            &env("URBACKUP_TEST_USER").unwrap_or_default(),
            &env("URBACKUP_TEST_PASSWORD").unwrap_or_default(),
        )
        .build()
        .unwrap();
    let c = server.get_client_status_by_name(&client).await.unwrap();
    assert!(c.online, "{client} must be online");
    let id = c.id;
    let generation = server.server_generation().await.unwrap();
    let dir = PathBuf::from(dir);
    let base = format!("/{}", dir.file_name().unwrap().to_string_lossy());
    let hello = dir.join("hello.txt");
    let original = std::fs::read(&hello).expect("hello.txt in URBACKUP_TEST_CLIENT_DIR");

    // Two versions of hello.txt: the newest backup holds what the disk holds now; a new one
    // holds a changed hello.txt (and, on 2.5, the Latin-1 file).
    let before = incremental_backup(&server, &client, id).await;
    let latin1 = dir.join(std::ffi::OsStr::from_bytes(b"caf\xE9-latin1.txt"));
    let latin1_content = b"Latin-1 name, caf\xE9\n".to_vec();
    let wrote_latin1 = generation == Some(ServerGeneration::V2_5) && !latin1.exists();
    if wrote_latin1 {
        std::fs::write(&latin1, &latin1_content).unwrap();
    }
    let changed = format!("changed by the console's real-server test at {}\n", now());
    std::fs::write(&hello, &changed).unwrap();
    let after = incremental_backup(&server, &client, id).await;
    eprintln!("backups: {before} (original hello.txt), {after} (changed)");

    let store =
        Arc::new(Store::open(&tempfile::tempdir().unwrap().keep().join("c.sqlite3")).unwrap());
    store
        .add_user("otto", Role::Operator, "otto-password")
        .unwrap();
    let console = Console::new(
        vec![Member::new("real", server.clone())],
        store,
        ConsoleConfig {
            poll: PollerConfig {
                interval: Duration::from_secs(3600),
                ..PollerConfig::default()
            },
            ..ConsoleConfig::default()
        },
    )
    .unwrap();
    console.poll_once().await;
    let app = console.router();
    let otto = login(&app, "otto", "otto-password").await;
    let r = Real {
        app,
        console,
        otto,
        base: base.clone(),
    };

    // Browse the newest backup: its root, then the client's folder.
    let (status, root) = r.body(&format!("{}/backups/{after}", r.client(id))).await;
    assert_eq!(status, StatusCode::OK, "{root}");
    assert!(root.contains(&format!(">{}/</a>", &base[1..])), "{root}");
    let (_, folder) = r
        .body(&format!(
            "{}/backups/{after}?path={}",
            r.client(id),
            enc(&base)
        ))
        .await;
    assert!(
        folder.contains(">hello.txt</a>") && folder.contains(">sub/</a>"),
        "{folder}"
    );

    // hello.txt byte-exact from each backup.
    let path = format!("{}/hello.txt", r.base);
    assert_eq!(r.download(id, after, &path).await, changed.as_bytes());
    assert_eq!(r.download(id, before, &path).await, original);

    // Its versions: both, newest first, the newest marked changed.
    let (status, v) = r
        .body(&format!("{}/versions?path={}", r.client(id), enc(&path)))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (at_after, at_before) = (
        v.find(&format!("#{after}<"))
            .expect("the new backup listed"),
        v.find(&format!("#{before}<"))
            .expect("the older backup listed"),
    );
    assert!(at_after < at_before, "newest first");
    let row = &v[at_after..at_before];
    assert!(row.contains("badge warning\">changed"), "{row}");
    eprintln!(
        "versions: {}",
        v.split("<p class=\"meta\">")
            .nth(2)
            .unwrap_or("")
            .split('<')
            .next()
            .unwrap_or("")
    );

    // Restore the older version: its content is back on the client's disk.
    let done = r.restore(id, before, &path).await;
    assert!(done.contains("id=\"restore-stage\">done<"), "{done}");
    assert_eq!(
        std::fs::read(&hello).unwrap(),
        original,
        "restored on the client's disk"
    );
    eprintln!("hello.txt restored from backup {before}");

    // On 2.5: the Latin-1 name, listed, downloaded byte-exact, restored after a change.
    if generation == Some(ServerGeneration::V2_5) {
        let shown = r"caf\xE9-latin1.txt";
        assert!(folder.contains(&format!(">{shown}</a>")), "{folder}");
        let lpath = format!("{}/{shown}", r.base);
        let got = r.download(id, after, &lpath).await;
        assert_eq!(got, latin1_content, "byte-exact");
        std::fs::write(&latin1, b"changed by urbackup-rs\n").unwrap();
        let done = r.restore(id, after, &lpath).await;
        assert!(done.contains("id=\"restore-stage\">done<"), "{done}");
        assert_eq!(std::fs::read(&latin1).unwrap(), latin1_content, "restored");
        eprintln!("{shown}: downloaded and restored");
    }

    // In the audit trail.
    let rows = r.console.store().client_audit("real", id, 50).unwrap();
    for action in [
        "browsed a file backup",
        "downloaded a file",
        "looked up the versions of a file",
        "restored to the client",
    ] {
        assert!(
            rows.iter().any(|a| a.action == action && a.ok),
            "{action}: {rows:?}"
        );
    }

    // Leave the folder as found, and the newest backup holding it.
    if wrote_latin1 {
        std::fs::remove_file(&latin1).unwrap();
    }
    let last = incremental_backup(&server, &client, id).await;
    eprintln!("backup {last} holds the folder as it was found");
}
