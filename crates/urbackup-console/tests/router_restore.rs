//! Browsing, downloading, restoring and the versions of a file, through the console's router
//! (tower `oneshot`; a socket for the download the server breaks off), role by role, over a
//! simulated server polled for real over HTTP. Bodies are read, not only status codes.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::files::{files, Files, EVIL, LARGE, LATIN1};
use common::web::{csrf, get, login, post, send};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use urbackup_sim::{Fault, FaultRule};

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct Scene {
    f: Files,
    app: Router,
    pc: i64,
    newest: i64,
    base: String,
}

async fn scene() -> Scene {
    let f = files(2).await;
    let app = f.console.router();
    let pc = f.id("home", "pc");
    let newest = f.backups("pc")[0];
    let base = format!("/servers/home/clients/{pc}");
    Scene {
        f,
        app,
        pc,
        newest,
        base,
    }
}

impl Scene {
    fn backup(&self) -> String {
        format!("{}/backups/{}", self.base, self.newest)
    }
    fn browse(&self, path: &str) -> String {
        format!("{}?path={}", self.backup(), enc(path))
    }
    fn download(&self, path: &str) -> String {
        format!("{}/download?path={}", self.backup(), enc(path))
    }
}

/// What a client's restores left on the simulated server: restore logs.
fn restores_on(f: &Files, name: &str) -> usize {
    let id = f.home.client_id(name).unwrap();
    f.home.with_state(|s| {
        s.logs
            .values()
            .filter(|l| l.restore && l.client_id == id)
            .count()
    })
}

