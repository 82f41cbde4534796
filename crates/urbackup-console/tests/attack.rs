//! The console under attack, over real sockets: the login limit under concurrency (requests
//! truly at once, from many loopback source addresses), bounded password hashing, slow and
//! many clients, lock-outs, forged `X-Forwarded-For`, open redirects, formula cells, weak
//! passwords, security headers on every answer, the `Host` check, sessions and cookies
//! (issue 27). Answers are counted and their bodies read.

mod common;

use common::socket::{self, get, lo, login_form, post, request, try_login, Answer, Served};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use urbackup_console::auth::{limit, Role};
use urbackup_console::{ConsoleConfig, HostCheck, ServeLimits};
use urbackup_sim::ClientSpec;

const USERS: [(&str, &str, Role); 3] = [
    ("ann", "ann-password", Role::Admin),
    ("otto", "otto-password", Role::Operator),
    ("vera", "vera-password", Role::Viewer),
];

async fn console(config: ConsoleConfig) -> Served {
    socket::serve(
        vec![
            ClientSpec::new("pc-1").windows().backups(3, 1),
            ClientSpec::new("x;=1+1;").windows().backups(2, 0),
        ],
        &USERS,
        config,
    )
    .await
}

/// Sends all `logins` (address, user, password) at once, each on its own connection with its
/// own login form fetched beforehand; the answers in the same order.
async fn at_once(to: SocketAddr, logins: Vec<(IpAddr, String, String)>) -> Vec<Answer> {
    let mut ready = Vec::new();
    for (from, user, pw) in logins {
        let (cookie, token) = login_form(from, to).await;
        let body = socket::form(&[
            ("username", &user),
            ("password", &pw),
            ("csrf", &token),
            ("next", "/"),
        ]);
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: {cookie}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // Connected and the head sent; only the body's last byte is held back.
        let mut s = socket::connect(from, to).await.unwrap();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        let last = bytes.pop().unwrap();
        s.write_all(&bytes).await.unwrap();
        ready.push((s, last));
    }
    let gate = Arc::new(tokio::sync::Barrier::new(ready.len()));
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(mut s, last)| {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.wait().await;
                s.write_all(&[last]).await.unwrap();
                let mut raw = Vec::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(120), s.read_to_end(&mut raw)).await;
                socket::parse(&raw)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

/// Item 1: 60 guesses at once from one address are not all evaluated: one is checked at a
/// time and the rest refused at once; and however they are sent, the address gets exactly
/// its five failures, after which the right password is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cannot_pass_the_limit() {
    let c = console(ConsoleConfig::default()).await;
    let attacker = lo(1, 1);
    let mut logins: Vec<_> = (0..59)
        .map(|i| (attacker, "vera".to_string(), format!("guess number {i}")))
        .collect();
    logins.push((attacker, "vera".into(), "vera-password".into()));
    let answers = at_once(c.addr, logins).await;
    let (wrong, refused, in_) = (
        count(&answers, 401),
        count(&answers, 429),
        count(&answers, 303),
    );
    assert_eq!(wrong + refused + in_, 60, "{answers:?}");
    assert!(
        wrong + in_ <= limit::FAILURES_PER_ADDRESS as usize,
        "evaluated {wrong} + {in_} of 60 sent at once"
    );
    assert!(refused >= 55);
    assert!(answers.iter().filter(|a| a.status == 429).all(|a| a
        .body
        .contains("Another login from your address is being checked")
        || a.body.contains("Too many failed logins from your address")));
    // Go on one at a time: exactly five wrong passwords are checked in all.
    let mut checked = wrong;
    loop {
        let a = try_login(attacker, c.addr, "vera", "yet another guess").await;
        match a.status {
            401 => checked += 1,
            429 => break,
            s => panic!("{s}: {}", a.body),
        }
    }
    assert_eq!(checked, limit::FAILURES_PER_ADDRESS as usize);
    let right = try_login(attacker, c.addr, "vera", "vera-password").await;
    assert_eq!(right.status, 429, "{}", right.body);
    assert!(right.header("retry-after").is_some());
    assert!(right.cookie("urbackup_console").is_none());
}

