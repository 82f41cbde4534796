//! Scopes, directory logins and the second factor in a real browser (Debian's chromium through
//! chromedriver), against the console served on a socket over simulated servers and a real
//! slapd: a scoped operator sees only their server and acts there; a directory user mapped to
//! viewer reads; a local user enrols a second factor by the page's QR code and secret, then
//! logs in with a code; an admin reads the users and sessions pages. Every page added or
//! changed is shot at 1366 and 390 px wide (`target/browser-screenshots/scopes-*.png`), and
//! at 390 px none is wider than the screen.

mod common;

use common::browser::{click, driver, shot, text, wait_text};
use common::slapd::{self, group, Options, Slapd};
use common::{member, SIM_PASSWORD, SIM_USER};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use urbackup_console::auth::ldap::{BindPassword, DirectoryConfig};
use urbackup_console::auth::{totp, Role, Scope};
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::PollerConfig;
use urbackup_sim::{ClientSpec, Simulator};

/// Shoots the page at 1366 px, then at 390 px (where nothing may be wider than the screen).
async fn both(c: &Client, name: &str) {
    c.set_window_size(1366, 900).await.unwrap();
    shot(c, &format!("scopes-{name}-1366")).await;
    c.set_window_size(390, 844).await.unwrap();
    let widths = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    assert!(
        scroll <= inner,
        "{name}: page {scroll}px wide on a {inner}px screen"
    );
    shot(c, &format!("scopes-{name}-390")).await;
    c.set_window_size(1366, 900).await.unwrap();
}

/// Fills and sends the login form; waits for the next page (away from `/login`, the code's
/// form, or the form again with a message).
async fn log_in(c: &Client, base: &str, user: &str, password: &str) {
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
    settle(c).await;
}

