//! The console's router, page by page and role by role (tower `oneshot`, no socket), over
//! simulated servers polled for real over HTTP.

mod common;

use axum::http::{header, StatusCode};
use axum::Router;
use common::web::{csrf, get, login, post, send, set_cookie};
use common::{fleet, Fleet, FORMULA, MARKUP, USERS};
use std::time::Duration;

async fn setup() -> (Fleet, Router) {
    let f = fleet(Duration::from_secs(3600), 30).await;
    let app = f.console.router();
    (f, app)
}

fn client_id(f: &Fleet, server: &str, name: &str) -> i64 {
    common::client_id(&f.console, server, name)
}

#[tokio::test]
async fn every_page_needs_a_login() {
    let (_f, app) = setup().await;
    for path in [
        "/",
        "/servers",
        "/servers/alpha",
        "/servers/alpha/clients/1",
        "/compliance",
        "/compliance.csv",
        "/admin/users",
    ] {
        let r = send(&app, get(path, "")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        let to = r.headers[header::LOCATION].to_str().unwrap();
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
        // A made-up session is no session.
        let r = send(&app, get(path, "urbackup_console=forged")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
    }
    let r = send(
        &app,
        post(
            "/servers/alpha/clients/1/backup",
            "",
            &[("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The assets and the health check are public.
    assert_eq!(
        send(&app, get("/assets/app.css", "")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, get("/assets/htmx.min.js", "")).await.status,
        StatusCode::OK
    );
    assert_eq!(send(&app, get("/healthz", "")).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, get("/nope", "")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn login_is_checked_limited_and_needs_its_token() {
    let (_f, app) = setup().await;
    let form = send(&app, get("/login", "")).await;
    let pre = set_cookie(&form.headers, "urbackup_console_login").unwrap();
    let token = csrf(&form.body);
    // Without the login token (another site cannot read it): refused.
    let r = send(
        &app,
        post(
            "/login",
            &pre,
            &[("username", "ann"), ("password", "ann-password")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &app,
        post(
            "/login",
            "",
            &[
                ("username", "ann"),
                ("password", "ann-password"),
                ("csrf", &token),
            ],
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "the token must match the cookie"
    );
    // Wrong passwords: 401 with a message that does not say which part was wrong.
    for i in 0..5 {
        let r = send(
            &app,
            post(
                "/login",
                &pre,
                &[("username", "ann"), ("password", "wrong"), ("csrf", &token)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(r.body.contains("Wrong user name or password"));
        assert!(set_cookie(&r.headers, "urbackup_console").is_none());
    }
    // The sixth from the same address is refused before the password is checked.
    let r = send(
        &app,
        post(
            "/login",
            &pre,
            &[
                ("username", "ann"),
                ("password", "ann-password"),
                ("csrf", &token),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
}

#[tokio::test]
async fn every_role_reads_every_page_and_only_admins_manage_users() {
    let (f, app) = setup().await;
    let failed = client_id(&f, "beta", "beta-failed");
    for (user, pw, role) in USERS {
        let c = login(&app, user, pw).await;
        for path in [
            "/".to_string(),
            "/servers".into(),
            "/servers/alpha".into(),
            "/servers/beta?sort=name&dir=asc&show=attention&q=beta".into(),
            "/servers/gamma".into(),
            format!("/servers/beta/clients/{failed}"),
            "/compliance".into(),
            "/compliance?server=beta".into(),
        ] {
            let r = send(&app, get(&path, &c)).await;
            assert_eq!(r.status, StatusCode::OK, "{user} {path}: {}", r.body);
            let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
            assert!(
                r.body.contains(&format!(">{user} <span")),
                "{path}: who is logged in"
            );
        }
        let r = send(&app, get("/compliance.csv", &c)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let users = send(&app, get("/admin/users", &c)).await;
        let admin = role == urbackup_console::auth::Role::Admin;
        assert_eq!(
            users.status,
            if admin {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            },
            "{user}"
        );
        let overview = send(&app, get("/", &c)).await.body;
        assert_eq!(overview.contains("href=\"/admin/users\""), admin, "{user}");
    }
}

#[tokio::test]
async fn the_overview_puts_problems_first_and_escapes_names() {
    let (f, app) = setup().await;
    let c = login(&app, "vera", "vera-password").await;
    let page = send(&app, get("/", &c)).await.body;
    // Unreachable server, then the clients that need attention, then activities, then servers.
    let at = |s: &str| {
        page.find(s)
            .unwrap_or_else(|| panic!("{s} missing: {page}"))
    };
    assert!(at("Unreachable servers") < at("Clients that need attention"));
    assert!(at("Clients that need attention") < at("Running activities"));
    assert!(at("Running activities") < at("id=\"servers\""));
    let unreachable = &page[at("Unreachable servers")..at("Clients that need attention")];
    assert!(
        unreachable.contains(">gamma<") && unreachable.contains("badge unreachable"),
        "{unreachable}"
    );
    let attention = &page[at("Clients that need attention")..at("Running activities")];
    for name in ["beta-failed", "beta-stale", "beta-new"] {
        assert!(attention.contains(name), "{name}: {attention}");
    }
    // Healthy clients and the Linux client (images unsupported: not a problem) are not listed.
    for name in ["beta-ok", "alpha-pc", "beta-linux"] {
        assert!(
            !attention.contains(&format!(">{name}<")),
            "{name}: {attention}"
        );
    }
    // The failed client is listed before the one never backed up, and links to its page.
    assert!(attention.find("beta-failed").unwrap() < attention.find("beta-new").unwrap());
    let failed = client_id(&f, "beta", "beta-failed");
    assert!(attention.contains(&format!("href=\"/servers/beta/clients/{failed}\"")));
    // Markup in a client name is text, never markup.
    let server = send(&app, get("/servers/alpha", &c)).await.body;
    assert!(!server.contains("<script>window"), "unescaped name");
    assert!(!server.contains("<img src=x"), "unescaped name");
    let shown = |html: &str, text: &str| {
        html.contains(&format!("&#60;{text}")) || html.contains(&format!("&lt;{text}"))
    };
    assert!(shown(&server, "img src=x onerror="), "{server}");
    let id = client_id(&f, "alpha", MARKUP);
    let client = send(&app, get(&format!("/servers/alpha/clients/{id}"), &c))
        .await
        .body;
    assert!(!client.contains("<script>window") && shown(&client, "script"));
}

#[tokio::test]
async fn pages_read_the_snapshot_not_the_servers() {
    let (f, app) = setup().await;
    let c = login(&app, "vera", "vera-password").await;
    let before = (f.alpha.total_requests(), f.beta.total_requests());
    let id = client_id(&f, "beta", "beta-failed");
    for _ in 0..10 {
        for path in [
            "/".to_string(),
            "/servers/beta".into(),
            format!("/servers/beta/clients/{id}"),
            "/compliance".into(),
        ] {
            assert_eq!(send(&app, get(&path, &c)).await.status, StatusCode::OK);
        }
    }
    assert_eq!(
        (f.alpha.total_requests(), f.beta.total_requests()),
        before,
        "40 page views made no request to any server"
    );
}

#[tokio::test]
async fn the_client_page_shows_health_history_chart_and_error_logs() {
    let (f, app) = setup().await;
    let c = login(&app, "vera", "vera-password").await;
    let id = client_id(&f, "beta", "beta-failed");
    let page = send(&app, get(&format!("/servers/beta/clients/{id}"), &c))
        .await
        .body;
    assert!(
        page.contains("File backups") && page.contains("badge failed"),
        "{page}"
    );
    // The history the poller stored: a table and the size chart (an inline SVG, no script).
    assert!(page.contains("Backup history") && page.contains("<svg class=\"chart\""));
    assert!(page.matches("<circle").count() >= 5, "one dot per backup");
    assert!(page.contains("incremental") && page.contains("full"));
    // The failed backup's log, with its error line.
    assert!(page.contains("Latest logs with errors"));
    assert!(page.contains("class=\"e\""), "an error line: {page}");
    // Compliance of this client.
    assert!(page.contains("7 days:") && page.contains("90 days:"));
    // A viewer gets no start buttons.
    assert!(!page.contains("Start a backup"));
    assert!(!page.contains("name=\"kind\""));
    // An unknown client or server: 404.
    let r = send(&app, get("/servers/beta/clients/999", &c)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&app, get("/servers/nope", &c)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operators_start_and_stop_backups_viewers_and_forgeries_cannot() {
    let (f, app) = setup().await;
    f.console.start_polling();
    let id = client_id(&f, "beta", "beta-ok");
    let path = format!("/servers/beta/clients/{id}");
    let start = format!("{path}/backup");

    // A viewer: no buttons, and a POST with the viewer's own token is refused.
    let v = login(&app, "vera", "vera-password").await;
    let page = send(&app, get(&path, &v)).await.body;
    let vtoken = csrf(&page);
    let r = send(
        &app,
        post(&start, &v, &[("csrf", &vtoken), ("kind", "incr_file")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("operator role"), "{}", r.body);

    // An operator without the token, or with another session's token: refused.
    let o = login(&app, "otto", "otto-password").await;
    let page = send(&app, get(&path, &o)).await.body;
    assert!(page.contains("Start a backup") && page.contains("value=\"full_image\""));
    let otoken = csrf(&page);
    for form in [
        vec![("kind", "incr_file")],
        vec![("kind", "incr_file"), ("csrf", vtoken.as_str())],
        vec![("kind", "incr_file"), ("csrf", "")],
    ] {
        let r = send(&app, post(&start, &o, &form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    // A browser's cross-site request is refused whatever it carries.
    let mut forged = post(&start, &o, &[("csrf", &otoken), ("kind", "incr_file")]);
    forged
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&app, forged).await.status, StatusCode::FORBIDDEN);
    let mut forged = post(&start, &o, &[("csrf", &otoken), ("kind", "incr_file")]);
    forged
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        f.beta.requests("start_backup"),
        0,
        "nothing refused reached the server"
    );

    // The operator's real request: the server starts it, the page says it runs.
    let r = send(
        &app,
        post(&start, &o, &[("csrf", &otoken), ("kind", "incr_file")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(f.beta.requests("start_backup"), 1);
    let page = send(&app, get(&path, &o)).await.body;
    assert!(
        page.contains("Incremental file backup of beta-ok is running"),
        "{page}"
    );
    let live = &page[page.find("id=\"live\"").unwrap()..page.find("id=\"history\"").unwrap()];
    assert!(
        live.contains("incremental file backup") && live.contains("Stop</button>"),
        "the running backup, with its stop button: {live}"
    );
    // Recorded in the audit trail with who did it.
    assert!(page.contains("Done from this console") && page.contains(">otto<"));

    // Stop it: the server is asked, and the next poll no longer shows it.
    let snap = f.console.poller().snapshot();
    let action = snap
        .server("beta")
        .unwrap()
        .actions
        .as_ref()
        .unwrap()
        .iter()
        .find(|a| a.clientid == id)
        .expect("running")
        .id;
    let token = csrf(&page);
    // The stop asks first (a page with the same form and `confirm=yes`): nothing is sent yet.
    let r = send(
        &app,
        post(
            &format!("{path}/stop"),
            &o,
            &[("csrf", &token), ("action_id", &action.to_string())],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("Stop the incremental file backup of beta-ok")
            && r.body.contains("name=\"confirm\" value=\"yes\""),
        "{}",
        r.body
    );
    // Still running after a fresh poll: nothing was stopped.
    let snap = f.console.poll_once().await;
    assert!(snap
        .server("beta")
        .unwrap()
        .actions
        .as_ref()
        .unwrap()
        .iter()
        .any(|a| a.id == action));
    let r = send(
        &app,
        post(
            &format!("{path}/stop"),
            &o,
            &[
                ("csrf", &token),
                ("action_id", &action.to_string()),
                ("confirm", "yes"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get(&path, &o)).await.body;
    assert!(page.contains("stopped"), "{page}");
    assert!(f
        .console
        .poller()
        .snapshot()
        .server("beta")
        .unwrap()
        .actions
        .as_ref()
        .unwrap()
        .iter()
        .all(|a| a.clientid != id));

    // An image backup of a Linux client is refused by the console (the server would
    // accept and silently drop it): no false success, no request.
    let linux = client_id(&f, "beta", "beta-linux");
    let r = send(
        &app,
        post(
            &format!("/servers/beta/clients/{linux}/backup"),
            &o,
            &[("csrf", &token), ("kind", "incr_image")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get(&format!("/servers/beta/clients/{linux}"), &o))
        .await
        .body;
    assert!(
        page.contains("Not started: The client cannot do image backups."),
        "{page}"
    );
    assert_eq!(f.beta.requests("start_backup"), 1);
}

/// Automatic file backups switched off (the real server's `file_disabled`) do not stop a
/// backup started by hand: the console lets the server run it, and it is not a problem.
#[tokio::test]
async fn a_client_without_automatic_backups_can_be_started_by_hand() {
    let (f, app) = setup().await;
    f.console.start_polling();
    let id = client_id(&f, "beta", "beta-manual");
    let o = login(&app, "otto", "otto-password").await;
    let path = format!("/servers/beta/clients/{id}");
    let page = send(&app, get(&path, &o)).await.body;
    assert!(page.contains("badge disabled"), "{page}");
    assert!(page.contains("Automatic file backups are switched off"));
    assert!(
        !page.contains("disabled title="),
        "no button is off: {page}"
    );
    let overview = send(&app, get("/", &o)).await.body;
    assert!(
        !overview.contains("beta-manual"),
        "switched off is not a problem"
    );
    let r = send(
        &app,
        post(
            &format!("{path}/backup"),
            &o,
            &[("csrf", &csrf(&page)), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(f.beta.requests("start_backup"), 1);
    let page = send(&app, get(&path, &o)).await.body;
    assert!(
        page.contains("Incremental file backup of beta-manual is running"),
        "{page}"
    );
}

#[tokio::test]
async fn an_offline_client_is_not_reported_started() {
    let (f, app) = setup().await;
    let id = client_id(&f, "beta", "beta-ok");
    let o = login(&app, "otto", "otto-password").await;
    let path = format!("/servers/beta/clients/{id}");
    let token = csrf(&send(&app, get(&path, &o)).await.body);
    // The client goes offline after the last poll: the server answers start_ok false.
    f.beta.set_online("beta-ok", false);
    let r = send(
        &app,
        post(
            &format!("{path}/backup"),
            &o,
            &[("csrf", &token), ("kind", "full_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get(&path, &o)).await.body;
    assert!(
        page.contains("did not start the full file backup: the client is not connected"),
        "{page}"
    );
    assert!(page.contains("flash err"));
}

#[tokio::test]
async fn admins_manage_users_and_keep_an_admin() {
    let (_f, app) = setup().await;
    let a = login(&app, "ann", "ann-password").await;
    let token = csrf(&send(&app, get("/admin/users", &a)).await.body);
    let r = send(
        &app,
        post(
            "/admin/users/add",
            &a,
            &[
                ("csrf", &token),
                ("name", "paul"),
                ("role", "operator"),
                ("password", "paul-password"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get("/admin/users", &a)).await.body;
    assert!(page.contains("Added paul (operator)."), "{page}");
    let p = login(&app, "paul", "paul-password").await;
    assert_eq!(send(&app, get("/", &p)).await.status, StatusCode::OK);
    // A password change ends paul's sessions.
    let r = send(
        &app,
        post(
            "/admin/users/password",
            &a,
            &[
                ("csrf", &token),
                ("name", "paul"),
                ("password", "new-paul-password"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&app, get("/", &p)).await.status, StatusCode::SEE_OTHER);
    // The last admin cannot lose the role, nobody removes themselves.
    send(
        &app,
        post(
            "/admin/users/role",
            &a,
            &[("csrf", &token), ("name", "ann"), ("role", "viewer")],
        ),
    )
    .await;
    let page = send(&app, get("/admin/users", &a)).await.body;
    assert!(page.contains("last admin"), "{page}");
    send(
        &app,
        post(
            "/admin/users/remove",
            &a,
            &[("csrf", &token), ("name", "ann")],
        ),
    )
    .await;
    let page = send(&app, get("/admin/users", &a)).await.body;
    assert!(page.contains("You cannot remove yourself."), "{page}");
    // Removing asks first; the confirmation's form posts it again with `confirm=yes`.
    let r = send(
        &app,
        post(
            "/admin/users/remove",
            &a,
            &[("csrf", &token), ("name", "paul")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("Remove the console user “paul”?"),
        "{}",
        r.body
    );
    let page = send(&app, get("/admin/users", &a)).await.body;
    assert!(page.contains(">paul<"), "not removed yet: {page}");
    send(
        &app,
        post(
            "/admin/users/remove",
            &a,
            &[("csrf", &token), ("name", "paul"), ("confirm", "yes")],
        ),
    )
    .await;
    let page = send(&app, get("/admin/users", &a)).await.body;
    assert!(
        page.contains("Removed paul.") && !page.contains(">paul<"),
        "{page}"
    );
    // Without the token: refused; an operator: refused.
    let r = send(
        &app,
        post(
            "/admin/users/add",
            &a,
            &[("name", "x"), ("role", "admin"), ("password", "xxxxxxxxxx")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let o = login(&app, "otto", "otto-password").await;
    let otoken = csrf(&send(&app, get("/", &o)).await.body);
    let r = send(
        &app,
        post(
            "/admin/users/add",
            &o,
            &[
                ("csrf", &otoken),
                ("name", "x"),
                ("role", "admin"),
                ("password", "xxxxxxxxxx"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn compliance_rolls_up_and_its_csv_is_safe() {
    let (_f, app) = setup().await;
    let c = login(&app, "vera", "vera-password").await;
    let page = send(&app, get("/compliance", &c)).await.body;
    assert!(page.contains("Fleet") && page.contains("Per server"));
    assert!(
        page.contains("file backups 26 hours"),
        "the RPO: the file warning age: {page}"
    );
    // The stale clients are below 100%.
    assert!(page.contains("beta-stale"), "{page}");
    let csv = send(&app, get("/compliance.csv", &c)).await;
    assert!(csv.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next().unwrap(),
        "server,client,clientid,kind,rpo_seconds,last_backup_unix,share_7d,share_30d,share_90d,accountable_seconds_90d,accountable_seconds_7d,accountable_seconds_30d"
    );
    // A name a spreadsheet would run is quoted as text.
    assert!(
        csv.body
            .contains(&format!("\"'{}\"", FORMULA.replace('"', "\"\""))),
        "{}",
        csv.body
    );
    // Linux clients have no image RPO (unsupported): no image row.
    assert!(!csv
        .body
        .lines()
        .any(|l| l.contains("beta-linux") && l.contains(",\"image\",")));
    assert!(csv
        .body
        .lines()
        .any(|l| l.contains("beta-linux") && l.contains(",\"file\",")));
}

#[tokio::test]
async fn logout_ends_the_session_and_theme_is_a_preference() {
    let (_f, app) = setup().await;
    let c = login(&app, "vera", "vera-password").await;
    let page = send(&app, get("/servers", &c)).await.body;
    let token = csrf(&page);
    let r = send(
        &app,
        post(
            "/prefs/theme",
            &c,
            &[("csrf", &token), ("theme", "dark"), ("back", "/servers")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/servers");
    let theme = set_cookie(&r.headers, "urbackup_console_theme").unwrap();
    assert_eq!(theme, "urbackup_console_theme=dark");
    let page = send(&app, get("/servers", &format!("{c}; {theme}")))
        .await
        .body;
    assert!(page.contains("data-theme=\"dark\""));
    // `back` never leaves the console.
    let r = send(
        &app,
        post(
            "/prefs/theme",
            &c,
            &[
                ("csrf", &token),
                ("theme", "light"),
                ("back", "//evil.example/"),
            ],
        ),
    )
    .await;
    assert_eq!(r.headers[header::LOCATION], "/");
    let r = send(&app, post("/logout", &c, &[])).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "logout needs the token too"
    );
    let r = send(&app, post("/logout", &c, &[("csrf", &token)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&app, get("/", &c)).await.status, StatusCode::SEE_OTHER);
}
