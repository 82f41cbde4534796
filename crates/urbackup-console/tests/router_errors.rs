//! Every answer of the console is its own: every route, asked with bad path segments, bad and
//! repeated query parameters, bad bodies, wrong content types and wrong methods, by nobody,
//! a viewer and an admin, answers the console's own HTML page (an error page with the right
//! status, with the navigation for a logged-in user and a way to the login page for anybody
//! else), a redirect, or the CSV or asset it should be: never the framework's plain text,
//! never a 500.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::web::{csrf, get, login, send, Reply};
use common::{fleet, Fleet};
use std::time::Duration;

/// The routes of the console (keep in step with `web::router`).
const GETS: &[&str] = &[
    "/",
    "/servers",
    "/servers/{server}",
    "/servers/{server}/live",
    "/servers/{server}/clients/{id}",
    "/servers/{server}/clients/{id}/live",
    "/servers/{server}/clients/{id}/backups/{backup}",
    "/servers/{server}/clients/{id}/backups/{backup}/download",
    "/servers/{server}/clients/{id}/backups/{backup}/zip",
    "/servers/{server}/clients/{id}/backups/{backup}/restore",
    "/servers/{server}/clients/{id}/restores/{restore}",
    "/servers/{server}/clients/{id}/versions",
    "/servers/{server}/clients/{id}/images/{backup}",
    "/admin/audit",
    "/admin/audit.csv",
    "/compliance",
    "/compliance.csv",
    "/admin/users",
    "/admin/sessions",
    "/account",
    "/account/totp",
    "/login",
    "/login/code",
    "/assets/{file}",
    "/healthz",
];
const POSTS: &[&str] = &[
    "/servers/{server}/clients/{id}/backup",
    "/servers/{server}/clients/{id}/stop",
    "/admin/users/add",
    "/admin/users/remove",
    "/admin/users/role",
    "/admin/users/password",
    "/admin/users/scope",
    "/admin/users/totp-reset",
    "/admin/sessions/end",
    "/servers/{server}/clients/{id}/backups/{backup}/restore",
    "/account/totp/start",
    "/account/totp/confirm",
    "/login",
    "/login/code",
    "/logout",
    "/prefs/theme",
];

/// Server names that are not a server (or not text at all).
const BAD_SERVERS: &[&str] = &[
    "nope",
    "%FF",
    "%00",
    "..",
    "a%2Fb",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%E2%80%AE",
    "%C0%AF",
];
/// Client ids that are not a client.
const BAD_IDS: &[&str] = &[
    "abc",
    "-1",
    "0",
    "999999",
    "99999999999999999999999",
    "1.5",
    "0x10",
    "%FF",
    "%20",
    "1%00",
];
/// Query strings a browser, a typo or a fuzzer sends.
const QUERIES: &[&str] = &[
    "?page=-1",
    "?page=",
    "?page=abc",
    "?page=99999999999999999999999",
    "?sort=name&sort=os",
    "?q=%FF",
    "?q=%ZZ",
    "?server=a&server=b",
    "?server=%FF",
    "?next=a&next=b",
    "?next=%FF",
    "?show=%00&dir=up",
    "?=x",
    "?&&&",
    "?a[b]=c&page[]=1",
    "?q=a&q=b&show=x&show=y",
];
/// Bodies: (content type, body).
fn bodies() -> Vec<(Option<&'static str>, Vec<u8>)> {
    let form = Some("application/x-www-form-urlencoded");
    vec![
        (None, Vec::new()),
        (None, b"csrf=x&kind=incr_file".to_vec()),
        (Some("text/plain"), b"hello".to_vec()),
        (
            Some("application/json"),
            br#"{"csrf":"x","kind":"incr_file"}"#.to_vec(),
        ),
        (Some("multipart/form-data; boundary=x"), b"--x--".to_vec()),
        (form, Vec::new()),
        (form, b"action_id=abc".to_vec()),
        (form, b"action_id=1.5&csrf=x".to_vec()),
        (form, b"kind=".to_vec()),
        (form, b"csrf=a&csrf=b&kind=incr_file".to_vec()),
        (form, b"name=a&name=b&csrf=x".to_vec()),
        (form, b"%ZZ=%ZZ".to_vec()),
        (form, vec![b'n', b'a', b'm', b'e', b'=', 0xff, 0xfe]),
        (form, b"theme[]=dark&back=//evil".to_vec()),
        (
            form,
            format!("csrf=x&name={}", "a".repeat(70 * 1024)).into_bytes(),
        ),
        (form, b"username=ann&password=wrong&csrf=x".to_vec()),
    ]
}

/// Words of the framework that must never reach a user.
const FRAMEWORK: &[&str] = &[
    "Failed to deserialize",
    "Invalid URL",
    "Cannot parse",
    "Form requests must have",
    "duplicate field",
    "missing field",
    "length limit exceeded",
    "Failed to buffer",
];

