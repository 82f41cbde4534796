//! Directory logins against a real OpenLDAP server (`slapd`, started by the tests in a
//! temporary directory; see `common/slapd.rs`), through the console's router: a directory
//! user logs in with the role of their groups (found through `memberOf`, or a search for
//! `member=` where the directory has no `memberOf`), their servers from `--ldap-scope`; a wrong
//! password, an unknown user, an empty password, a filter-injection name, a user in no mapped
//! group and a directory that is down or silent are each refused with the right message; the
//! login limit counts directory logins.

mod common;

use axum::http::StatusCode;
use axum::Router;
use common::slapd::{self, group, Options, Slapd};
use common::web::{attempt_login, csrf, get, login, post, send, set_cookie, Reply};
use common::{member, SIM_PASSWORD, SIM_USER};
use std::sync::Arc;
use std::time::{Duration, Instant};
use urbackup_console::auth::ldap::{BindPassword, DirectoryConfig, GroupServers};
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::PollerConfig;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

struct Setup {
    app: Router,
    console: Console,
    alpha: SimServer,
    _beta: SimServer,
    _dir: tempfile::TempDir,
}

async fn sim(name: &str) -> SimServer {
    Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .client(ClientSpec::new(name).windows().backups(3, 1))
        .start()
        .await
        .expect("simulator")
}

/// The directory's mapping of the tests: viewers, operators and admins by group, bea's branch
/// group a viewer too.
fn directory(url: &str, d: &Slapd) -> DirectoryConfig {
    let mut c = DirectoryConfig::new(url, slapd::BASE);
    c.bind_dn = Some(slapd::SERVICE_DN.into());
    c.bind_password =
        Some(BindPassword::from_file(&d.service_password_file(slapd::SERVICE_PW)).unwrap());
    c.roles = vec![
        (group("backup-viewers"), Role::Viewer),
        (group("backup-operators"), Role::Operator),
        // Spelled otherwise than the directory does: DNs compare without case and blanks.
        (
            "CN=backup-admins, ou=groups,dc=example,dc=org".into(),
            Role::Admin,
        ),
        (group("branch-beta"), Role::Viewer),
    ];
    c
}

/// A console over two simulated servers (alpha, beta) with a local admin `ann` beside the
/// directory.
async fn setup(config: DirectoryConfig) -> Setup {
    config.validate().expect("a valid directory configuration");
    let alpha = sim("alpha-pc").await;
    let beta = sim("beta-pc").await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    store.add_user("ann", Role::Admin, "ann-password").unwrap();
    let console = Console::new(
        vec![member("alpha", &alpha.url()), member("beta", &beta.url())],
        store,
        ConsoleConfig {
            poll: PollerConfig {
                interval: Duration::from_secs(3600),
                ..PollerConfig::default()
            },
            directory: Some(config),
            ..ConsoleConfig::default()
        },
    )
    .unwrap();
    console.poll_once().await;
    Setup {
        app: console.router(),
        console,
        alpha,
        _beta: beta,
        _dir: dir,
    }
}

/// One login attempt through the form, from the address every other request counts under.
async fn attempt(app: &Router, user: &str, password: &str) -> Reply {
    attempt_login(app, user, password, "/", None).await
}

/// One login attempt from an address of its own.
async fn attempt_from(app: &Router, user: &str, password: &str, addr: &str) -> Reply {
    attempt_login(app, user, password, "/", Some(addr)).await
}