/// Waits for a form's answer: a page that is not the login form, or one with a message.
async fn settle(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = c.current_url().await.unwrap();
        let path = url.path().to_owned();
        let has_message = c.find(Locator::Css("p.flash")).await.is_ok();
        if (path != "/login" || has_message) && c.find(Locator::Css("main")).await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "no answer to the form");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn log_out(c: &Client) {
    click(c, Locator::Id("logout")).await;
    c.wait().for_element(Locator::Id("username")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_directory_users_and_a_second_factor_in_a_real_browser() {
    let Some((_driver, c)) = driver().await else {
        return;
    };
    let directory = Slapd::start(Options {
        memberof: true,
        tls: false,
    });
    let alpha = Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(120))
        .client(
            ClientSpec::new("office-pc")
                .windows()
                .backups(5, 2)
                .group("office"),
        )
        .client(
            ClientSpec::new("office-laptop")
                .windows()
                .backups(3, 1)
                .group("office")
                .last_backup_failed(),
        )
        .client(
            ClientSpec::new("lab-secret")
                .windows()
                .backups(3, 1)
                .group("lab")
                .last_backup_failed(),
        )
        .start()
        .await
        .unwrap();
    let beta = Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .client(
            ClientSpec::new("beta-hidden")
                .windows()
                .backups(3, 1)
                .last_backup_failed(),
        )
        .start()
        .await
        .unwrap();
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
    store.add_user("tom", Role::Viewer, "tom-password").unwrap();
    let directory_config = directory.as_ref().map(|d| {
        let mut dc = DirectoryConfig::new(&d.url, slapd::BASE);
        dc.bind_dn = Some(slapd::SERVICE_DN.into());
        dc.bind_password = Some(BindPassword::new(slapd::SERVICE_PW.into()));
        dc.roles = vec![
            (group("backup-viewers"), Role::Viewer),
            (group("backup-operators"), Role::Operator),
        ];
        dc
    });
    let console = Console::new(
        vec![member("alpha", &alpha.url()), member("beta", &beta.url())],
        store,
        ConsoleConfig {
            poll: PollerConfig {
                interval: Duration::from_secs(2),
                ..PollerConfig::default()
            },
            directory: directory_config,
            ..ConsoleConfig::default()
        },
    )
    .unwrap();
    console.poll_once().await;
    console.start_polling();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = console
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let office = alpha.client_id("office-pc").unwrap();

    // A scoped operator: their server, their group, nothing else.
    log_in(&c, &base, "sam", "sam-password").await;
    let body = wait_text(&c, "Clients that need attention").await;
    assert!(body.contains("alpha (groups: office)"), "{body}");
    assert!(body.contains("office-laptop"), "{body}");
    for hidden in ["lab-secret", "beta", "beta-hidden"] {
        assert!(!body.contains(hidden), "{hidden}: {body}");
    }
    both(&c, "01-overview-scoped").await;
    c.goto(&format!("{base}/servers")).await.unwrap();
    let body = text(&c).await;
    assert!(body.contains("alpha") && !body.contains("beta"), "{body}");
    click(&c, Locator::LinkText("alpha")).await;
    c.wait()
        .for_element(Locator::Id("client-table"))
        .await
        .unwrap();
    let body = text(&c).await;
    assert!(
        body.contains("office-pc") && !body.contains("lab-secret"),
        "{body}"
    );
    both(&c, "02-server-scoped").await;
    click(&c, Locator::LinkText("office-pc")).await;
    c.wait().for_element(Locator::Id("history")).await.unwrap();
    click(
        &c,
        Locator::XPath("//button[text()='Incremental file backup']"),
    )
    .await;
    c.wait().for_element(Locator::Css("p.flash")).await.unwrap();
    let flash = c
        .find(Locator::Css("p.flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("office-pc"), "{flash}");
    assert_eq!(alpha.requests("start_backup"), 1);
    assert_eq!(beta.requests("start_backup"), 0);
    both(&c, "03-client-scoped-started").await;
    // Another server: the same page as for one that does not exist.
    c.goto(&format!("{base}/servers/beta")).await.unwrap();
    let body = wait_text(&c, "Not found").await;
    assert!(
        body.contains("No server named “beta” in this console."),
        "{body}"
    );
    both(&c, "04-out-of-scope-404").await;
    c.goto(&format!("{base}/account")).await.unwrap();
    let body = wait_text(&c, "Your account").await;
    assert!(body.contains("alpha (groups: office)"), "{body}");
    both(&c, "05-account-scoped").await;
    log_out(&c).await;

    // A directory user mapped to viewer.
    if directory.is_some() {
        log_in(&c, &base, "dora", "dora-directory-pw").await;
        let body = wait_text(&c, "Fleet overview").await;
        assert!(body.contains("dora") && body.contains("viewer"), "{body}");
        c.goto(&format!("{base}/servers/alpha/clients/{office}"))
            .await
            .unwrap();
        c.wait().for_element(Locator::Id("history")).await.unwrap();
        let buttons = c
            .find_all(Locator::Css("form[action$='/backup'] button"))
            .await
            .unwrap();
        assert!(buttons.is_empty(), "a viewer has no start buttons");
        both(&c, "06-directory-viewer-client").await;
        c.goto(&format!("{base}/account")).await.unwrap();
        let body = wait_text(&c, "Your account").await;
        assert!(body.contains("directory's password"), "{body}");
        log_out(&c).await;
        // In no mapped group: refused, with the reason.
        log_in(&c, &base, "nora", "nora-directory-pw").await;
        let body = wait_text(&c, "not in a directory group").await;
        assert!(c.current_url().await.unwrap().path() == "/login", "{body}");
        both(&c, "07-directory-refused").await;
    }

    // A second factor: enrolment from the account page.
    log_in(&c, &base, "tom", "tom-password").await;
    wait_text(&c, "Fleet overview").await;
    click(&c, Locator::Css("a.account")).await;
    wait_text(&c, "Second factor").await;
    click(
        &c,
        Locator::XPath("//button[text()='Set up a second factor']"),
    )
    .await;
    wait_text(&c, "Scan the code").await;
    let qr = c
        .execute(
            "const s = document.querySelector('svg.qr'); const r = s.getBoundingClientRect(); return [r.width, r.height, s.querySelectorAll('path,rect').length]",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        qr[0].as_f64().unwrap() >= 150.0 && qr[1].as_f64().unwrap() >= 150.0,
        "{qr}"
    );
    assert!(qr[2].as_i64().unwrap() >= 1, "{qr}");
    both(&c, "08-enrol").await;
    let secret_text: String = c
        .find(Locator::Id("totp-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let secret = totp::secret_bytes(&secret_text).expect("the secret on the page");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    c.find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&totp::code_at(&secret, t0))
        .await
        .unwrap();
    click(&c, Locator::XPath("//button[text()='Confirm']")).await;
    let body = wait_text(&c, "Your recovery codes").await;
    let codes = c.find_all(Locator::Css("ul.codes code")).await.unwrap();
    assert_eq!(codes.len(), totp::RECOVERY_CODES, "{body}");
    both(&c, "09-recovery-codes").await;
    log_out(&c).await;
    // The login asks for the code.
    log_in(&c, &base, "tom", "tom-password").await;
    let body = wait_text(&c, "Logging in as tom").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/login/code",
        "{body}"
    );
    both(&c, "10-login-code").await;
    c.find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys("000000")
        .await
        .unwrap();
    click(&c, Locator::Css("form.login button")).await;
    wait_text(&c, "Wrong code").await;
    both(&c, "11-login-code-wrong").await;
    c.find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&totp::code_at(&secret, t0 + totp::STEP))
        .await
        .unwrap();
    click(&c, Locator::Css("form.login button")).await;
    wait_text(&c, "Fleet overview").await;
    log_out(&c).await;

    // The admin's pages: users (scopes, second factors, directory users) and sessions.
    log_in(&c, &base, "ann", "ann-password").await;
    wait_text(&c, "Fleet overview").await;
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    let body = wait_text(&c, "Console users").await;
    assert!(body.contains("alpha (groups: office)"), "{body}");
    // Open sam's changes (the scope form).
    click(&c, Locator::XPath("//summary[text()='Change sam']")).await;
    both(&c, "12-users").await;
    // Two more people logged in elsewhere (the sessions page lists them with their address).
    let now = urbackup_fleet::unix_now();
    for (who, from) in [("sam", "198.51.100.23"), ("tom", "2001:db8::17")] {
        let id = console.store().user(who).unwrap().unwrap().id;
        console
            .store()
            .create_session_from(id, now - 600, from)
            .unwrap();
    }
    c.goto(&format!("{base}/admin/sessions")).await.unwrap();
    let body = wait_text(&c, "Open sessions").await;
    assert!(
        body.contains("127.0.0.1") && body.contains("(this one)"),
        "{body}"
    );
    both(&c, "13-sessions").await;
    // The dark theme of the pages added.
    click(&c, Locator::Css("form[action='/prefs/theme'] button")).await;
    c.wait().for_element(Locator::Id("main")).await.unwrap();
    click(&c, Locator::Css("form[action='/prefs/theme'] button")).await;
    c.wait().for_element(Locator::Id("main")).await.unwrap();
    let theme = c
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .unwrap();
    assert_eq!(theme, json!("dark"));
    both(&c, "14-sessions-dark").await;
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    both(&c, "15-users-dark").await;
    c.close().await.unwrap();
    drop(directory);
}