fn fill(route: &str, server: &str, id: &str, file: &str) -> String {
    route
        .replace("{server}", server)
        .replace("{id}", id)
        .replace("{backup}", id)
        .replace("{restore}", id)
        .replace("{file}", file)
}

/// Who asks: (label, cookie, logged in).
struct Who {
    label: &'static str,
    cookie: String,
    logged_in: bool,
}

/// Checks one answer; returns a description of what is wrong.
fn judge(method: &Method, path: &str, who: &Who, r: &Reply) -> Option<String> {
    let ctype = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let what = format!("{method} {path} as {}: {} {ctype}", who.label, r.status);
    if r.status.is_server_error() {
        return Some(format!("{what}: a server error: {}", r.body));
    }
    if let Some(word) = FRAMEWORK.iter().find(|w| r.body.contains(*w)) {
        return Some(format!(
            "{what}: the framework's words `{word}`: {}",
            r.body
        ));
    }
    if r.status.is_redirection() {
        return match r.headers.get(header::LOCATION) {
            Some(to) if to.to_str().is_ok_and(|t| t.starts_with('/')) => None,
            other => Some(format!("{what}: a redirect to {other:?}")),
        };
    }
    let path_only = path.split('?').next().unwrap();
    if ctype.starts_with("text/html") {
        // The live parts of the client and server pages, which they fetch on the interval.
        let fragment = r.status == StatusCode::OK
            && path_only.ends_with("/live")
            && (r.body.trim_start().starts_with("<div id=\"client-live\"")
                || r.body.trim_start().starts_with("<div id=\"server-live\""));
        if fragment {
            return None;
        }
        if !(r.body.contains("· UrBackup console</title>") && r.body.contains("<main id=\"main\""))
        {
            return Some(format!("{what}: not the console's page: {}", r.body));
        }
        if r.status.is_client_error() {
            // The console's error page (or the login form again) with a way onwards.
            let nav = r.body.contains("aria-label=\"Main\"");
            let to_login =
                r.body.contains("href=\"/login\"") || r.body.contains("action=\"/login\"");
            if who.logged_in && !nav {
                return Some(format!(
                    "{what}: an error page without navigation: {}",
                    r.body
                ));
            }
            if !who.logged_in && !to_login {
                return Some(format!("{what}: no way to the login page: {}", r.body));
            }
            if !who.logged_in && r.body.contains("Back to the overview") {
                return Some(format!(
                    "{what}: the overview offered to nobody: {}",
                    r.body
                ));
            }
        }
        return None;
    }
    let fine = match (r.status, path_only) {
        (StatusCode::OK, "/compliance.csv" | "/admin/audit.csv") => ctype.starts_with("text/csv"),
        (StatusCode::OK, "/healthz") => r.body == "ok\n",
        (StatusCode::OK, p) if p.starts_with("/assets/") => {
            ctype.starts_with("text/css") || ctype.starts_with("text/javascript")
        }
        _ => false,
    };
    (!fine).then(|| format!("{what}: not the console's answer: {:?}", r.body))
}