/// Item 2: 400 logins at once from 400 addresses: a bounded number is evaluated (the rest
/// answer 503 at once), and a logged-in user's page is answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_storm_is_refused_cheaply_and_pages_stay_up() {
    let c = console(ConsoleConfig::default()).await;
    let me = try_login(lo(9, 9), c.addr, "ann", "ann-password").await;
    let session = me.cookie("urbackup_console").expect("logged in");
    let logins: Vec<_> = (0..400u32)
        .map(|i| {
            (
                lo(10 + (i / 200) as u8, (i % 200) as u8 + 1),
                "ann".to_string(),
                format!("storm guess {i}"),
            )
        })
        .collect();
    let to = c.addr;
    let storm = tokio::spawn(at_once(to, logins));
    // Pages answer during the storm (their time is measured in the bench, not here).
    let mut pages = 0;
    while !storm.is_finished() {
        let p = get(lo(9, 9), to, "/", &session).await;
        assert_eq!(p.status, 200, "{}", p.body);
        pages += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answers = storm.await.unwrap();
    let (wrong, busy) = (count(&answers, 401), count(&answers, 503));
    assert_eq!(
        wrong + busy + count(&answers, 429),
        400,
        "{:?}",
        &answers[0]
    );
    // The console's rate and the hasher's queue bound what is evaluated.
    assert!(
        wrong <= limit::GLOBAL_BURST as usize + 10,
        "{wrong} of 400 evaluated"
    );
    assert!(busy >= 300, "{busy} answered busy");
    assert!(answers
        .iter()
        .filter(|a| a.status == 503)
        .all(|a| a.body.contains("busy") && a.header("retry-after").is_some()));
    assert!(pages >= 1);
    // The admin was never locked out: the right password from a clean address logs in.
    let ok = try_login(lo(30, 1), to, "ann", "ann-password").await;
    assert!(
        ok.status == 303 || ok.status == 503,
        "{}: {}",
        ok.status,
        ok.body
    );
}

/// Item 3: half-sent request heads are closed after the header-read time, connections over
/// the cap wait while over the per-address cap are closed, and `/healthz` keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_cannot_hold_the_console() {
    let c = console(ConsoleConfig {
        limits: ServeLimits {
            header_read: Duration::from_secs(2),
            max_connections: 60,
            max_per_address: 20,
            ..ServeLimits::default()
        },
        ..ConsoleConfig::default()
    })
    .await;
    // 100 connections from 10 addresses, each a half request head.
    let mut held = Vec::new();
    for i in 0..100u8 {
        if let Ok(mut s) = socket::connect(lo(40 + i / 10, i % 10 + 1), c.addr).await {
            let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
            held.push(s);
        }
    }
    let t0 = Instant::now();
    let health = tokio::time::timeout(
        Duration::from_secs(20),
        get(lo(50, 1), c.addr, "/healthz", ""),
    )
    .await
    .expect("/healthz answered while 100 half-sent requests were open");
    assert_eq!(health.status, 200);
    assert_eq!(health.body, "ok\n");
    // Every half-sent connection is closed by the console (none answered as a request).
    for mut s in held {
        let mut buf = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
        assert!(r.is_ok(), "a half-sent connection stayed open");
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    assert!(t0.elapsed() < Duration::from_secs(30));
    // One address over its own cap: its extra connections are closed at once.
    let mut mine = Vec::new();
    for _ in 0..25 {
        let mut s = socket::connect(lo(60, 1), c.addr).await.unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\n").await;
        mine.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // All read at once, well within the 2 s the open ones have for their heads.
    let reads = mine.into_iter().map(|mut s| {
        tokio::spawn(async move {
            let mut b = [0u8; 1];
            matches!(
                tokio::time::timeout(Duration::from_millis(500), s.read(&mut b)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        })
    });
    let mut closed = 0;
    for r in reads.collect::<Vec<_>>() {
        closed += r.await.unwrap() as usize;
    }
    assert_eq!(
        closed, 5,
        "the connections over 20 of one address are closed"
    );
}

/// Item 4 (and the slow-down): six wrong passwords for the admin from each of two
/// addresses, then the admin from a third address with the right one logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_elsewhere_do_not_lock_the_admin_out() {
    let c = console(ConsoleConfig::default()).await;
    for from in [lo(2, 1), lo(2, 2)] {
        for i in 0..6 {
            let a = try_login(from, c.addr, "ann", &format!("wrong {i}")).await;
            assert!(a.status == 401 || a.status == 429, "{}", a.status);
        }
    }
    let me = try_login(lo(2, 3), c.addr, "ann", "ann-password").await;
    assert_eq!(me.status, 303, "{}", me.body);
    assert!(me.cookie("urbackup_console").is_some());
}

/// Item 5: behind one proxy the address is the last entry of all `X-Forwarded-For` lines, so
/// what a client forges in the first line does not spread its failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_forwarded_for_lines_do_not_escape_the_limit() {
    let c = console(ConsoleConfig {
        trusted_proxies: 1,
        ..ConsoleConfig::default()
    })
    .await;
    let proxy = lo(3, 1);
    let mut statuses = Vec::new();
    for i in 0..12 {
        let (cookie, token) = login_form(proxy, c.addr).await;
        let forged = format!("10.0.0.{i}");
        let body = socket::form(&[
            ("username", "vera"),
            ("password", "not hers"),
            ("csrf", &token),
        ]);
        let a = request(
            proxy,
            c.addr,
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie),
                // What the client sent, then the line HAProxy's `option forwardfor` adds.
                ("X-Forwarded-For", &forged),
                ("X-Forwarded-For", "198.51.100.7"),
            ],
            &body,
        )
        .await;
        statuses.push(a.status);
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
}