#[tokio::test]
async fn directory_users_log_in_with_the_role_of_their_groups() {
    let Some(d) = Slapd::start(Options {
        memberof: true,
        tls: false,
    }) else {
        return;
    };
    let s = setup(directory(&d.url, &d)).await;
    let app = &s.app;
    // dora is a viewer: reads, may not start a backup.
    let c = login(app, "dora", "dora-directory-pw").await;
    let page = send(app, get("/", &c)).await.body;
    assert!(
        page.contains(">dora <span class=\"badge off\">viewer</span>"),
        "{page}"
    );
    let servers = send(app, get("/servers", &c)).await.body;
    assert!(servers.contains(">alpha</a>") && servers.contains(">beta</a>"));
    let id = s.alpha.client_id("alpha-pc").unwrap();
    let token = csrf(&page);
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
    // olaf operates.
    let c = login(app, "olaf", "olaf-directory-pw").await;
    let token = csrf(&send(app, get("/", &c)).await.body);
    let r = send(
        app,
        post(
            &format!("/servers/alpha/clients/{id}/backup"),
            &c,
            &[("csrf", &token), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(s.alpha.requests("start_backup"), 1);
    // adam is in the viewers and the admins: the highest role wins.
    let c = login(app, "adam", "adam-directory-pw").await;
    let users = send(app, get("/admin/users", &c)).await;
    assert_eq!(users.status, StatusCode::OK);
    for who in ["dora", "olaf", "adam"] {
        assert!(users.body.contains(who), "{who} listed");
    }
    assert!(users.body.contains("directory</span>"));
    // The local admin logs in beside the directory.
    login(app, "ann", "ann-password").await;
    // The directory decides again at the next login: dora joins the operators.
    d.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: member\nmember: uid=dora,ou=people,{}\n",
        group("backup-operators"),
        slapd::BASE
    ));
    let c = login(app, "dora", "dora-directory-pw").await;
    let page = send(app, get("/", &c)).await.body;
    assert!(
        page.contains(">dora <span class=\"badge off\">operator</span>"),
        "{page}"
    );
    let audit = s.console.store().users_audit(20).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.detail.contains("directory user dora is now operator")),
        "{audit:?}"
    );
    // Directory users keep no password here: a local login with theirs fails.
    assert!(s
        .console
        .store()
        .check_login("dora", "dora-directory-pw")
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn without_member_of_the_groups_are_found_by_member() {
    let Some(d) = Slapd::start(Options {
        memberof: false,
        tls: false,
    }) else {
        return;
    };
    let s = setup(directory(&d.url, &d)).await;
    let c = login(&s.app, "olaf", "olaf-directory-pw").await;
    let page = send(&s.app, get("/", &c)).await.body;
    assert!(
        page.contains(">olaf <span class=\"badge off\">operator</span>"),
        "{page}"
    );
    let c = login(&s.app, "adam", "adam-directory-pw").await;
    assert_eq!(
        send(&s.app, get("/admin/users", &c)).await.status,
        StatusCode::OK
    );
    // The console asked for memberOf, found none, and searched the groups.
    let log = d.log();
    assert!(
        log.contains("(|(member=uid=olaf,ou=people,dc=example,dc=org)(uniqueMember=uid=olaf,ou=people,dc=example,dc=org))"),
        "{log}"
    );
}

#[tokio::test]
async fn refusals_say_why_and_never_let_in() {
    let Some(mut d) = Slapd::start(Options {
        memberof: true,
        tls: false,
    }) else {
        return;
    };
    let s = setup(directory(&d.url, &d)).await;
    let app = &s.app;
    let wrong = |r: &Reply, what: &str| {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.body);
        assert!(r.body.contains("Wrong user name or password."), "{what}");
        assert!(
            set_cookie(&r.headers, "urbackup_console").is_none(),
            "{what}"
        );
    };
    // Each from an address of its own (five failures of one address would be refused).
    wrong(
        &attempt_from(app, "dora", "not-doras-pw", "192.0.2.1").await,
        "a wrong password",
    );
    wrong(
        &attempt_from(app, "zelda", "dora-directory-pw", "192.0.2.2").await,
        "an unknown user",
    );
    // An empty password: refused before anything reaches the directory.
    let before = d.connections();
    wrong(
        &attempt_from(app, "dora", "", "192.0.2.3").await,
        "an empty password",
    );
    assert_eq!(
        d.connections(),
        before,
        "no connection for an empty password"
    );
    // A name that would match everyone if it went into the filter as it is: escaped, it
    // matches no one, whoever's password comes with it.
    for (i, name) in ["*)(uid=*))(|(uid=*", "*", "dora)(uid=*", "do*"]
        .iter()
        .enumerate()
    {
        let from = format!("192.0.2.{}", 10 + i);
        wrong(
            &attempt_from(app, name, "dora-directory-pw", &from).await,
            name,
        );
    }
    let log = d.log();
    assert!(
        log.contains(r#"filter="(uid=\2A\29\28uid=\2A\29\29\28|\28uid=\2A)""#),
        "the escaped filter reached slapd: {log}"
    );
    assert!(!log.contains("filter=\"(uid=*)"), "{log}");
    // Let in by the password, but in no mapped group.
    let r = attempt_from(app, "nora", "nora-directory-pw", "192.0.2.20").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r
        .body
        .contains("not in a directory group that this console lets in"));
    assert!(set_cookie(&r.headers, "urbackup_console").is_none());
    // The directory stops: a clear error within a few seconds, and nothing counted.
    d.stop();
    let t = Instant::now();
    let r = attempt_from(app, "dora", "dora-directory-pw", "198.51.100.7").await;
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(
        r.body
            .contains("The directory that checks this login cannot be reached."),
        "{}",
        r.body
    );
    // Local users still log in.
    login(app, "ann", "ann-password").await;
}

