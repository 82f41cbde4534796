//! Numbers an administrator can trust (issue 25), through the router over simulated servers
//! polled for real: compliance agrees with the health rule (a client failed on the overview
//! is never at 100% for the window in which it failed, and every figure says how much of its
//! window the console has seen), the counts of a fleet with a server down agree on every page,
//! and the live parts of the client and server pages follow the polls.

mod common;

use axum::http::StatusCode;
use axum::Router;
use common::web::{csrf, get, login, post, send};
use common::{member, SIM_PASSWORD, SIM_USER};
use std::time::{Duration, Instant};
use urbackup_console::Console;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

/// A console over these servers (name, URL), with the test users, polled once.
async fn console(members: &[(&str, String)], dir: &tempfile::TempDir) -> (Console, Router) {
    let members = members.iter().map(|(n, u)| member(n, u)).collect();
    let console = common::console(members, dir, Duration::from_secs(3600));
    console.poll_once().await;
    let app = console.router();
    (console, app)
}

async fn sim(clients: Vec<ClientSpec>, seeded: usize, backup: Duration) -> SimServer {
    let mut b = Simulator::builder()
        .admin(SIM_USER, SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .clients(seeded)
        .backup_duration(backup);
    for c in clients {
        b = b.client(c);
    }
    b.start().await.unwrap()
}

/// One row of the CSV: share_7d, share_30d, share_90d, accountable_seconds_7d.
type CsvRow = (Option<f64>, Option<f64>, Option<f64>, i64);

/// The CSV's rows by (client, kind).
fn csv_rows(body: &str) -> std::collections::HashMap<(String, String), CsvRow> {
    // Text cells are quoted (issue 27): read it as CSV.
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (client, kind, s7, s30, s90, a7) = (
        col("client"),
        col("kind"),
        col("share_7d"),
        col("share_30d"),
        col("share_90d"),
        col("accountable_seconds_7d"),
    );
    r.records()
        .map(|rec| {
            let f = rec.unwrap();
            let share = |i: usize| f[i].parse::<f64>().ok();
            (
                (f[client].to_owned(), f[kind].to_owned()),
                (share(s7), share(s30), share(s90), f[a7].parse().unwrap()),
            )
        })
        .collect()
}

/// 600 simulated clients, some of whose last file backups failed: every client the overview
/// shows as failed is below 100% in every window on the compliance page, its CSV and its own
/// page, and the page no longer says that every client met its RPO.
#[tokio::test]
async fn a_client_failed_on_the_overview_is_never_compliant_for_that_time() {
    let s = sim(
        vec![ClientSpec::new("mail")
            .linux()
            .backups(5, 0)
            .last_backup_failed()],
        600,
        Duration::from_secs(20),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (console, app) = console(&[("hq", s.url())], &dir).await;
    let c = login(&app, "vera", "vera-password").await;
    let snap = console.poller().snapshot();
    let hq = snap.server("hq").unwrap();
    let failed: Vec<(String, i64)> = hq
        .clients
        .iter()
        .filter(|c| c.health.file.state == urbackup::BackupState::Failed)
        .map(|c| (c.name().to_owned(), c.id()))
        .collect();
    assert!(
        failed.len() >= 20,
        "the seeded fleet has failures: {}",
        failed.len()
    );
    let overview = send(&app, get("/", &c)).await.body;
    assert!(overview.contains(">mail<"), "mail needs attention");
    let csv = send(&app, get("/compliance.csv", &c)).await.body;
    let rows = csv_rows(&csv);
    for (name, _) in &failed {
        let (s7, s30, s90, _) = rows[&(name.clone(), "file".to_owned())];
        for s in [s7, s30, s90] {
            let s = s.expect("accountable");
            assert!(s < 1.0, "{name}: failed on the overview, {s} in the CSV");
        }
    }
    let page = send(&app, get("/compliance", &c)).await.body;
    assert!(
        !page.contains("Every client met its RPO"),
        "failures are not compliance"
    );
    assert!(page.contains("How it is counted") && page.contains("60.5 of the 72 hours"));
    // The client page of a failed client: the same figures, never "100%".
    let mail = failed.iter().find(|(n, _)| n == "mail").unwrap().1;
    let client = send(&app, get(&format!("/servers/hq/clients/{mail}"), &c))
        .await
        .body;
    let file_box = &client[client.find("id=\"kind-file\"").unwrap()..];
    let file_box = &file_box[..file_box.find("</section>").unwrap()];
    assert!(file_box.contains("badge failed"), "{file_box}");
    assert!(!file_box.contains(">100%<"), "{file_box}");
    let (s7, ..) = rows[&("mail".to_owned(), "file".to_owned())];
    let shown = format!("{:.1}%", (s7.unwrap() * 1000.0).floor() / 10.0);
    assert!(
        file_box.contains(&shown),
        "the compliance page's {shown}: {file_box}"
    );
    assert!(
        page.contains(&format!("<a href=\"/servers/hq/clients/{mail}\">mail</a>")),
        "mail is listed below 100%"
    );
}

/// The share says how much of its window the console has seen, and marks a window it has
/// seen for less than half.
#[tokio::test]
async fn every_figure_says_how_much_of_its_window_was_seen() {
    let s = sim(
        vec![
            // Three daily backups: the console can account for about three days.
            ClientSpec::new("young").windows().backups(3, 1),
        ],
        0,
        Duration::from_secs(20),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (_console, app) = console(&[("hq", s.url())], &dir).await;
    let c = login(&app, "vera", "vera-password").await;
    let page = send(&app, get("/compliance?server=hq", &c)).await.body;
    let row = &page[page.find(">young</a>").expect("young listed")..];
    let row = &row[..row.find("</tr>").unwrap()];
    // Two to three days seen (the oldest backup 2 days and 1 to 20 hours ago): less than
    // half of every window, so each is marked.
    assert!(
        row.contains("only 2 days of 7 seen") || row.contains("only 3 days of 7 seen"),
        "{row}"
    );
    assert!(
        row.contains("days of 30 seen") && row.contains("days of 90 seen"),
        "{row}"
    );
    assert!(row.contains("class=\"share partial\""), "{row}");
    let csv = send(&app, get("/compliance.csv", &c)).await.body;
    let (_, _, _, seen7) = csv_rows(&csv)[&("young".to_owned(), "file".to_owned())];
    assert!(seen7 > 2 * 86_400 && seen7 < 5 * 86_400, "{seen7}");
}

/// The number in a card: `<span class="n">N</span>LABEL`.
fn card(html: &str, label: &str) -> String {
    let at = html
        .find(&format!("</span>{label}"))
        .unwrap_or_else(|| panic!("no card {label}: {html}"));
    let start = html[..at].rfind('>').unwrap() + 1;
    html[start..at].to_owned()
}

/// The cells of a server's row in the servers table.
fn server_row(html: &str, server: &str) -> String {
    let at = html
        .find(&format!(">{server}</a></td>"))
        .unwrap_or_else(|| panic!("no row {server}: {html}"));
    let row = &html[at..];
    row[..row.find("</tr>").unwrap()].to_owned()
}

/// One server stopped after it was read: the overview, the servers table and its page count
/// its clients as last known, the same number everywhere, and its page shows no healthy
/// figure for what the console does not know.
#[tokio::test]
async fn counts_agree_while_a_server_is_down() {
    let up = sim(
        vec![
            ClientSpec::new("up-1").windows().backups(3, 1),
            ClientSpec::new("up-2")
                .windows()
                .backups(3, 1)
                .last_backup_failed(),
        ],
        8,
        Duration::from_secs(20),
    )
    .await;
    let down = sim(Vec::new(), 25, Duration::from_secs(20)).await;
    let dir = tempfile::tempdir().unwrap();
    let (console, app) = console(&[("up", up.url()), ("down", down.url())], &dir).await;
    down.shutdown().await;
    console.poll_once().await;
    let snap = console.poller().snapshot();
    assert!(
        snap.server("down").unwrap().failure.is_some(),
        "down is down"
    );
    let c = login(&app, "vera", "vera-password").await;

    let overview = send(&app, get("/", &c)).await.body;
    assert_eq!(card(&overview, "clients"), "35", "10 + 25 last known");
    let servers_table =
        |html: &str| html[html.find("<h2 id=\"servers\"").unwrap_or(0)..].to_owned();
    assert!(
        overview.contains("25 last known, of unreachable servers"),
        "{overview}"
    );
    for page in [
        servers_table(&overview),
        send(&app, get("/servers", &c)).await.body,
    ] {
        let row = server_row(&page, "down");
        assert!(row.contains("<td class=\"num\">25</td>"), "{row}");
        assert!(row.contains("last known,"), "{row}");
        let row = server_row(&page, "up");
        assert!(row.contains("<td class=\"num\">10</td>"), "{row}");
    }
    let page = send(&app, get("/servers/down", &c)).await.body;
    assert_eq!(card(&page, "clients"), "25");
    assert!(page.contains("last known,"), "{page}");
    // Nothing that looks healthy for what is not known.
    assert!(!page.contains("card ok"), "no green card: {page}");
    assert!(!page.contains("Nothing is running."), "{page}");
    assert!(
        page.contains("Not known: the server cannot be read."),
        "{page}"
    );
    assert!(!page.contains("statistics right"), "{page}");
    assert!(page.contains("25 of 25 clients (last known,"), "{page}");
    // The message and the next sentence are two sentences.
    assert!(
        page.contains("). The clients below") || page.contains(". The clients below"),
        "{page}"
    );
    // The live server's page agrees with its row.
    let page = send(&app, get("/servers/up", &c)).await.body;
    assert_eq!(card(&page, "clients"), "10");
    assert_eq!(card(&page, "failed"), "1");
}

/// A server that was never read: nothing on its page reads as a count.
#[tokio::test]
async fn a_server_never_read_shows_no_numbers() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let (_console, app) = console(&[("dr", dead)], &dir).await;
    let c = login(&app, "vera", "vera-password").await;
    let page = send(&app, get("/servers/dr", &c)).await.body;
    for healthy in [
        "card ok",
        "Nothing is running.",
        "No client matches.",
        "statistics right",
    ] {
        assert!(!page.contains(healthy), "{healthy}: {page}");
    }
    assert!(page.contains("No client known: the console has never read this server."));
    assert_eq!(card(&page, "clients"), "—");
    let row = server_row(&send(&app, get("/servers", &c)).await.body, "dr");
    assert!(row.contains("not known: never read"), "{row}");
}

/// Waits (at most `limit`) until `f` returns true, polling the console meanwhile.
async fn until(console: &Console, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        if f().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(300)).await;
        console.poll_once().await;
    }
}

