//! Scoped console users, page by page (tower `oneshot`, no socket), over simulated servers
//! polled for real over HTTP: a user scoped to one server and one group sees no name, count
//! or row of anything else, on any page, fragment or CSV; every action outside the scope is a
//! 404 like an unknown one and sends nothing to any server.

mod common;

use axum::http::StatusCode;
use axum::Router;
use common::web::{csrf, get, login, post, send};
use common::{member, SIM_PASSWORD, SIM_USER};
use std::sync::Arc;
use std::time::Duration;
use urbackup::HealthPolicy;
use urbackup_console::auth::{Role, Scope};
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::PollerConfig;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

/// Names that only exist outside sam's scope (alpha's `lab` group and default group, all of
/// beta, the dead gamma), as they would appear in a page.
const OUTSIDE: [&str; 8] = [
    "lab-secret",
    "lab-idle",
    "default-box",
    "beta",
    "beta-hidden",
    "gamma",
    ">lab<",
    "/servers/beta",
];

struct Scoped {
    alpha: SimServer,
    beta: SimServer,
    console: Console,
    app: Router,
    _dir: tempfile::TempDir,
}

async fn sim(clients: Vec<ClientSpec>) -> SimServer {
    let mut b = Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(3600));
    for c in clients {
        b = b.client(c);
    }
    b.start().await.expect("simulator")
}

/// alpha: two clients of group `office` (one failed), two of group `lab` (one failed, one with
/// a running backup), one of the default group (failed); beta: a failed client; gamma: no
/// answer. Users: ann (admin), sam (operator: alpha, group office), bob (viewer: beta), vic
/// (viewer: alpha, every group).
async fn setup() -> Scoped {
    let alpha = sim(vec![
        ClientSpec::new("office-pc")
            .windows()
            .backups(5, 2)
            .group("office"),
        ClientSpec::new("office-failed")
            .windows()
            .backups(4, 1)
            .group("office")
            .last_backup_failed(),
        ClientSpec::new("lab-secret")
            .windows()
            .backups(3, 1)
            .group("lab")
            .last_backup_failed(),
        ClientSpec::new("lab-idle")
            .windows()
            .backups(3, 1)
            .group("lab")
            .running_backup(Duration::from_secs(3600)),
        ClientSpec::new("default-box")
            .windows()
            .backups(2, 1)
            .last_backup_failed(),
    ])
    .await;
    let beta = sim(vec![ClientSpec::new("beta-hidden")
        .windows()
        .backups(4, 1)
        .last_backup_failed()])
    .await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    store.add_user("ann", Role::Admin, "ann-password").unwrap();
    store
        .add_user_scoped(
            "sam",
            Role::Operator,
            "sam-password",
            &Scope::servers(["alpha"]).with_groups(["office"]),
        )
        .unwrap();
    store
        .add_user_scoped(
            "bob",
            Role::Viewer,
            "bob-password",
            &Scope::servers(["beta"]),
        )
        .unwrap();
    store
        .add_user_scoped(
            "vic",
            Role::Viewer,
            "vic-password",
            &Scope::servers(["alpha"]),
        )
        .unwrap();
    let config = ConsoleConfig {
        policy: HealthPolicy {
            file_warning: Some(26 * 3600),
            file_critical: Some(3 * 86_400),
            ..HealthPolicy::default()
        },
        poll: PollerConfig {
            interval: Duration::from_secs(3600),
            ..PollerConfig::default()
        },
        ..ConsoleConfig::default()
    };
    let console = Console::new(
        vec![
            member("alpha", &alpha.url()),
            member("beta", &beta.url()),
            member("gamma", &dead),
        ],
        store,
        config,
    )
    .unwrap();
    console.poll_once().await;
    let app = console.router();
    Scoped {
        alpha,
        beta,
        console,
        app,
        _dir: dir,
    }
}

fn id(s: &Scoped, server: &str, name: &str) -> i64 {
    s.console
        .poller()
        .snapshot()
        .server(server)
        .unwrap()
        .clients
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no {name} on {server}"))
        .id()
}

/// The number in the overview card before `label`.
fn card(page: &str, label: &str) -> String {
    let at = page
        .find(&format!("</span>{label}<"))
        .unwrap_or_else(|| panic!("no card {label}"));
    let before = &page[..at];
    before[before.rfind("<span class=\"n\">").unwrap() + 16..].to_owned()
}

fn assert_nothing_outside(path: &str, body: &str) {
    for name in OUTSIDE {
        assert!(
            !body.contains(name),
            "{path}: {name:?} is outside sam's scope but in the page:\n{body}"
        );
    }
}

