//! The second factor (TOTP) and the sessions page, through the router: enrolment with a QR
//! code drawn by the console, a login in two steps, codes accepted once and a step either
//! side, recovery codes used once, wrong codes counted by the login limit, `--require-totp`,
//! an admin's reset; the open sessions listed and ended.

mod common;

use axum::http::{header, StatusCode};
use axum::Router;
use common::web::{attempt_login, csrf, from_addr, get, login, post, send, set_cookie, Reply};
use common::{member, SIM_PASSWORD, SIM_USER};
use std::sync::Arc;
use std::time::Duration;
use urbackup_console::auth::{totp, Role};
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::PollerConfig;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

struct Setup {
    app: Router,
    console: Console,
    _sim: SimServer,
    _dir: tempfile::TempDir,
}

async fn setup(require_totp: bool) -> Setup {
    let sim = Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .client(ClientSpec::new("alpha-pc").windows().backups(3, 1))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    store.add_user("ann", Role::Admin, "ann-password").unwrap();
    store
        .add_user("otto", Role::Operator, "otto-password")
        .unwrap();
    let console = Console::new(
        vec![member("alpha", &sim.url())],
        store,
        ConsoleConfig {
            poll: PollerConfig {
                interval: Duration::from_secs(3600),
                ..PollerConfig::default()
            },
            require_totp,
            ..ConsoleConfig::default()
        },
    )
    .unwrap();
    console.poll_once().await;
    Setup {
        app: console.router(),
        console,
        _sim: sim,
        _dir: dir,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The first step of a login: the password. Returns the answer and the cookies to carry on
/// (the login form's and the waiting login's).
async fn password_step(app: &Router, user: &str, password: &str, addr: &str) -> (Reply, String) {
    let r = attempt_login(app, user, password, "/servers", Some(addr)).await;
    let pending = set_cookie(&r.headers, "urbackup_console_pending").unwrap_or_default();
    (r, pending)
}

/// The second step: a code. Returns the answer.
async fn code_step(app: &Router, pending: &str, code: &str, addr: &str) -> Reply {
    let form = send(app, get("/login/code", pending)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let pre = set_cookie(&form.headers, "urbackup_console_login").unwrap();
    let token = csrf(&form.body);
    send(
        app,
        from_addr(
            post(
                "/login/code",
                &format!("{pre}; {pending}"),
                &[("code", code), ("csrf", &token)],
            ),
            addr,
        ),
    )
    .await
}

/// Enrols `cookie`'s user: returns the secret and the recovery codes.
async fn enrol(app: &Router, cookie: &str, at: u64) -> (Vec<u8>, Vec<String>) {
    let token = csrf(&send(app, get("/account", cookie)).await.body);
    let r = send(
        app,
        post("/account/totp/start", cookie, &[("csrf", &token)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(app, get("/account/totp", cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    // The QR code is an element of the page (no image from elsewhere, no data: URL), under
    // the page's strict policy.
    assert!(body.contains("<svg role=\"img\""), "{body}");
    assert!(!body.contains("data:") && !body.contains("<img"));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("img-src 'self'") && !csp.contains("data:"),
        "{csp}"
    );
    let at_secret = body.find("id=\"totp-secret\">").unwrap() + 17;
    let text: String = body[at_secret..body[at_secret..].find('<').unwrap() + at_secret]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let secret = totp::secret_bytes(&text).expect("the secret as base32 text");
    assert_eq!(secret.len(), 20);
    let token = csrf(body);
    // A wrong code: refused, nothing changes.
    let wrong = if totp::code_at(&secret, at) == "000000" {
        "111111"
    } else {
        "000000"
    };
    send(
        app,
        post(
            "/account/totp/confirm",
            cookie,
            &[("csrf", &token), ("code", wrong)],
        ),
    )
    .await;
    let again = send(app, get("/account/totp", cookie)).await.body;
    assert!(again.contains("not the one your app shows"), "{again}");
    let r = send(
        app,
        post(
            "/account/totp/confirm",
            cookie,
            &[("csrf", &token), ("code", &totp::code_at(&secret, at))],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes: Vec<String> = r
        .body
        .split("<li><code>")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), totp::RECOVERY_CODES, "{}", r.body);
    (secret, codes)
}

#[tokio::test]
async fn a_second_factor_is_enrolled_and_asked_for() {
    let s = setup(false).await;
    let app = &s.app;
    let c = login(app, "otto", "otto-password").await;
    let t0 = now();
    let (secret, codes) = enrol(app, &c, t0).await;
    let account = send(app, get("/account", &c)).await.body;
    assert!(account.contains("Recovery codes left: 10."), "{account}");
    // Only hashes are kept.
    let db = std::fs::read(s.console.store().path().unwrap()).unwrap();
    let db = String::from_utf8_lossy(&db);
    assert!(!db.contains(&codes[0]) && !db.contains(&codes[0].replace('-', "")));

    // The password alone opens no session: the code is asked for.
    let (r, pending) = password_step(app, "otto", "otto-password", "192.0.2.1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login/code");
    assert!(set_cookie(&r.headers, "urbackup_console").is_none());
    assert!(!pending.is_empty());
    let page = send(app, get("/login/code", &pending)).await.body;
    assert!(
        page.contains("Logging in as <strong>otto</strong>"),
        "{page}"
    );
    // The code of the enrolment was used: not again.
    let r = code_step(app, &pending, &totp::code_at(&secret, t0), "192.0.2.1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("Wrong code"));
    // The next step's code (a step ahead of the console's clock at most): accepted.
    let next = totp::code_at(&secret, t0 + totp::STEP);
    let r = code_step(app, &pending, &next, "192.0.2.1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/servers");
    let session = set_cookie(&r.headers, "urbackup_console").unwrap();
    assert_eq!(
        send(app, get("/servers", &session)).await.status,
        StatusCode::OK
    );
    // The waiting login is over; the same code in a new login: refused (once).
    let r = code_step_raw(app, &pending, &next).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("waited too long"), "{}", r.body);
    let (_, pending) = password_step(app, "otto", "otto-password", "192.0.2.2").await;
    let r = code_step(app, &pending, &next, "192.0.2.2").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A recovery code: once, with a word on the first page.
    let r = code_step(app, &pending, &codes[3].to_uppercase(), "192.0.2.2").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = set_cookie(&r.headers, "urbackup_console").unwrap();
    let page = send(app, get("/servers", &session)).await.body;
    assert!(page.contains("recovery code; 9 left"), "{page}");
    let (_, pending) = password_step(app, "otto", "otto-password", "192.0.2.3").await;
    let r = code_step(app, &pending, &codes[3], "192.0.2.3").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Three wrong codes end a waiting login: the password again.
    let r = code_step(app, &pending, "123456", "192.0.2.3").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = code_step_raw(app, &pending, "654321").await;
    assert!(r.body.contains("Too many wrong codes"), "{}", r.body);
}

/// A code sent without loading the code form first (the form of a waiting login that is
/// over redirects to the login page).
async fn code_step_raw(app: &Router, pending: &str, code: &str) -> Reply {
    let form = send(app, get("/login", "")).await;
    let pre = set_cookie(&form.headers, "urbackup_console_login").unwrap();
    let token = csrf(&form.body);
    send(
        app,
        from_addr(
            post(
                "/login/code",
                &format!("{pre}; {pending}"),
                &[("code", code), ("csrf", &token)],
            ),
            "192.0.2.99",
        ),
    )
    .await
}

#[tokio::test]
async fn wrong_codes_count_towards_the_login_limit() {
    let s = setup(false).await;
    let app = &s.app;
    let c = login(app, "otto", "otto-password").await;
    let t0 = now();
    let (secret, _) = enrol(app, &c, t0).await;
    let addr = "203.0.113.5";
    // Five wrong codes from one address (two waiting logins: three codes each at most).
    let mut wrong = 0;
    while wrong < 5 {
        let (r, pending) = password_step(app, "otto", "otto-password", addr).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        for _ in 0..2 {
            if wrong < 5 {
                let r = code_step(app, &pending, "000001", addr).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
                wrong += 1;
            }
        }
    }
    // The right password and the right code: refused before either is checked.
    let (r, _) = password_step(app, "otto", "otto-password", addr).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // From another address all is well.
    let (r, pending) = password_step(app, "otto", "otto-password", "203.0.113.6").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = code_step(
        app,
        &pending,
        &totp::code_at(&secret, t0 + totp::STEP),
        "203.0.113.6",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn require_totp_sends_users_to_enrol_before_anything_else() {
    let s = setup(true).await;
    let app = &s.app;
    let c = login(app, "otto", "otto-password").await;
    for path in [
        "/",
        "/servers",
        "/servers/alpha",
        "/compliance",
        "/compliance.csv",
    ] {
        let r = send(app, get(path, &c)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers[header::LOCATION], "/account/totp", "{path}");
    }
    let page = send(app, get("/account/totp", &c)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("requires a second factor"));
    let token = csrf(&page.body);
    let id = s._sim.client_id("alpha-pc").unwrap();
    let r = send(
        app,
        post(
            &format!("/servers/alpha/clients/{id}/backup"),
            &c,
            &[("csrf", &token), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("requires a second factor"), "{}", r.body);
    let t0 = now();
    let (secret, _) = enrol(app, &c, t0).await;
    assert_eq!(send(app, get("/", &c)).await.status, StatusCode::OK);
    // An admin removes it (a lost phone): otto's sessions end, and his next login enrols again.
    // Admins too.
    let a = login(app, "ann", "ann-password").await;
    let r = send(app, get("/admin/users", &a)).await;
    assert_eq!(r.headers[header::LOCATION], "/account/totp");
    enrol(app, &a, t0).await;
    let token = csrf(&send(app, get("/admin/users", &a)).await.body);
    let users = send(app, get("/admin/users", &a)).await.body;
    assert!(
        users.contains("<span class=\"badge ok\">on</span>"),
        "{users}"
    );
    let r = send(
        app,
        post(
            "/admin/users/totp-reset",
            &a,
            &[("csrf", &token), ("name", "otto")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(send(app, get("/", &c)).await.status, StatusCode::SEE_OTHER);
    let c = login(app, "otto", "otto-password").await;
    let r = send(app, get("/", &c)).await;
    assert_eq!(r.headers[header::LOCATION], "/account/totp");
    // The old secret is gone.
    let (r, _) = password_step(app, "otto", "otto-password", "192.0.2.77").await;
    assert!(set_cookie(&r.headers, "urbackup_console").is_some());
    drop(secret);
}

#[tokio::test]
async fn admins_see_the_open_sessions_and_end_them() {
    let s = setup(false).await;
    let app = &s.app;
    let a = login(app, "ann", "ann-password").await;
    let (r, _) = password_step(app, "otto", "otto-password", "198.51.100.23").await;
    let o = set_cookie(&r.headers, "urbackup_console").unwrap();
    assert_eq!(send(app, get("/", &o)).await.status, StatusCode::OK);
    let page = send(app, get("/admin/sessions", &a)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(body.contains("198.51.100.23"), "{body}");
    assert!(
        body.contains("ann <span class=\"muted\">(this one)</span>"),
        "{body}"
    );
    // The tokens never appear, only ids.
    let token_of = |cookie: &str| cookie.split_once('=').unwrap().1.to_owned();
    assert!(!body.contains(&token_of(&o)) && !body.contains(&token_of(&a)));
    let row = &body[body.find(">otto").unwrap()..];
    let at = row.find("name=\"id\" value=\"").unwrap() + 17;
    let id = &row[at..at + row[at..].find('"').unwrap()];
    // Operators may not.
    assert_eq!(
        send(app, get("/admin/sessions", &o)).await.status,
        StatusCode::FORBIDDEN
    );
    let token = csrf(body);
    let r = send(
        app,
        post("/admin/sessions/end", &a, &[("csrf", &token), ("id", id)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(app, get("/admin/sessions", &a)).await.body;
    assert!(page.contains("Session of otto ended."), "{page}");
    assert!(!page.contains("198.51.100.23"));
    // otto's next request: the login page.
    let r = send(app, get("/", &o)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    let users = send(app, get("/admin/users", &a)).await.body;
    assert!(
        users.contains("ended a session of console user otto"),
        "{users}"
    );
    // Again: it had ended.
    send(
        app,
        post("/admin/sessions/end", &a, &[("csrf", &token), ("id", id)]),
    )
    .await;
    let page = send(app, get("/admin/sessions", &a)).await.body;
    assert!(page.contains("had ended already"), "{page}");
}