#[tokio::test]
async fn the_login_limit_counts_directory_logins() {
    let Some(d) = Slapd::start(Options {
        memberof: true,
        tls: false,
    }) else {
        return;
    };
    let s = setup(directory(&d.url, &d)).await;
    let from = "203.0.113.9";
    for i in 0..5 {
        let r = attempt_from(&s.app, "olaf", "wrong-pw", from).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let binds = d.log().matches("BIND dn=\"uid=olaf").count();
    let r = attempt_from(&s.app, "olaf", "olaf-directory-pw", from).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(
        d.log().matches("BIND dn=\"uid=olaf").count(),
        binds,
        "refused before the directory was asked"
    );
    // Another address is not held back by these.
    let r = attempt_from(&s.app, "olaf", "olaf-directory-pw", "203.0.113.10").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn a_silent_directory_is_a_clear_error_within_seconds() {
    // A directory that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let mut config = DirectoryConfig::new(&url, slapd::BASE);
    config.roles = vec![(group("backup-viewers"), Role::Viewer)];
    let s = setup(config).await;
    let t = Instant::now();
    let r = attempt_from(&s.app, "dora", "dora-directory-pw", "192.0.2.50").await;
    let took = t.elapsed();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("cannot be reached"));
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(7),
        "the directory's timeout is 5 s: {took:?}"
    );
    // Not counted: the address may try again at once, and other pages answered meanwhile.
    let r = attempt_from(&s.app, "ann", "ann-password", "192.0.2.50").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    drop(silent);
}

#[tokio::test]
async fn directory_groups_give_servers() {
    let Some(d) = Slapd::start(Options {
        memberof: true,
        tls: false,
    }) else {
        return;
    };
    let mut config = directory(&d.url, &d);
    config.scopes = vec![
        (
            group("branch-beta"),
            GroupServers::Some(["beta".to_string()].into()),
        ),
        (group("backup-operators"), GroupServers::All),
    ];
    let s = setup(config).await;
    let app = &s.app;
    // bea's branch sees beta only, anywhere.
    let c = login(app, "bea", "bea-directory-pw").await;
    let page = send(app, get("/servers", &c)).await.body;
    assert!(
        page.contains(">beta</a>") && !page.contains("alpha"),
        "{page}"
    );
    let page = send(app, get("/servers/beta", &c)).await.body;
    assert!(page.contains("beta-pc"), "{page}");
    assert_eq!(
        send(app, get("/servers/alpha", &c)).await.status,
        StatusCode::NOT_FOUND
    );
    // The operators' group gives every server.
    let c = login(app, "olaf", "olaf-directory-pw").await;
    let page = send(app, get("/servers", &c)).await.body;
    assert!(page.contains(">alpha</a>") && page.contains(">beta</a>"));
    // Admins see everything whatever their groups' servers.
    let c = login(app, "adam", "adam-directory-pw").await;
    assert_eq!(
        send(app, get("/servers/alpha", &c)).await.status,
        StatusCode::OK
    );
    // dora has a role but no group that gives servers: refused, with the reason.
    let r = attempt(app, "dora", "dora-directory-pw").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("gives servers to"), "{}", r.body);
}

#[tokio::test]
async fn tls_and_starttls_with_the_directorys_ca() {
    let Some(d) = Slapd::start(Options {
        memberof: true,
        tls: true,
    }) else {
        return;
    };
    // ldaps://, trusting the test CA.
    let mut config = directory(d.ldaps_url.as_deref().unwrap(), &d);
    config.ca_file = Some(d.ca_file());
    let s = setup(config).await;
    let c = login(&s.app, "dora", "dora-directory-pw").await;
    assert_eq!(send(&s.app, get("/", &c)).await.status, StatusCode::OK);
    // StartTLS on ldap://.
    let mut config = directory(&d.url, &d);
    config.starttls = true;
    config.ca_file = Some(d.ca_file());
    let s = setup(config).await;
    login(&s.app, "olaf", "olaf-directory-pw").await;
    // Without the CA the certificate is not trusted: not checked, a clear error.
    let config = directory(d.ldaps_url.as_deref().unwrap(), &d);
    let s = setup(config).await;
    let r = attempt_from(&s.app, "dora", "dora-directory-pw", "192.0.2.60").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    // A wrong service account password is the console's error, not the user's.
    let mut config = directory(&d.url, &d);
    config.bind_password =
        Some(BindPassword::from_file(&d.service_password_file("not-the-service-pw")).unwrap());
    let s = setup(config).await;
    let r = attempt_from(&s.app, "dora", "dora-directory-pw", "192.0.2.61").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(!r.body.contains("not-the-service-pw"));
}