#[tokio::test]
async fn a_scoped_user_sees_nothing_outside_their_scope_on_any_page() {
    let s = setup().await;
    let app = &s.app;
    // The world as the admin sees it: everything is there (so its absence below means something).
    let a = login(app, "ann", "ann-password").await;
    let all = send(app, get("/", &a)).await.body;
    for name in [
        "lab-secret",
        "default-box",
        "beta-hidden",
        "gamma",
        "office-failed",
    ] {
        assert!(all.contains(name), "admin's overview lacks {name}");
    }
    assert_eq!(card(&all, "clients"), "6");
    assert_eq!(card(&all, "need attention"), "4");
    assert_eq!(card(&all, "running activities"), "1");

    let c = login(app, "sam", "sam-password").await;
    let office = id(&s, "alpha", "office-failed");
    let pc = id(&s, "alpha", "office-pc");
    for path in [
        "/".to_string(),
        "/servers".into(),
        "/servers/alpha".into(),
        "/servers/alpha?show=attention".into(),
        "/servers/alpha?sort=group&dir=desc".into(),
        "/servers/alpha?q=lab".into(),
        format!("/servers/alpha/clients/{office}"),
        format!("/servers/alpha/clients/{pc}"),
        "/compliance".into(),
        "/compliance?server=alpha".into(),
        "/compliance.csv".into(),
        "/account".into(),
    ] {
        let r = send(app, get(&path, &c)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_nothing_outside(&path, &r.body);
    }
    // What is in scope is there, with counts of the scope only.
    let page = send(app, get("/", &c)).await.body;
    assert!(page.contains("office-failed") && page.contains("/servers/alpha"));
    assert_eq!(card(&page, "servers reachable"), "1/1");
    assert_eq!(card(&page, "clients"), "2");
    assert_eq!(card(&page, "need attention"), "1");
    assert_eq!(
        card(&page, "running activities"),
        "0",
        "lab-idle's backup is outside"
    );
    assert!(
        page.contains("alpha (groups: office)"),
        "the header says the scope"
    );
    let servers = send(app, get("/servers", &c)).await.body;
    assert!(servers.contains(">alpha</a>"));
    let server = send(app, get("/servers/alpha", &c)).await.body;
    assert!(server.contains("office-pc") && server.contains("office-failed"));
    assert!(server.contains("2 of 2 clients"), "{server}");
    let csv = send(app, get("/compliance.csv", &c)).await.body;
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r.starts_with("\"alpha\",\"office-")),
        "{csv}"
    );

    // A user scoped to a whole server sees all of its groups, and nothing of the others.
    let v = login(app, "vic", "vic-password").await;
    let page = send(app, get("/servers/alpha", &v)).await.body;
    for name in ["lab-secret", "lab-idle", "default-box", "office-pc"] {
        assert!(page.contains(name), "vic should see {name}");
    }
    let page = send(app, get("/", &v)).await.body;
    assert!(!page.contains("beta-hidden") && !page.contains("gamma"));
    assert_eq!(card(&page, "running activities"), "1");
    assert_eq!(card(&page, "clients"), "5");
}