/// Item 6: a successful login clears only that user's count, not the address's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_of_ones_own_does_not_reset_guessing_others() {
    let c = console(ConsoleConfig::default()).await;
    let viewer = lo(4, 1);
    let mut statuses = Vec::new();
    for i in 0..20 {
        if i % 4 == 3 {
            let me = try_login(viewer, c.addr, "vera", "vera-password").await;
            statuses.push(me.status);
        } else {
            statuses.push(
                try_login(viewer, c.addr, "ann", &format!("guess {i}"))
                    .await
                    .status,
            );
        }
    }
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(wrong, limit::FAILURES_PER_ADDRESS as usize, "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
}

/// Item 7 (and 12's CR/LF): `next` goes only to a path of the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn next_never_leaves_the_console() {
    let c = console(ConsoleConfig::default()).await;
    let me = lo(5, 1);
    for (next, to) in [
        ("/servers/hq", "/servers/hq"),
        ("/servers/hq?show=failed", "/servers/hq?show=failed"),
        ("/\t/evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/\t\t/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
    ] {
        let (cookie, token) = login_form(me, c.addr).await;
        let a = post(
            me,
            c.addr,
            "/login",
            &cookie,
            &[
                ("username", "vera"),
                ("password", "vera-password"),
                ("csrf", &token),
                ("next", next),
            ],
        )
        .await;
        assert_eq!(a.status, 303, "{next:?}: {}", a.body);
        assert_eq!(a.header("location"), Some(to), "{next:?}");
    }
    // The form's hidden field is cleaned the same way.
    let page = get(me, c.addr, "/login?next=/%09/evil.example/x", "").await;
    assert!(
        page.body.contains("name=\"next\" value=\"/\""),
        "{}",
        page.body
    );
    // A line break is a 400 page, not a 500.
    for q in ["/login?next=/x%0d%0aSet-Cookie:%20a=b", "/login?next=/x%0a"] {
        let a = get(me, c.addr, q, "").await;
        assert_eq!(a.status, 400, "{q}: {}", a.body);
        assert!(a.body.contains("line break") && a.body.contains("<!doctype html>"));
    }
}