/// The live part of the client page (health, buttons, running, history, chart) and of the
/// server page (counts, running, the filtered table, recent activities) are fragments the
/// pages fetch on the interval: a backup that ends appears in them without a reload.
#[tokio::test]
async fn the_live_fragments_follow_the_polls() {
    let s = sim(
        vec![
            ClientSpec::new("pc").windows().backups(3, 1),
            ClientSpec::new("other").windows().backups(2, 1),
        ],
        0,
        Duration::from_secs(2),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (console, app) = console(&[("hq", s.url())], &dir).await;
    // The poller runs (an operator's action polls the server at once to see its effect).
    console.start_polling();
    let id = s.client_id("pc").unwrap();
    let live = format!("/servers/hq/clients/{id}/live");
    let o = login(&app, "otto", "otto-password").await;
    let v = login(&app, "vera", "vera-password").await;

    // The page holds the live part, which names its own address to refresh from.
    let page = send(&app, get(&format!("/servers/hq/clients/{id}"), &o))
        .await
        .body;
    assert!(page.contains(&format!("hx-get=\"{live}\"")), "{page}");
    // The fragment: that part alone, no layout, the same history.
    let frag = send(&app, get(&live, &o)).await;
    assert_eq!(frag.status, StatusCode::OK);
    assert!(
        frag.body
            .trim_start()
            .starts_with("<div id=\"client-live\""),
        "{}",
        frag.body
    );
    assert!(!frag.body.contains("<html") && !frag.body.contains("Latest logs with errors"));
    let rows = |html: &str| html.matches("<td class=\"hide-narrow\">").count();
    let before = rows(&frag.body);
    assert_eq!(before, 4, "3 file and 1 image backups: {}", frag.body);
    assert!(
        frag.body.contains("Start a backup"),
        "an operator's buttons"
    );
    let vfrag = send(&app, get(&live, &v)).await.body;
    assert!(
        !vfrag.contains("Start a backup") && !vfrag.contains("name=\"kind\""),
        "a viewer has none"
    );

    // The operator starts a backup; when it has ended, the fragment shows it.
    let token = csrf(&page);
    let r = send(
        &app,
        post(
            &format!("/servers/hq/clients/{id}/backup"),
            &o,
            &[("csrf", &token), ("kind", "incr_file")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let running = send(&app, get(&live, &o)).await.body;
    assert!(running.contains("incremental file backup"), "{running}");
    until(&console, Duration::from_secs(30), async || {
        rows(&send(&app, get(&live, &o)).await.body) == before + 1
    })
    .await;
    let after = send(&app, get(&live, &o)).await.body;
    assert!(
        after.contains("Nothing is running for this client."),
        "{after}"
    );

    // The server page's fragment: its parts in order, with the table as filtered.
    let frag = send(
        &app,
        get("/servers/hq/live?q=oth&sort=name&dir=asc&page=1", &v),
    )
    .await;
    assert_eq!(frag.status, StatusCode::OK);
    let b = &frag.body;
    let (l, t, m) = (
        b.find("<div id=\"server-live\"").expect("live"),
        b.find("<div id=\"client-table\"").expect("table"),
        b.find("<div id=\"server-more\"").expect("more"),
    );
    assert!(l < t && t < m, "{b}");
    let table = &b[t..m];
    assert!(
        table.contains(">other</a>") && !table.contains(">pc</a>"),
        "filtered: {table}"
    );
    assert!(b.contains("1 of 2 clients"), "{b}");
    assert!(!b.contains("<html"));
    // The page refreshes it with the filter's current values.
    let page = send(&app, get("/servers/hq", &v)).await.body;
    assert!(
        page.contains("hx-get=\"/servers/hq/live\"")
            && page.contains("hx-include=\"#filters, #client-page\""),
        "{page}"
    );
    // Not logged in: no fragment.
    let r = send(&app, get(&live, "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}