#[tokio::test]
async fn outside_the_scope_is_a_404_word_for_word_like_an_unknown_one() {
    let s = setup().await;
    let app = &s.app;
    let c = login(app, "sam", "sam-password").await;
    let lab = id(&s, "alpha", "lab-secret");
    let hidden = id(&s, "beta", "beta-hidden");
    let unknown_server = send(app, get("/servers/nowhere", &c)).await;
    assert_eq!(unknown_server.status, StatusCode::NOT_FOUND);
    for name in ["beta", "gamma"] {
        let r = send(app, get(&format!("/servers/{name}"), &c)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
        assert_eq!(
            r.body.replace(name, "nowhere"),
            unknown_server.body,
            "{name}: the same page as for a server that does not exist"
        );
        let r = send(app, get(&format!("/servers/{name}/clients/{hidden}"), &c)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
    }
    let unknown_client = send(app, get("/servers/alpha/clients/99999", &c)).await;
    assert_eq!(unknown_client.status, StatusCode::NOT_FOUND);
    for other in [
        lab,
        id(&s, "alpha", "default-box"),
        id(&s, "alpha", "lab-idle"),
    ] {
        let r = send(app, get(&format!("/servers/alpha/clients/{other}"), &c)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            r.body
                .replace(&format!("with id {other}."), "with id 99999.")
                .replace(&format!("clients/{other}\""), "clients/99999\""),
            unknown_client.body
        );
        assert!(!r.body.contains("lab-"), "{}", r.body);
    }
}

#[tokio::test]
async fn actions_outside_the_scope_are_404s_that_send_nothing() {
    let s = setup().await;
    let app = &s.app;
    let c = login(app, "sam", "sam-password").await;
    let token = csrf(&send(app, get("/", &c)).await.body);
    let lab = id(&s, "alpha", "lab-secret");
    let idle = id(&s, "alpha", "lab-idle");
    let hidden = id(&s, "beta", "beta-hidden");
    let office = id(&s, "alpha", "office-pc");
    // lab-idle's running backup, as the admin sees it.
    let running = s
        .console
        .poller()
        .snapshot()
        .server("alpha")
        .unwrap()
        .actions
        .as_ref()
        .unwrap()
        .iter()
        .find(|a| a.clientid == idle)
        .expect("lab-idle's backup runs")
        .id
        .to_string();
    let (a0, b0) = (s.alpha.total_requests(), s.beta.total_requests());
    for (path, form) in [
        (
            format!("/servers/alpha/clients/{lab}/backup"),
            vec![("csrf", token.as_str()), ("kind", "incr_file")],
        ),
        (
            format!("/servers/beta/clients/{hidden}/backup"),
            vec![("csrf", token.as_str()), ("kind", "full_file")],
        ),
        (
            "/servers/gamma/clients/1/backup".to_string(),
            vec![("csrf", token.as_str()), ("kind", "full_file")],
        ),
        (
            format!("/servers/alpha/clients/{idle}/stop"),
            vec![("csrf", token.as_str()), ("action_id", running.as_str())],
        ),
        (
            format!("/servers/beta/clients/{hidden}/stop"),
            vec![("csrf", token.as_str()), ("action_id", "1")],
        ),
    ] {
        let r = send(app, post(&path, &c, &form)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(!r.body.contains("lab-") && !r.body.contains("beta-hidden"));
    }
    // Another client's action, through a client in scope: not found among its own actions.
    let r = send(
        app,
        post(
            &format!("/servers/alpha/clients/{office}/stop"),
            &c,
            &[
                ("csrf", &token),
                ("action_id", &running),
                ("confirm", "yes"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        (s.alpha.total_requests(), s.beta.total_requests()),
        (a0, b0),
        "nothing was sent to any server"
    );
    let page = send(app, get(&format!("/servers/alpha/clients/{office}"), &c))
        .await
        .body;
    assert!(page.contains("not running"), "{page}");
    // lab-idle's backup still runs.
    assert!(s
        .alpha
        .with_state(|st| st.processes.iter().any(|p| p.client_id == idle)));
    // In scope, the same operator acts: the request reaches the server.
    let r = send(
        app,
        post(
            &format!("/servers/alpha/clients/{office}/backup"),
            &c,
            &[("csrf", &token), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(s.alpha.requests("start_backup"), 1);
    assert_eq!(s.beta.total_requests(), b0);
}

/// The files of a client outside the scope (browse, download, ZIP, restore, versions, image
/// backups, a restore's page): the 404 of an unknown client, word for word, and nothing sent.
#[tokio::test]
async fn the_files_of_clients_outside_the_scope_are_404s_that_send_nothing() {
    let s = setup().await;
    let app = &s.app;
    let c = login(app, "sam", "sam-password").await;
    let token = csrf(&send(app, get("/", &c)).await.body);
    let lab = id(&s, "alpha", "lab-secret");
    let hidden = id(&s, "beta", "beta-hidden");
    let office = id(&s, "alpha", "office-pc");
    let gets = |server: &str, client: i64| {
        let base = format!("/servers/{server}/clients/{client}");
        vec![
            format!("{base}/backups/1?path=/"),
            format!("{base}/backups/1/download?path=/C/a.txt"),
            format!("{base}/backups/1/zip?path=/"),
            format!("{base}/backups/1/restore?path=/C/a.txt"),
            format!("{base}/versions?path=/C/a.txt"),
            format!("{base}/images/1"),
            format!("{base}/restores/1"),
        ]
    };
    let (a0, b0) = (s.alpha.total_requests(), s.beta.total_requests());
    for (server, client) in [("alpha", lab), ("beta", hidden)] {
        for (path, unknown) in gets(server, client).into_iter().zip(gets(server, 999_999)) {
            let r = send(app, get(&path, &c)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
            // (The page of a server outside the scope repeats the name the URL gave, as for
            // an unknown server.)
            if server == "alpha" {
                assert_nothing_outside(&path, &r.body);
            }
            let u = send(app, get(&unknown, &c)).await;
            assert_eq!(
                r.body
                    .replace(&format!("id {client}"), "id N")
                    .replace(&format!("clients/{client}/"), "clients/N/"),
                u.body
                    .replace("id 999999", "id N")
                    .replace("clients/999999/", "clients/N/"),
                "{path}: not the page of an unknown client"
            );
        }
        let path = format!("/servers/{server}/clients/{client}/backups/1/restore");
        let r = send(
            app,
            post(&path, &c, &[("csrf", token.as_str()), ("path", "/C/a.txt")]),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    assert_eq!(
        (s.alpha.total_requests(), s.beta.total_requests()),
        (a0, b0),
        "nothing was sent to any server"
    );
    // In scope, the operator browses: the listing is asked of the server.
    let bid = s
        .console
        .store()
        .backups("alpha", office)
        .unwrap()
        .into_iter()
        .find(|b| !b.image)
        .expect("office-pc has a file backup")
        .id;
    let r = send(
        app,
        get(
            &format!("/servers/alpha/clients/{office}/backups/{bid}?path=/"),
            &c,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(s.alpha.total_requests() > a0);
    assert_eq!(s.beta.total_requests(), b0);
}

#[tokio::test]
async fn a_changed_scope_or_role_counts_from_the_next_request() {
    let s = setup().await;
    let app = &s.app;
    let a = login(app, "ann", "ann-password").await;
    let c = login(app, "sam", "sam-password").await;
    let token = csrf(&send(app, get("/admin/users", &a)).await.body);
    assert_eq!(
        send(app, get("/servers/alpha", &c)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(app, get("/servers/beta", &c)).await.status,
        StatusCode::NOT_FOUND
    );
    // The admin moves sam to beta (every group).
    let r = send(
        app,
        post(
            "/admin/users/scope",
            &a,
            &[
                ("csrf", &token),
                ("name", "sam"),
                ("servers", "beta"),
                ("groups", ""),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let users = send(app, get("/admin/users", &a)).await.body;
    assert!(users.contains("sam now sees beta."), "{users}");
    // The same session, its next request.
    assert_eq!(
        send(app, get("/servers/alpha", &c)).await.status,
        StatusCode::NOT_FOUND
    );
    let page = send(app, get("/", &c)).await.body;
    assert!(page.contains("beta-hidden") && !page.contains("office-pc"));
    // A bad list is refused with a message, and changes nothing.
    send(
        app,
        post(
            "/admin/users/scope",
            &a,
            &[
                ("csrf", &token),
                ("name", "sam"),
                ("servers", "alpha,,beta"),
            ],
        ),
    )
    .await;
    let users = send(app, get("/admin/users", &a)).await.body;
    assert!(users.contains("empty name"), "{users}");
    assert_eq!(
        send(app, get("/servers/beta", &c)).await.status,
        StatusCode::OK
    );
    // Admins are never scoped.
    send(
        app,
        post(
            "/admin/users/scope",
            &a,
            &[("csrf", &token), ("name", "ann"), ("servers", "beta")],
        ),
    )
    .await;
    let users = send(app, get("/admin/users", &a)).await.body;
    assert!(users.contains("admins see every server"), "{users}");
    assert_eq!(
        send(app, get("/servers/alpha", &a)).await.status,
        StatusCode::OK
    );
    // A role taken away counts at once too.
    let hidden = id(&s, "beta", "beta-hidden");
    let ctoken = csrf(&send(app, get("/", &c)).await.body);
    send(
        app,
        post(
            "/admin/users/role",
            &a,
            &[("csrf", &token), ("name", "sam"), ("role", "viewer")],
        ),
    )
    .await;
    let r = send(
        app,
        post(
            &format!("/servers/beta/clients/{hidden}/backup"),
            &c,
            &[("csrf", &ctoken), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(s.beta.requests("start_backup"), 0);
    // The users page shows every user's scope.
    let users = send(app, get("/admin/users", &a)).await.body;
    assert!(
        users.contains("every server (admin)") && users.contains(">beta</td>"),
        "{users}"
    );
}

#[tokio::test]
async fn a_scoped_users_compliance_counts_only_their_clients() {
    let s = setup().await;
    let app = &s.app;
    let a = login(app, "ann", "ann-password").await;
    let b = login(app, "bob", "bob-password").await;
    // The percentages of a table row after `label`.
    fn row(page: &str, label: &str) -> Vec<String> {
        let at = page
            .find(label)
            .unwrap_or_else(|| panic!("no {label}: {page}"));
        let rest = &page[at..];
        let end = rest.find("</tr>").unwrap();
        rest[..end]
            .split("<td class=\"num\">")
            .skip(1)
            .map(|c| c[..c.find('<').unwrap()].to_owned())
            .collect()
    }
    let admin = send(app, get("/compliance", &a)).await.body;
    let beta_line = row(&admin, "href=\"/compliance?server=beta\"");
    let mine = send(app, get("/compliance", &b)).await.body;
    let fleet_file = row(&mine, "<td>File backups</td>");
    assert_eq!(beta_line.len(), 3, "{admin}");
    assert_eq!(fleet_file, beta_line, "bob's fleet is beta");
    assert!(!mine.contains("alpha") && !mine.contains("office"));
    let csv = send(app, get("/compliance.csv", &b)).await.body;
    assert!(
        csv.lines().skip(1).all(|l| l.starts_with("\"beta\",")),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + 2,
        "beta-hidden's file and image rows"
    );
}