/// Item 8: a client name that a spreadsheet splitting on `;` would run is neutralised.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compliance_csv_cells_cannot_start_formulas() {
    let c = console(ConsoleConfig::default()).await;
    let me = lo(6, 1);
    let session = try_login(me, c.addr, "vera", "vera-password")
        .await
        .cookie("urbackup_console")
        .unwrap();
    let csv = get(me, c.addr, "/compliance.csv", &session).await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.contains("\"x;'=1+1;\""), "{}", csv.body);
    assert!(!csv.body.contains(";=1+1"), "{}", csv.body);
}

/// Item 9: weak passwords are refused when an admin sets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn weak_passwords_are_refused() {
    let c = console(ConsoleConfig::default()).await;
    let me = lo(7, 1);
    let session = try_login(me, c.addr, "ann", "ann-password")
        .await
        .cookie("urbackup_console")
        .unwrap();
    let users = get(me, c.addr, "/admin/users", &session).await;
    let token = socket::csrf(&users.body);
    for (pw, why) in [
        ("        ", "too short"),
        ("            ", "white space"),
        ("short", "too short"),
        ("Password1234", "common"),
        (&"p".repeat(1025) as &str, "too long"),
        ("newuser-name", "user name"),
    ] {
        let a = post(
            me,
            c.addr,
            "/admin/users/add",
            &session,
            &[
                ("csrf", &token),
                ("name", "newuser-name"),
                ("role", "viewer"),
                ("password", pw),
            ],
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let page = get(me, c.addr, "/admin/users", &session).await;
        assert!(page.body.contains(why), "{why}: {}", page.body);
        assert!(!page.body.contains(">newuser-name<"), "added with {pw:?}");
    }
    assert!(c
        .store
        .users()
        .unwrap()
        .iter()
        .all(|u| u.name != "newuser-name"));
    // A good one is taken, and the change is in the audit trail with who made it.
    let a = post(
        me,
        c.addr,
        "/admin/users/add",
        &session,
        &[
            ("csrf", &token),
            ("name", "newuser-name"),
            ("role", "viewer"),
            ("password", "a sound passphrase"),
        ],
    )
    .await;
    assert_eq!(a.status, 303);
    let page = get(me, c.addr, "/admin/users", &session).await;
    assert!(page.body.contains("Recent changes to users"));
    assert!(
        page.body
            .contains("added console user newuser-name as viewer"),
        "{}",
        page.body
    );
    let trail = c.store.users_audit(10).unwrap();
    assert_eq!(trail[0].user, "ann");
    assert_eq!(trail[0].action, "user.add");
    // The users of the setup were added from the command line.
    assert!(trail.iter().any(|a| a.user == "(command line)"));
}

