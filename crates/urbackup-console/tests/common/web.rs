//! Requests to the console's router without a socket (tower `oneshot`).

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

pub fn post(path: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// The value of `name="csrf" value="..."` in a page.
pub fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + 19..];
    rest[..rest.find('"').unwrap()].to_owned()
}

pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Logs in; returns the session cookie (`urbackup_console=...`).
pub async fn login(app: &Router, user: &str, password: &str) -> String {
    let form = send(app, get("/login", "")).await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = set_cookie(&form.headers, "urbackup_console_login").unwrap();
    let token = csrf(&form.body);
    let r = send(
        app,
        post(
            "/login",
            &pre,
            &[
                ("username", user),
                ("password", password),
                ("csrf", &token),
                ("next", "/"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = set_cookie(&r.headers, "urbackup_console").expect("a session cookie");
    let raw = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("urbackup_console="))
        .unwrap();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    c
}

/// `req` as if it came from `addr` (tower's `oneshot` sets no peer address: every request a
/// test sends otherwise counts under one address for the login limit).
pub fn from_addr(mut req: Request<Body>, addr: &str) -> Request<Body> {
    let sock: std::net::SocketAddr = format!("{addr}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(sock));
    req
}

/// Sends the login form (a fresh one, with its token) for `user` and `password`, going to
/// `next`, from `addr` when given; returns the answer, whatever it is.
pub async fn attempt_login(
    app: &Router,
    user: &str,
    password: &str,
    next: &str,
    addr: Option<&str>,
) -> Reply {
    let form = send(app, get("/login", "")).await;
    let pre = set_cookie(&form.headers, "urbackup_console_login").unwrap();
    let token = csrf(&form.body);
    let req = post(
        "/login",
        &pre,
        &[
            ("username", user),
            ("password", password),
            ("csrf", &token),
            ("next", next),
        ],
    );
    let req = match addr {
        Some(a) => from_addr(req, a),
        None => req,
    };
    send(app, req).await
}