fn request(
    method: Method,
    path: &str,
    who: &Who,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if !who.cookie.is_empty() {
        b = b.header(header::COOKIE, &who.cookie);
    }
    if let Some(c) = ctype {
        b = b.header(header::CONTENT_TYPE, c);
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn every_route_answers_with_the_consoles_own_pages() {
    let f: Fleet = fleet(Duration::from_secs(3600), 30).await;
    let app: Router = f.console.router();
    let admin = login(&app, "ann", "ann-password").await;
    let viewer = login(&app, "vera", "vera-password").await;
    let whos = [
        Who {
            label: "nobody",
            cookie: String::new(),
            logged_in: false,
        },
        Who {
            label: "a forged session",
            cookie: "urbackup_console=forged".into(),
            logged_in: false,
        },
        Who {
            label: "a viewer",
            cookie: viewer.clone(),
            logged_in: true,
        },
        Who {
            label: "an admin",
            cookie: admin.clone(),
            logged_in: true,
        },
    ];
    let id = f
        .console
        .poller()
        .snapshot()
        .server("beta")
        .unwrap()
        .clients[0]
        .id()
        .to_string();
    let mut paths: Vec<(Method, String)> = Vec::new();
    for (method, routes) in [(Method::GET, GETS), (Method::POST, POSTS)] {
        for route in routes {
            let base = fill(route, "beta", &id, "app.css");
            paths.push((method.clone(), base.clone()));
            for s in BAD_SERVERS {
                paths.push((method.clone(), fill(route, s, &id, s)));
            }
            if route.contains("{id}") {
                for bad in BAD_IDS {
                    paths.push((method.clone(), fill(route, "beta", bad, "x")));
                }
            }
            for q in QUERIES {
                paths.push((method.clone(), format!("{base}{q}")));
            }
            // The other methods.
            for other in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
            ] {
                if other != method {
                    paths.push((other, base.clone()));
                }
            }
        }
    }
    paths.push((Method::GET, "/nope".into()));
    paths.push((Method::GET, "/servers/beta/clients".into()));
    paths.push((Method::GET, "/servers/beta/clients/".into()));
    paths.push((Method::GET, "/assets/".into()));
    let mut wrong = Vec::new();
    let mut asked = 0;
    for who in &whos {
        for (method, path) in &paths {
            let body = if *method == Method::GET {
                (None, Vec::new())
            } else {
                (
                    Some("application/x-www-form-urlencoded"),
                    b"csrf=x".to_vec(),
                )
            };
            let r = send(&app, request(method.clone(), path, who, body.0, body.1)).await;
            asked += 1;
            wrong.extend(judge(method, path, who, &r));
        }
        for route in POSTS {
            let path = fill(route, "beta", &id, "x");
            for (ctype, body) in bodies() {
                let r = send(&app, request(Method::POST, &path, who, ctype, body)).await;
                asked += 1;
                wrong.extend(judge(&Method::POST, &path, who, &r));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {asked} answers are not the console's own:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // Nothing above changed anything: the sessions still work, no backup was started.
    assert_eq!(send(&app, get("/", &admin)).await.status, StatusCode::OK);
    assert_eq!(f.beta.requests("start_backup"), 0);
}

/// The status and the words of the findings of issue 25, one by one.
#[tokio::test]
async fn the_findings_have_their_own_pages() {
    let f = fleet(Duration::from_secs(3600), 30).await;
    let app = f.console.router();
    let c = login(&app, "vera", "vera-password").await;
    let token = csrf(&send(&app, get("/", &c)).await.body);
    let page = |r: &Reply| {
        assert!(
            r.body.contains("aria-label=\"Main\""),
            "navigation: {}",
            r.body
        );
        r.body
            .split("<p class=\"error-message\"")
            .nth(1)
            .map(|m| {
                m[m.find('>').unwrap() + 1..m.find("</p>").unwrap()]
                    .replace("&#39;", "'")
                    .replace("&#34;", "\"")
            })
            .unwrap_or_else(|| panic!("an error message: {}", r.body))
    };
    let r = send(&app, get("/servers/beta/clients/abc", &c)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(page(&r), "No such page: “abc” is not a client number.");
    // A bad page number is page 1.
    for q in ["-1", "", "abc"] {
        let r = send(&app, get(&format!("/servers/beta?page={q}"), &c)).await;
        assert_eq!(r.status, StatusCode::OK, "page={q}");
    }
    let r = send(&app, get("/servers/beta?sort=name&sort=os", &c)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        page(&r),
        "The address gives the parameter “sort” more than once."
    );
    let r = send(
        &app,
        request(
            Method::POST,
            "/logout",
            &Who {
                label: "",
                cookie: c.clone(),
                logged_in: true,
            },
            None,
            Vec::new(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(page(&r).contains("not sent as a web form"));
    let id = f
        .console
        .poller()
        .snapshot()
        .server("beta")
        .unwrap()
        .clients[0]
        .id();
    let r = send(
        &app,
        common::web::post(
            &format!("/servers/beta/clients/{id}/stop"),
            &c,
            &[("csrf", &token), ("action_id", "abc")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page(&r),
        "The form's field “action_id” is missing or not what it should be."
    );
    // A wrong CSRF token is not a missing one.
    let r = send(
        &app,
        common::web::post(
            "/prefs/theme",
            &c,
            &[("csrf", "not-the-token"), ("theme", "dark")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        page(&r).contains("is not the one of your session"),
        "{}",
        r.body
    );
    let r = send(
        &app,
        common::web::post("/prefs/theme", &c, &[("theme", "dark")]),
    )
    .await;
    assert!(page(&r).contains("missing its security token"));
    // 403 and 404 pages have the navigation (checked by `page`); 405 too.
    let r = send(&app, get("/admin/users", &c)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(page(&r).contains("admin role"));
    let r = send(&app, get("/logout", &c)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    page(&r);
    // Too many failed logins: someone not logged in gets the login page again, with the
    // message (issue 27), never a page with the navigation of the logged in.
    let form = send(&app, get("/login", "")).await;
    let pre = common::web::set_cookie(&form.headers, "urbackup_console_login").unwrap();
    let token = csrf(&form.body);
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            send(
                &app,
                common::web::post(
                    "/login",
                    &pre,
                    &[("username", "ann"), ("password", "wrong"), ("csrf", &token)],
                ),
            )
            .await,
        );
    }
    let r = last.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body.contains("Too many failed logins") && r.body.contains("name=\"password\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Back to the overview") && !r.body.contains("aria-label=\"Main\""));
}