/// Item 11: the security headers are on every answer, errors included (the body limit's 413,
/// 404, 421, the login's 401 and 429).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_carries_the_security_headers() {
    let c = console(ConsoleConfig::default()).await;
    let me = lo(8, 1);
    let big = "x=".to_string() + &"a".repeat(70 * 1024);
    let answers = [
        request(
            me,
            c.addr,
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &big,
        )
        .await,
        get(me, c.addr, "/no/such/page", "").await,
        try_login(me, c.addr, "vera", "wrong password").await,
        get(me, c.addr, "/assets/app.css", "").await,
        get(me, c.addr, "/healthz", "").await,
    ];
    assert_eq!(answers[0].status, 413, "{}", answers[0].body);
    assert!(
        answers[0].body.contains("<!doctype html>"),
        "{}",
        answers[0].body
    );
    assert_eq!(answers[1].status, 404);
    assert_eq!(answers[2].status, 401);
    for a in &answers {
        assert!(
            a.header("content-security-policy").is_some(),
            "{}: {:?}",
            a.status,
            a.headers
        );
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(a.header("x-frame-options"), Some("DENY"));
        assert!(
            a.header("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
}

/// Item 12: the `Host` header, a new login ends the browser's old session, cookies end with
/// the browser unless asked to stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_sessions_and_cookies() {
    let c = console(ConsoleConfig::default()).await;
    let port = c.addr.port();
    let check = HostCheck::for_listen(c.addr);
    assert!(check.allows(&format!("127.0.0.1:{port}")));
    assert!(check.allows(&format!("localhost:{port}")));
    assert!(check.allows(&format!("LOCALHOST:{port}")));
    assert!(!check.allows(&format!("evil.example:{port}")));
    assert!(!check.allows("127.0.0.1:1"));
    let wild = HostCheck::for_listen(SocketAddr::from(([0, 0, 0, 0], 8080)));
    assert!(wild.allows("192.0.2.10:8080") && wild.allows("[2001:db8::1]:8080"));
    assert!(!wild.allows("rebind.evil.example:8080") && !wild.allows("192.0.2.10:8081"));
    let url = url::Url::parse("https://backup.example.com/").unwrap();
    assert!(HostCheck::for_url(&url)
        .unwrap()
        .allows("backup.example.com"));

    let checked = socket::serve(
        vec![ClientSpec::new("pc-1").windows()],
        &USERS,
        ConsoleConfig {
            public_hosts: HostCheck::Names(vec!["console.test".into()]),
            ..ConsoleConfig::default()
        },
    )
    .await;
    let me = lo(9, 1);
    // `request` sends a Host of its own: these are written by hand.
    let raw = |host: String, path: &'static str| {
        let to = checked.addr;
        async move {
            let mut s = socket::connect(me, to).await.unwrap();
            s.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b).await;
            socket::parse(&b)
        }
    };
    let bad = raw("rebind.evil.example".into(), "/login").await;
    assert_eq!(bad.status, 421, "{}", bad.body);
    assert!(bad.body.contains("console.test") && bad.header("content-security-policy").is_some());
    assert_eq!(raw("console.test".into(), "/login").await.status, 200);
    assert_eq!(
        raw("rebind.evil.example".into(), "/healthz").await.status,
        200
    );

    // Sessions: a second login from the same browser ends the first session.
    let me = lo(9, 2);
    let first = try_login(me, c.addr, "vera", "vera-password").await;
    let old = first.cookie("urbackup_console").unwrap();
    let line = first.cookie_line("urbackup_console").unwrap();
    assert!(
        !line.contains("Max-Age"),
        "a browser-session cookie: {line}"
    );
    assert_eq!(get(me, c.addr, "/", &old).await.status, 200);
    let (login_cookie, token) = login_form(me, c.addr).await;
    let second = post(
        me,
        c.addr,
        "/login",
        &format!("{login_cookie}; {old}"),
        &[
            ("username", "vera"),
            ("password", "vera-password"),
            ("csrf", &token),
            ("remember", "1"),
        ],
    )
    .await;
    assert_eq!(second.status, 303);
    let new = second.cookie("urbackup_console").unwrap();
    assert_ne!(new, old);
    assert!(second
        .cookie_line("urbackup_console")
        .unwrap()
        .contains("Max-Age=604800"));
    let stale = get(me, c.addr, "/", &old).await;
    assert_eq!(stale.status, 303, "the old session ended");
    assert_eq!(get(me, c.addr, "/", &new).await.status, 200);
}

/// The login limit's answers name the wait, and a wrong CSRF token is told apart from a
/// missing one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_say_what_happened() {
    let c = console(ConsoleConfig::default()).await;
    let me = lo(11, 1);
    let (cookie, _) = login_form(me, c.addr).await;
    let wrong = post(
        me,
        c.addr,
        "/login",
        &cookie,
        &[
            ("username", "vera"),
            ("password", "x"),
            ("csrf", "not the token"),
        ],
    )
    .await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.body.contains("does not match"), "{}", wrong.body);
    let missing = post(
        me,
        c.addr,
        "/login",
        "",
        &[("username", "vera"), ("password", "x")],
    )
    .await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("missing"), "{}", missing.body);
    for i in 0..5 {
        assert_eq!(
            try_login(me, c.addr, "vera", &format!("w{i}")).await.status,
            401
        );
    }
    let limited = try_login(me, c.addr, "vera", "vera-password").await;
    assert_eq!(limited.status, 429);
    assert!(limited
        .body
        .contains("Too many failed logins from your address. Try again in"));
    // The login page, not an error page with links for logged-in users.
    assert!(limited.body.contains("name=\"password\""));
}