#[tokio::test]
async fn a_viewer_keeps_the_lists_but_cannot_browse_download_or_restore() {
    let s = scene().await;
    let vera = login(&s.app, "vera", "vera-password").await;
    // The history is there, without links into the backups.
    let client = send(&s.app, get(&s.base, &vera)).await;
    assert_eq!(client.status, StatusCode::OK);
    assert!(client.body.contains("Backup history"));
    assert!(
        !client.body.contains("/backups/"),
        "no browse link for a viewer"
    );
    s.f.home.reset_counters();
    let image = s.f.images("pc")[0];
    for path in [
        s.backup(),
        s.browse("/C/docs"),
        format!("{}?path=%2FC&find=plan", s.backup()),
        s.download("/C/docs/plan.txt"),
        format!("{}/zip?path=%2FC%2Fdocs", s.backup()),
        format!("{}/restore?path=%2FC%2Fdocs%2Fplan.txt", s.backup()),
        format!("{}/versions?path=%2FC%2Fdocs%2Fplan.txt", s.base),
        format!("{}/images/{image}", s.base),
        format!("{}/restores/1", s.base),
        "/admin/audit".into(),
        "/admin/audit.csv".into(),
    ] {
        let r = send(&s.app, get(&path, &vera)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(r.body.contains("This needs the"), "{path}: {}", r.body);
        assert!(
            !r.body.contains("plan.txt") || path.contains("plan"),
            "{path}"
        );
        assert!(!r.body.contains("first plan"), "{path}");
    }
    let page = send(&s.app, get(&s.base, &vera)).await;
    let r = send(
        &s.app,
        post(
            &format!("{}/restore", s.backup()),
            &vera,
            &[("csrf", &csrf(&page.body)), ("path", "/C/docs/plan.txt")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.f.home.requests("backups"),
        0,
        "nothing reached the server"
    );
    assert_eq!(restores_on(&s.f, "pc"), 0);

    // An operator's client page links the history into the backups.
    let otto = login(&s.app, "otto", "otto-password").await;
    let client = send(&s.app, get(&s.base, &otto)).await.body;
    assert!(
        client.contains(&format!("href=\"{}\"", s.backup())),
        "{client}"
    );
    assert!(client.contains(&format!("{}/images/{image}", s.base)));
}

#[tokio::test]
async fn an_operator_walks_folders_sorted_filtered_and_paged() {
    let s = scene().await;
    let otto = login(&s.app, "otto", "otto-password").await;
    s.f.home.reset_counters();
    let root = send(&s.app, get(&s.backup(), &otto)).await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.body);
    assert!(root.body.contains(&format!("File backup {}", s.newest)));
    assert!(root.body.contains(">C/</a>"), "{}", root.body);
    let docs = send(&s.app, get(&s.browse("C/docs/"), &otto)).await;
    assert_eq!(docs.status, StatusCode::OK);
    // Breadcrumbs, names (a Latin-1 name in the crate's form), links that reach them.
    assert!(docs.body.contains("aria-label=\"Folder\""));
    assert!(docs.body.contains(">plan.txt</a>"));
    assert!(
        docs.body.contains(&format!(">{LATIN1}</a>")),
        "{}",
        docs.body
    );
    assert!(docs.body.contains(&enc(&format!("/C/docs/{LATIN1}"))));
    assert!(docs.body.contains("read from the server"));
    let asked = s.f.home.requests("backups");
    // Again: from the cache, no request.
    let again = send(&s.app, get(&s.browse("/C/docs"), &otto)).await;
    assert!(again
        .body
        .contains("cache (a finished backup never changes)"));
    assert_eq!(s.f.home.requests("backups"), asked);

    // 10,000 entries: 250 a page, sortable, filterable.
    let many = send(&s.app, get(&s.browse("/C/many"), &otto)).await.body;
    assert!(
        many.contains("10000 entries") && many.contains("page 1 of 40"),
        "{many}"
    );
    assert_eq!(many.matches("class=\"file\"").count(), 250);
    assert!(many.contains(">file-00001.txt<") && !many.contains(">file-00251.txt<"));
    let last = send(
        &s.app,
        get(
            &format!("{}&sort=name&dir=asc&page=40", s.browse("/C/many")),
            &otto,
        ),
    )
    .await
    .body;
    assert!(last.contains(">file-10000.txt<") && last.contains("page 40 of 40"));
    let desc = send(
        &s.app,
        get(
            &format!("{}&sort=name&dir=desc", s.browse("/C/many")),
            &otto,
        ),
    )
    .await
    .body;
    let first_row = desc.find("class=\"file\"").unwrap();
    assert!(
        desc[first_row..].starts_with("class=\"file\" href")
            && desc.contains("aria-sort=\"descending\"")
    );
    assert!(desc[first_row..first_row + 300].contains("file-10000.txt"));
    let filtered = send(
        &s.app,
        get(&format!("{}&q=FILE-0999", s.browse("/C/many")), &otto),
    )
    .await
    .body;
    assert!(filtered.contains("10 of 10000 match"), "{filtered}");
    assert_eq!(filtered.matches("class=\"file\"").count(), 10);

    // Search below a folder, bounded, with the listings it took.
    let found = send(
        &s.app,
        get(&format!("{}?path=%2FC&find=plan", s.backup()), &otto),
    )
    .await
    .body;
    assert!(found.contains("Names containing “plan”"), "{found}");
    assert!(found.contains("/C/docs/plan.txt"));
    assert!(found.contains("folder listings ("), "{found}");

    // An image backup: plainly not browsable, and what the server offers.
    let image = s.f.images("pc")[0];
    let page = send(&s.app, get(&format!("{}/images/{image}", s.base), &otto)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("cannot be browsed here"));
    assert!(page.body.contains("restore media"));
}

#[tokio::test]
async fn downloads_are_exact_attachments_that_never_render() {
    let s = scene().await;
    let otto = login(&s.app, "otto", "otto-password").await;
    let r = send(&s.app, get(&s.download("/C/web/evil.html"), &otto)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, EVIL);
    let h = |n: header::HeaderName| r.headers[n].to_str().unwrap().to_owned();
    assert_eq!(h(header::CONTENT_TYPE), "application/octet-stream");
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(h(header::CONTENT_SECURITY_POLICY).starts_with("sandbox"));
    assert_eq!(
        h(header::CONTENT_DISPOSITION),
        "attachment; filename=\"evil.html\"; filename*=UTF-8''evil.html"
    );
    assert_eq!(h(header::CONTENT_LENGTH), EVIL.len().to_string());
    assert!(!r.headers.contains_key(header::CONTENT_ENCODING));

    // A name that is not UTF-8: the bytes the server holds.
    let r = send(
        &s.app,
        get(&s.download(&format!("/C/docs/{LATIN1}")), &otto),
    )
    .await;
    assert_eq!(r.body, "Latin-1 name\n");
    assert!(r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''caf%5CxE9.txt"));

    // The large file, exact; a folder as the server's ZIP.
    let req = get(&s.download("/C/big/disk.img"), &otto);
    let res = s.app.clone().oneshot_bytes(req).await;
    assert_eq!(res.1.len() as u64, LARGE);
    assert!(
        res.1
            == s.f
                .home
                .backup_file("pc", s.newest, "/C/big/disk.img")
                .unwrap()
    );
    let zip = send(
        &s.app,
        get(&format!("{}/zip?path=%2FC%2Fdocs", s.backup()), &otto),
    )
    .await;
    assert_eq!(zip.status, StatusCode::OK);
    assert!(zip.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("filename=\"docs.zip\""));

    // Each download is in the audit trail with its bytes and how it ended.
    let ann = login(&s.app, "ann", "ann-password").await;
    let audit = send(&s.app, get("/admin/audit?action=downloaded", &ann))
        .await
        .body;
    assert!(
        audit.contains("/C/web/evil.html") && audit.contains("/C/big/disk.img"),
        "{audit}"
    );
    let csv = send(
        &s.app,
        get("/admin/audit.csv?action=downloaded+a+file", &ann),
    )
    .await;
    assert!(csv
        .body
        .starts_with("time,user,server,clientid,action,backupid,path,bytes,outcome,detail"));
    let evil_row = csv.body.lines().find(|l| l.contains("evil.html")).unwrap();
    assert!(
        evil_row.contains(&format!(",{},", EVIL.len())) && evil_row.contains(",\"ok\","),
        "{evil_row}"
    );
    let disk_row = csv.body.lines().find(|l| l.contains("disk.img")).unwrap();
    assert!(disk_row.contains(&format!(",{LARGE},")), "{disk_row}");
    assert!(!csv.body.contains("ZIP"), "filtered by action");
}

trait Oneshot {
    async fn oneshot_bytes(self, req: Request<Body>) -> (StatusCode, Vec<u8>);
}

impl Oneshot for Router {
    async fn oneshot_bytes(self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let res = self.oneshot(req).await.unwrap();
        let status = res.status();
        (
            status,
            res.into_body().collect().await.unwrap().to_bytes().to_vec(),
        )
    }
}

#[tokio::test]
async fn bad_paths_backups_and_clients_get_clear_pages_and_send_nothing() {
    let s = scene().await;
    let otto = login(&s.app, "otto", "otto-password").await;
    s.f.home.reset_counters();
    for bad in ["/C/../etc", "/C/./docs", "/C//docs", "/C/docs/x\u{1}"] {
        for path in [
            s.browse(bad),
            s.download(bad),
            format!("{}/versions?path={}", s.base, enc(bad)),
        ] {
            let r = send(&s.app, get(&path, &otto)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
            assert!(r.body.contains("The path"), "{path}: {}", r.body);
        }
    }
    assert_eq!(s.f.home.total_requests(), 0, "refused before any request");
    // A backup that does not exist, a path not in the backup, a client of another server.
    let r = send(&s.app, get(&format!("{}/backups/99999", s.base), &otto)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("has no file backup 99999"), "{}", r.body);
    let r = send(&s.app, get(&s.download("/C/docs/nope.txt"), &otto)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("holds no “/C/docs/nope.txt”"), "{}", r.body);
    let r = send(&s.app, get(&s.download("/C/docs"), &otto)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("is a folder"));
    let (x, shy) = (s.f.id("other", "x"), s.f.id("home", "shy"));
    for path in [
        format!("/servers/other/clients/{shy}/backups/{}", s.newest),
        format!("/servers/nope/clients/{}/backups/{}", s.pc, s.newest),
    ] {
        let r = send(&s.app, get(&path, &otto)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.body.contains("No server named") || r.body.contains("has no client"));
    }
    // A backup of pc asked for under the other server's client: not that client's.
    let x_backups: Vec<i64> = s.f.other.with_state(|st| {
        let id = st.client_id("x").unwrap();
        st.clients[&id].file_backups.iter().map(|b| b.id).collect()
    });
    assert!(!x_backups.contains(&s.newest));
    let r = send(
        &s.app,
        get(
            &format!("/servers/other/clients/{x}/backups/{}", s.newest),
            &otto,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(restores_on(&s.f, "pc"), 0);
}

/// Waits for the restore page to show `word` in its stage badge.
async fn wait_stage(app: &Router, path: &str, cookie: &str, word: &str) -> String {
    let t0 = Instant::now();
    loop {
        let r = send(app, get(path, cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if r.body.contains(&format!("id=\"restore-stage\">{word}<")) {
            return r.body;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no {word}: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn restores_are_confirmed_posted_with_the_token_and_followed_to_their_outcome() {
    let s = scene().await;
    let otto = login(&s.app, "otto", "otto-password").await;
    let confirm = format!("{}/restore?path={}", s.backup(), enc("/C/docs/plan.txt"));
    let page = send(&s.app, get(&confirm, &otto)).await;
    assert_eq!(page.status, StatusCode::OK);
    for what in [
        "/C/docs/plan.txt",
        "the file",
        "pc",
        &format!("File backup {}", s.newest),
        "Overwrites",
    ] {
        assert!(page.body.contains(what), "{what}: {}", page.body);
    }
    let token = csrf(&page.body);
    let action = format!("{}/restore", s.backup());
    s.f.home.reset_counters();
    // Forged: no token; another origin. Refused, nothing reaches the server.
    let r = send(
        &s.app,
        post(&action, &otto, &[("path", "/C/docs/plan.txt")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut req = post(
        &action,
        &otto,
        &[("csrf", &token), ("path", "/C/docs/plan.txt")],
    );
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    req.headers_mut()
        .insert(header::HOST, "console.example".parse().unwrap());
    let r = send(&s.app, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("another origin"));
    assert_eq!(s.f.home.total_requests(), 0);
    assert_eq!(restores_on(&s.f, "pc"), 0);

    // The real thing: followed until its log says done.
    let r = send(
        &s.app,
        post(
            &action,
            &otto,
            &[("csrf", &token), ("path", "/C/docs/plan.txt")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        status.starts_with(&format!("{}/restores/", s.base)),
        "{status}"
    );
    let done = wait_stage(&s.app, &status, &otto, "done").await;
    assert!(done.contains("finished without errors"), "{done}");
    assert!(
        !done.contains("hx-trigger"),
        "an ended restore stops refreshing"
    );
    assert_eq!(restores_on(&s.f, "pc"), 1);
    // On the client page and in the audit trail.
    let client = send(&s.app, get(&s.base, &otto)).await.body;
    assert!(
        client.contains("restored to the client /C/docs/plan.txt"),
        "{client}"
    );

    // An offline client: a clear message, nothing sent.
    let away = s.f.id("home", "away");
    let away_backup = s.f.backups("away")[0];
    let away_path = "/C";
    let page = send(
        &s.app,
        get(
            &format!("/servers/home/clients/{away}/backups/{away_backup}/restore?path=%2FC"),
            &otto,
        ),
    )
    .await;
    assert!(page.body.contains("is offline"), "{}", page.body);
    assert!(!page.body.contains("id=\"restore\""), "no button");
    s.f.home.reset_counters();
    let r = send(
        &s.app,
        post(
            &format!("/servers/home/clients/{away}/backups/{away_backup}/restore"),
            &otto,
            &[("csrf", &token), ("path", away_path)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.f.home.total_requests(),
        0,
        "nothing sent for an offline client"
    );
    assert_eq!(restores_on(&s.f, "away"), 0);

    // A client whose person must confirm: waiting, then refused there: failed, with the
    // error line of the restore's own log.
    let shy = s.f.id("home", "shy");
    let shy_backup = s.f.backups("shy")[0];
    let page = send(
        &s.app,
        get(
            &format!("/servers/home/clients/{shy}/backups/{shy_backup}/restore?path=%2Fetc"),
            &otto,
        ),
    )
    .await
    .body;
    assert!(page.contains("must confirm the restore"), "{page}");
    let r = send(
        &s.app,
        post(
            &format!("/servers/home/clients/{shy}/backups/{shy_backup}/restore"),
            &otto,
            &[("csrf", &token), ("path", "/etc")],
        ),
    )
    .await;
    let status = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    wait_stage(&s.app, &status, &otto, "waiting for the client").await;
    assert_eq!(s.f.home.answer_restore("shy", false), 1);
    let failed = wait_stage(&s.app, &status, &otto, "failed").await;
    assert!(
        failed.contains("Restore was denied at the client"),
        "{failed}"
    );

    // A restore of another client's page is not this client's.
    let r = send(
        &s.app,
        get(
            &status.replace(&format!("/clients/{shy}/"), &format!("/clients/{}/", s.pc)),
            &otto,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_versions_of_a_file_are_listed_once_and_then_from_the_cache() {
    let s = scene().await;
    let otto = login(&s.app, "otto", "otto-password").await;
    let path = format!("{}/versions?path={}", s.base, enc("/C/docs/plan.txt"));
    s.f.home.reset_counters();
    let v = send(&s.app, get(&path, &otto)).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    let ids = s.f.backups("pc");
    // Three of four backups hold it, two different.
    assert!(
        v.body.contains("3 of 4 file backups hold it · 2 different"),
        "{}",
        v.body
    );
    assert_eq!(v.body.matches("badge warning\">changed").count(), 2);
    assert_eq!(s.f.home.requests("backups"), 4, "one listing per backup");
    for id in &ids[..3] {
        assert!(v.body.contains(&format!("#{id}<")), "{id}");
    }
    assert!(!v.body.contains(&format!("#{}<", ids[3])));
    let again = send(&s.app, get(&path, &otto)).await;
    assert!(
        again.body.contains("(0 asked of the server"),
        "{}",
        again.body
    );
    assert_eq!(
        s.f.home.requests("backups"),
        4,
        "the second time from the cache"
    );
    // The older copy downloads its own content.
    let old = send(
        &s.app,
        get(
            &format!(
                "{}/backups/{}/download?path={}",
                s.base,
                ids[2],
                enc("/C/docs/plan.txt")
            ),
            &otto,
        ),
    )
    .await;
    assert_eq!(old.body, "first plan\n");
    let none = send(
        &s.app,
        get(
            &format!("{}/versions?path={}", s.base, enc("/C/docs/none.txt")),
            &otto,
        ),
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(none.body.contains("None of the 4 file backups"));
}

#[tokio::test]
async fn a_download_the_server_breaks_off_breaks_off_in_the_browser_too() {
    let s = scene().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = s
        .app
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let otto = login(&s.app, "otto", "otto-password").await;
    // The folder listing first (the console checks the path), then the download breaks off.
    let _ = send(&s.app, get(&s.browse("/C/big"), &otto)).await;
    s.f.home.inject(
        FaultRule::new(Fault::DropMidBody)
            .action("backups")
            .times(1),
    );
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nCookie: {otto}\r\nConnection: close\r\n\r\n",
            s.download("/C/big/disk.img")
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut got)).await;
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains(&format!("content-length: {LARGE}")), "{head}");
    let body = got.len() - head_end;
    assert!(
        (body as u64) < LARGE,
        "the browser sees a short body against its Content-Length: {body}"
    );
    // In the audit trail: broken off, with the bytes sent.
    let t0 = Instant::now();
    loop {
        let rows = s.f.console.store().client_audit("home", s.pc, 10).unwrap();
        if let Some(r) = rows.iter().find(|r| r.action == "downloaded a file") {
            if r.outcome.as_deref() == Some("broken off") {
                assert_eq!(r.bytes, Some(body as i64));
                break;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
