//! Behaviour tests of the simulator: sessions, rights, backups, faults, counters, seeding.

mod common;

use std::time::{Duration, Instant};

use common::{get, login_anon, login_user, post, raw};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use urbackup_sim::{ClientSpec, Fault, FaultRule, SimServer, Simulator};

async fn admin_sim() -> (SimServer, String) {
    let sim = Simulator::builder()
        .client(ClientSpec::new("alpha").online(true).windows())
        .client(ClientSpec::new("beta").online(true).linux().backups(3, 0))
        .client(
            ClientSpec::new("gamma")
                .online(false)
                .windows()
                .backups(2, 1),
        )
        .admin("admin", "secret")
        .user("viewer", "pw", &[("status", "all"), ("logs", "1,2")])
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .livelog_wait(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let (ses, r) = login_user(sim.addr(), "admin", "secret").await;
    assert_eq!(r["success"], Value::Bool(true));
    (sim, ses)
}

// ------------------------------------------------------------------ wire format

#[tokio::test]
async fn wire_format_matches_real_server() {
    let (sim, ses) = admin_sim().await;
    let r = post(sim.addr(), "status", &[("ses", &ses)]).await;
    assert_eq!(r.status_line, "HTTP/1.1 200 ok");
    assert_eq!(
        r.headers,
        vec![
            ("Cache-Control".to_string(), "max-age=0".to_string()),
            ("Content-type".to_string(), "application/json".to_string()),
            ("X-Frame-Options".to_string(), "DENY".to_string()),
        ]
    );
    assert!(r.header("Content-Length").is_none());
    assert!(r.text().starts_with("{\n\"admin\": true,\n"));
    // unknown action
    let r = post(sim.addr(), "nope", &[("ses", &ses)]).await;
    assert_eq!(r.content_type(), Some("text/html; charset=UTF-8"));
    assert_eq!(r.text(), "Error: Unknown action [nope]");
    // /x without a=
    let r = get(sim.addr(), "/x").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "Sorry. File not found.");
    // sub path works
    let r = raw(
        sim.addr(),
        &common::post_req("/urbackup/sub/x?a=status", &format!("ses={ses}")),
    )
    .await
    .unwrap();
    assert!(r.json()["status"].is_array());
    // query parameters are ignored for normal actions (ses only in query -> error 1)
    let r = raw(
        sim.addr(),
        &common::post_req(&format!("/x?a=status&ses={ses}"), ""),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["error"], 1);
    // `$` separates pairs, first duplicate wins
    let r = raw(
        sim.addr(),
        &common::post_req(
            "/x?a=status",
            &format!("x=1${}&ses=bogus", format_args!("ses={ses}")),
        ),
    )
    .await
    .unwrap();
    assert!(r.json()["status"].is_array());
    // empty-body reply has no content type
    let r = post(sim.addr(), "start_backup", &[("ses", &ses)]).await;
    assert!(r.body.is_empty());
    assert!(r.content_type().is_none());
}

#[tokio::test]
async fn keep_alive_mode_serves_several_requests_per_connection() {
    let sim = Simulator::builder().keep_alive(true).start().await.unwrap();
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let mut buf = Vec::new();
    for _ in 0..3 {
        s.write_all(&common::post_req("/x?a=login", ""))
            .await
            .unwrap();
        loop {
            if let Some((r, used)) = common::parse_resp(&buf) {
                if r.header("Content-Length").is_some() {
                    assert_eq!(r.json()["success"], true);
                    buf.drain(..used);
                    break;
                }
            }
            let mut tmp = [0u8; 4096];
            let n = s.read(&mut tmp).await.unwrap();
            assert!(n > 0, "connection closed in keep-alive mode");
            buf.extend_from_slice(&tmp[..n]);
        }
    }
}

// --------------------------------------------------------------------- sessions

#[tokio::test]
async fn sessions_expire_on_the_virtual_clock_and_on_restart() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    sim.advance(Duration::from_secs(1700));
    assert!(post(a, "status", &[("ses", &ses)]).await.json()["status"].is_array());
    sim.advance(Duration::from_secs(1700)); // refreshed by the last request
    assert!(post(a, "status", &[("ses", &ses)]).await.json()["status"].is_array());
    sim.advance(Duration::from_secs(1801));
    assert_eq!(post(a, "status", &[("ses", &ses)]).await.json()["error"], 1);

    let (ses, _) = login_user(a, "admin", "secret").await;
    post(a, "add_client", &[("ses", &ses), ("clientname", "newone")]).await;
    sim.restart();
    assert_eq!(post(a, "status", &[("ses", &ses)]).await.json()["error"], 1);
    let (ses, _) = login_user(a, "admin", "secret").await;
    assert!(sim.client_id("newone").is_some());
    sim.invalidate_sessions();
    assert_eq!(
        post(a, "progress", &[("ses", &ses)]).await.json()["error"],
        1
    );
}

#[tokio::test]
async fn login_flows() {
    // anonymous
    let sim = Simulator::builder().start().await.unwrap();
    let ses = login_anon(sim.addr()).await;
    assert_eq!(ses.len(), 30);
    assert!(!ses.contains('z'));
    assert_eq!(sim.logins(), 1);
    // one user: anonymous fails with admin_only
    let sim = Simulator::builder()
        .admin("admin", "secret")
        .legacy_md5_user("old", "pw")
        .login_failure_delay(Duration::from_millis(200))
        .rate_limit(false)
        .start()
        .await
        .unwrap();
    let a = sim.addr();
    let r = post(a, "login", &[]).await.json();
    assert_eq!(r["success"], false);
    assert!(r.get("admin_only").is_none(), "two users -> no admin_only");
    // legacy account
    let s = post(a, "salt", &[("username", "old")]).await.json();
    assert_eq!(s["pbkdf2_rounds"], 0);
    let (_, r) = login_user(a, "old", "pw").await;
    assert_eq!(r["success"], true);
    // plainpw
    let r = post(
        a,
        "login",
        &[
            ("username", "admin"),
            ("password", "secret"),
            ("plainpw", "1"),
        ],
    )
    .await
    .json();
    assert_eq!(r["success"], true);
    assert_eq!(r["status"], "all");
    assert!(r["session"].is_string());
    // wrong password: error 2 after the delay, session still returned for plainpw
    let t = Instant::now();
    let r = post(
        a,
        "login",
        &[
            ("username", "admin"),
            ("password", "nope"),
            ("plainpw", "1"),
        ],
    )
    .await
    .json();
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(r["error"], 2);
    assert!(r["session"].is_string());
    // unknown user in salt
    let r = post(a, "salt", &[("username", "ghost")]).await.json();
    assert_eq!(r["error"], 0);
    assert!(r["ses"].is_string());
    // hashed login without session
    let r = post(a, "login", &[("username", "admin"), ("password", "x")])
        .await
        .json();
    assert_eq!(r["error"], 1);
    assert_eq!(sim.logins(), 2);
}

#[tokio::test]
async fn failed_login_rate_limit() {
    let sim = Simulator::builder()
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .start()
        .await
        .unwrap();
    let a = sim.addr();
    for _ in 0..11 {
        let r = post(
            a,
            "login",
            &[("username", "admin"), ("password", "bad"), ("plainpw", "1")],
        )
        .await
        .json();
        assert_eq!(r["error"], 2);
    }
    let r = post(
        a,
        "login",
        &[
            ("username", "admin"),
            ("password", "secret"),
            ("plainpw", "1"),
        ],
    )
    .await
    .json();
    assert_eq!(r["error"], 3);
    assert_eq!(
        post(a, "salt", &[("username", "admin")]).await.json()["error"],
        3
    );
    sim.advance(Duration::from_secs(601));
    let r = post(
        a,
        "login",
        &[
            ("username", "admin"),
            ("password", "secret"),
            ("plainpw", "1"),
        ],
    )
    .await
    .json();
    assert_eq!(r["success"], true);
}

// ----------------------------------------------------------------------- rights

#[tokio::test]
async fn rights_are_enforced_per_domain() {
    let (sim, _) = admin_sim().await;
    let a = sim.addr();
    let (ses, login) = login_user(a, "viewer", "pw").await;
    assert_eq!(login["status"], "all");
    assert_eq!(login["logs"], "1,2");
    assert_eq!(login["settings"], "none");
    let st = post(a, "status", &[("ses", &ses)]).await.json();
    assert_eq!(st["status"].as_array().unwrap().len(), 3);
    assert!(st.get("admin").is_none());
    // start_backup without right: empty body
    let r = post(
        a,
        "start_backup",
        &[
            ("ses", &ses),
            ("start_client", "1"),
            ("start_type", "incr_file"),
        ],
    )
    .await;
    assert!(r.body.is_empty());
    assert_eq!(
        post(a, "add_client", &[("ses", &ses), ("clientname", "x")])
            .await
            .json()["error"],
        1
    );
    assert_eq!(
        post(a, "progress", &[("ses", &ses)]).await.json(),
        serde_json::json!({"progress": []})
    );
    assert_eq!(
        post(a, "backups", &[("ses", &ses)]).await.json()["error"],
        1
    );
    assert_eq!(
        post(a, "usage", &[("ses", &ses)]).await.json(),
        serde_json::json!({})
    );
    let s = post(a, "settings", &[("ses", &ses), ("sa", "general")])
        .await
        .json();
    assert_eq!(s["error"], 1);
    assert_eq!(s["ONLY_WIN32_BEGIN"], "<!--");
    // lastacts quirk: right none shows everything
    assert!(post(a, "lastacts", &[("ses", &ses)]).await.json()["lastacts"].is_array());
    // logs restricted to 1,2: default filter is the list
    let l = post(a, "logs", &[("ses", &ses), ("ll", "0")]).await.json();
    assert_eq!(l["filter"], "1,2");
    assert!(l.get("all_clients").is_none());
    for e in l["logs"].as_array().unwrap() {
        assert_ne!(e["name"], "gamma");
    }
    // server livelog needs logs=all
    assert_eq!(
        post(a, "livelog", &[("ses", &ses), ("clientid", "0")])
            .await
            .json(),
        serde_json::json!({"logdata": []})
    );
    // not logged in session: empty body
    let salt = post(a, "salt", &[("username", "viewer")]).await.json();
    let r = post(a, "status", &[("ses", salt["ses"].as_str().unwrap())]).await;
    assert!(r.body.is_empty());
    // livelog without session: error true
    assert_eq!(
        post(a, "livelog", &[("ses", "nope")]).await.json()["error"],
        true
    );

    // status right limited to one client
    let sim2 = Simulator::builder()
        .clients(5)
        .user("one", "pw", &[("status", "2")])
        .start()
        .await
        .unwrap();
    let (ses, _) = login_user(sim2.addr(), "one", "pw").await;
    let st = post(sim2.addr(), "status", &[("ses", &ses)]).await.json();
    let ids: Vec<i64> = st["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![2]);
}

// ---------------------------------------------------------------------- backups

/// `start_backup` of one client; the reply.
async fn start_backup(
    addr: std::net::SocketAddr,
    ses: &str,
    clientid: &str,
    start_type: &str,
) -> Value {
    post(
        addr,
        "start_backup",
        &[
            ("ses", ses),
            ("start_client", clientid),
            ("start_type", start_type),
        ],
    )
    .await
    .json()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `--time-scale 10` makes backups ten times faster and leaves the clock on real time: a
/// backup that just ended is stamped now, not minutes in the future (the clock used to run
/// ten times faster: 675 s ahead after 75 s, so a new backup showed as "0s ago").
#[tokio::test]
async fn time_scale_shortens_backups_and_keeps_the_clock_real() {
    let sim = Simulator::builder()
        .client(
            ClientSpec::new("alpha")
                .online(true)
                .windows()
                .backups(1, 0),
        )
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .time_scale(10.0)
        .backup_duration(Duration::from_secs(20))
        .start()
        .await
        .unwrap();
    let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
    let a = sim.addr();
    let alpha = sim.client_id("alpha").unwrap().to_string();
    let started = Instant::now();
    let r = start_backup(a, &ses, &alpha, "incr_file").await;
    assert_eq!(r["result"][0]["start_ok"], true);
    // 20 s at scale 10: done in about 2 s of real time.
    let acts = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let p = post(a, "progress", &[("ses", &ses), ("with_lastacts", "1")])
            .await
            .json();
        if p["progress"] == serde_json::json!([]) {
            break p["lastacts"].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{p}");
    };
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1800), "{took:?}");
    let real = unix_now();
    let newest = acts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["backuptime"].as_i64().unwrap())
        .max()
        .unwrap();
    assert!(
        (real - 3..=real + 1).contains(&newest),
        "the new backup is stamped {newest}, real time is {real}"
    );
    // The clock the server reports is real time too (after a second more).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let real = unix_now();
    assert!(
        (real - 1..=real + 1).contains(&sim.now()),
        "{} vs {real}",
        sim.now()
    );
    let st = post(a, "status", &[("ses", &ses)]).await.json();
    let lastseen = st["status"][0]["lastseen"].as_i64().unwrap();
    assert!(
        (real - 1..=real + 1).contains(&lastseen),
        "{lastseen} vs {real}"
    );
}

#[tokio::test]
async fn backup_lifecycle_on_manual_clock() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    let alpha = sim.client_id("alpha").unwrap().to_string();
    let r = start_backup(a, &ses, &alpha, "incr_file").await;
    assert_eq!(r["result"][0]["start_ok"], true);
    assert_eq!(r["result"][0]["clientid"], alpha.parse::<i64>().unwrap());
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    let proc0 = &p["progress"][0];
    assert_eq!(
        proc0["action"], 2,
        "incremental without previous backup runs as full"
    );
    assert_eq!(proc0["pcdone"], -1);
    assert_eq!(proc0["total_bytes"], -1);
    let logid = proc0["logid"].as_i64().unwrap();
    let st = post(a, "status", &[("ses", &ses)]).await.json();
    let e = st["status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "alpha")
        .unwrap()
        .clone();
    assert_eq!(e["status"], 2);
    assert_eq!(e["processes"][0]["action"], 2);
    sim.advance(Duration::from_secs(10));
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    let pc = p["progress"][0]["pcdone"].as_i64().unwrap();
    assert!((1..100).contains(&pc), "pcdone {pc}");
    assert!(p["progress"][0]["done_bytes"].as_i64().unwrap() > 0);
    // livelog for that client
    let ll = post(a, "livelog", &[("ses", &ses), ("clientid", &alpha)])
        .await
        .json();
    let entries = ll["logdata"].as_array().unwrap();
    assert!(!entries.is_empty());
    let last = entries.last().unwrap()["id"].as_i64().unwrap();
    sim.advance(Duration::from_secs(11));
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    assert_eq!(p["progress"], serde_json::json!([]));
    assert_eq!(p["lastacts"][0]["name"], "alpha");
    let ll = post(
        a,
        "livelog",
        &[
            ("ses", &ses),
            ("clientid", &alpha),
            ("lastid", &last.to_string()),
        ],
    )
    .await
    .json();
    assert!(ll["logdata"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["msg"] == "Backup succeeded"));
    let b = post(
        a,
        "backups",
        &[("ses", &ses), ("sa", "backups"), ("clientid", &alpha)],
    )
    .await
    .json();
    assert_eq!(b["backups"].as_array().unwrap().len(), 1);
    assert_eq!(b["backups"][0]["incremental"], 0);
    assert_eq!(b["backups"][0]["disable_delete"], true);
    let st = post(a, "status", &[("ses", &ses)]).await.json();
    let e = st["status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "alpha")
        .unwrap()
        .clone();
    assert!(e["lastbackup"].as_i64().unwrap() > 0);
    assert_eq!(e["status"], 0);
    assert_eq!(e["file_ok"], true);
    let log = post(a, "logs", &[("ses", &ses), ("logid", &logid.to_string())])
        .await
        .json();
    let data = log["log"]["data"].as_str().unwrap();
    assert!(data.lines().all(|l| l.splitn(3, '-').count() == 3));
    assert!(data.contains("Backup succeeded"));
    // second incremental: level 1
    post(
        a,
        "start_backup",
        &[
            ("ses", &ses),
            ("start_client", &alpha),
            ("start_type", "incr_file"),
        ],
    )
    .await;
    sim.advance(Duration::from_secs(25));
    let b = post(
        a,
        "backups",
        &[("ses", &ses), ("sa", "backups"), ("clientid", &alpha)],
    )
    .await
    .json();
    assert_eq!(b["backups"][0]["incremental"], 1);
}

#[tokio::test]
async fn stop_image_offline_and_unknown() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    let alpha = sim.client_id("alpha").unwrap();
    let beta = sim.client_id("beta").unwrap();
    let gamma = sim.client_id("gamma").unwrap();
    let list = format!("{alpha},{beta},{gamma},9999");
    let r = post(
        a,
        "start_backup",
        &[
            ("ses", &ses),
            ("start_client", &list),
            ("start_type", "full_image"),
        ],
    )
    .await
    .json();
    let oks: Vec<bool> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["start_ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, vec![true, true, false, false]);
    // linux client: accepted but silently ignored
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    let procs = p["progress"].as_array().unwrap();
    assert_eq!(procs.len(), 1);
    assert_eq!(procs[0]["action"], 4);
    assert_eq!(procs[0]["details"], "C:");
    let id = procs[0]["id"].as_i64().unwrap().to_string();
    sim.advance(Duration::from_secs(5));
    post(
        a,
        "progress",
        &[
            ("ses", &ses),
            ("stop_clientid", &alpha.to_string()),
            ("stop_id", &id),
        ],
    )
    .await;
    sim.advance(Duration::from_secs(1));
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    assert_eq!(p["progress"], serde_json::json!([]));
    let logs = post(a, "logs", &[("ses", &ses)]).await.json();
    let failed = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "alpha")
        .expect("failed log listed with ll=2")
        .clone();
    assert!(failed["errors"].as_i64().unwrap() > 0);
    let b = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &alpha.to_string()),
        ],
    )
    .await
    .json();
    assert_eq!(b["backup_images"], serde_json::json!([]));
    // image backup to completion
    post(
        a,
        "start_backup",
        &[
            ("ses", &ses),
            ("start_client", &alpha.to_string()),
            ("start_type", "full_image"),
        ],
    )
    .await;
    sim.advance(Duration::from_secs(21));
    let b = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &alpha.to_string()),
        ],
    )
    .await
    .json();
    assert_eq!(b["backup_images"][0]["letter"], "C:");
    // bad type
    let r = post(
        a,
        "start_backup",
        &[
            ("ses", &ses),
            ("start_client", &alpha.to_string()),
            ("start_type", "bogus"),
        ],
    )
    .await
    .json();
    assert_eq!(r["result"][0]["start_ok"], false);
}

#[tokio::test]
async fn browse_download_zip_archive_delete_restore() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    let beta = sim.client_id("beta").unwrap().to_string();
    let b = post(
        a,
        "backups",
        &[("ses", &ses), ("sa", "backups"), ("clientid", &beta)],
    )
    .await
    .json();
    let list = b["backups"].as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    let newest = list[0]["id"].as_i64().unwrap().to_string();
    let oldest = list[2]["id"].as_i64().unwrap().to_string();
    let root = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "files"),
            ("clientid", &beta),
            ("backupid", &newest),
            ("path", "/"),
        ],
    )
    .await
    .json();
    assert_eq!(root["files"][0]["name"], "etc");
    let home = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "files"),
            ("clientid", &beta),
            ("backupid", &newest),
            ("path", "/home"),
        ],
    )
    .await
    .json();
    let files = home["files"].as_array().unwrap();
    let file = files.iter().find(|f| f["dir"] == false).unwrap();
    let dir = files.iter().find(|f| f["dir"] == true).unwrap();
    let fpath = format!("/home/{}", file["name"].as_str().unwrap());
    // single file download with Content-Length and matching shahash
    let q = format!(
        "/x?a=backups&ses={ses}&sa=filesdl&clientid={beta}&backupid={newest}&path={}",
        fpath.replace('/', "%2F")
    );
    let r = get(a, &q).await;
    assert_eq!(r.content_type(), Some("application/octet-stream"));
    assert_eq!(
        r.header("Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    assert_eq!(r.body.len() as i64, file["size"].as_i64().unwrap());
    use sha2::Digest;
    let want = file["shahash"].as_str().unwrap();
    assert_eq!(
        urbackup_sim::tree::base64(&sha2::Sha512::digest(&r.body)),
        want
    );
    // zip of a directory: valid archive
    let dpath = format!("/home/{}", dir["name"].as_str().unwrap());
    let q = format!(
        "/x?a=backups&ses={ses}&sa=zipdl&clientid={beta}&backupid={newest}&path={}",
        dpath.replace('/', "%2F")
    );
    let r = get(a, &q).await;
    assert!(r.header("Content-Length").is_none());
    assert!(r.header("Content-Disposition").unwrap().ends_with(".zip\""));
    let z = &r.body;
    assert_eq!(&z[..4], b"PK\x03\x04");
    let eocd = z.len() - 22;
    assert_eq!(&z[eocd..eocd + 4], b"PK\x05\x06");
    let entries = u16::from_le_bytes([z[eocd + 10], z[eocd + 11]]);
    assert!(entries >= 1);
    let cd_off = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    assert_eq!(&z[cd_off..cd_off + 4], b"PK\x01\x02");
    // file crc of the first local entry
    let n = u16::from_le_bytes([z[26], z[27]]) as usize;
    let size = u32::from_le_bytes(z[18..22].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(z[14..18].try_into().unwrap());
    assert_eq!(urbackup_sim::zip::crc32(&z[30 + n..30 + n + size]), crc);
    // errors
    let e = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "files"),
            ("clientid", &beta),
            ("backupid", "999999"),
        ],
    )
    .await
    .json();
    assert_eq!(e["errcode"], "path_browse_access_denied");
    let e = post(
        a,
        "backups",
        &[("ses", &ses), ("sa", "files"), ("clientid", "424242")],
    )
    .await
    .json();
    assert_eq!(e, serde_json::json!({}));
    // path over all backups
    let s = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "files"),
            ("clientid", &beta),
            ("path", &fpath),
        ],
    )
    .await
    .json();
    assert_eq!(s["single_item"], true);
    // archive / delete
    let b = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &beta),
            ("archive", &oldest),
        ],
    )
    .await
    .json();
    let o = b["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"].as_i64().map(|i| i.to_string()).as_deref() == Some(oldest.as_str()))
        .unwrap()
        .clone();
    assert_eq!(o["archived"], 1);
    assert_eq!(o["archive_timeout"], 0);
    let b = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &beta),
            ("delete_now", &oldest),
        ],
    )
    .await
    .json();
    assert_eq!(b["delete_now_err"], "archived_ref");
    post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &beta),
            ("unarchive", &oldest),
        ],
    )
    .await;
    let b = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &beta),
            ("delete", &oldest),
        ],
    )
    .await
    .json();
    assert!(b["backups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["delete_pending"] == true));
    let b = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "backups"),
            ("clientid", &beta),
            ("delete_now", &oldest),
        ],
    )
    .await
    .json();
    assert_eq!(b["backups"].as_array().unwrap().len(), 2);
    let la = post(a, "lastacts", &[("ses", &ses)]).await.json();
    assert_eq!(la["lastacts"][0]["del"], true);
    // images use negative ids
    let gamma = sim.client_id("gamma").unwrap().to_string();
    let b = post(
        a,
        "backups",
        &[("ses", &ses), ("sa", "backups"), ("clientid", &gamma)],
    )
    .await
    .json();
    let img = b["backup_images"][0]["id"].as_i64().unwrap();
    let f = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "files"),
            ("clientid", &gamma),
            ("backupid", &(-img).to_string()),
        ],
    )
    .await
    .json();
    assert_eq!(f["backupid"], img);
    assert_eq!(f["can_mount"], true);
    let f = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "files"),
            ("clientid", &gamma),
            ("backupid", &(-img).to_string()),
            ("mount", "1"),
        ],
    )
    .await
    .json();
    assert!(!f["files"].as_array().unwrap().is_empty());
    // restore to an online client
    let r = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "clientdl"),
            ("clientid", &beta),
            ("backupid", &newest),
            ("path", "/home"),
        ],
    )
    .await
    .json();
    assert_eq!(r["ok"], "true");
    let key = r["wait_key"].as_str().unwrap().to_string();
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    assert_eq!(p["progress"][0]["action"], 8);
    sim.advance(Duration::from_secs(3));
    let w = post(
        a,
        "restore_prepare_wait",
        &[("ses", &ses), ("wait_key", &key)],
    )
    .await
    .json();
    assert_eq!(w["completed"], true);
    let gb = b["backups"][0]["id"].as_i64().unwrap().to_string();
    let r = post(
        a,
        "backups",
        &[
            ("ses", &ses),
            ("sa", "clientdl"),
            ("clientid", &gamma),
            ("backupid", &gb),
        ],
    )
    .await
    .json();
    assert_eq!(r["err"], "client_not_online");
}

#[tokio::test]
async fn livelog_long_poll() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    let alpha = sim.client_id("alpha").unwrap().to_string();
    let first = post(a, "livelog", &[("ses", &ses), ("clientid", &alpha)])
        .await
        .json();
    assert_eq!(first["logdata"][0]["msg"], "No log entries yet");
    let t = Instant::now();
    let r = post(
        a,
        "livelog",
        &[("ses", &ses), ("clientid", &alpha), ("lastid", "0")],
    )
    .await
    .json();
    assert_eq!(r["logdata"], serde_json::json!([]));
    assert!(t.elapsed() >= Duration::from_millis(250));
    // a line arriving during the wait is delivered
    let sim2 = sim.clone();
    let id = alpha.parse::<i64>().unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sim2.with_state(|s| s.start_backup_process(id, "full_file"));
    });
    let r = post(
        a,
        "livelog",
        &[("ses", &ses), ("clientid", &alpha), ("lastid", "0")],
    )
    .await
    .json();
    assert!(!r["logdata"].as_array().unwrap().is_empty());
}

// ------------------------------------------------------------- other actions

#[tokio::test]
async fn clients_extra_clients_and_installers() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    let r = post(a, "add_client", &[("ses", &ses), ("clientname", "inet1")])
        .await
        .json();
    assert_eq!(r["added_new_client"], true);
    assert_eq!(r["new_authkey"].as_str().unwrap().len(), 10);
    assert_eq!(r["internet_server_port"], "55415");
    let r = post(a, "add_client", &[("ses", &ses), ("clientname", "inet1")])
        .await
        .json();
    assert_eq!(r, serde_json::json!({"already_exists": true, "ok": true}));
    assert!(post(a, "add_client", &[("ses", &ses), ("clientname", "")])
        .await
        .body
        .is_empty());
    // extra clients: add, remove by hostname is a no-op, remove by id works
    let st = post(a, "status", &[("ses", &ses), ("hostname", "10.0.0.9")])
        .await
        .json();
    assert_eq!(st["extra_clients"][0]["id"], "1");
    let st = post(
        a,
        "status",
        &[("ses", &ses), ("hostname", "10.0.0.9"), ("remove", "true")],
    )
    .await
    .json();
    assert_eq!(st["extra_clients"].as_array().unwrap().len(), 1);
    let st = post(
        a,
        "status",
        &[("ses", &ses), ("hostname", "1"), ("remove", "true")],
    )
    .await
    .json();
    assert_eq!(st["extra_clients"], serde_json::json!([]));
    // remove_client / stop_remove_client
    let id = sim.client_id("inet1").unwrap().to_string();
    let st = post(a, "status", &[("ses", &ses), ("remove_client", &id)])
        .await
        .json();
    let e = st["status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "inet1")
        .unwrap()
        .clone();
    assert_eq!(e["delete_pending"], "1");
    let st = post(
        a,
        "status",
        &[
            ("ses", &ses),
            ("remove_client", &id),
            ("stop_remove_client", "true"),
        ],
    )
    .await
    .json();
    let e = st["status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "inet1")
        .unwrap()
        .clone();
    assert_eq!(e["delete_pending"], "0");
    // installer download: query string only
    let r = get(
        a,
        &format!("/x?a=download_client&ses={ses}&clientid={id}&os=linux"),
    )
    .await;
    assert_eq!(r.content_type(), Some("application/octet-stream"));
    assert_eq!(
        r.header("Content-Disposition"),
        Some("attachment; filename=\"UrBackup Client (inet1).sh\"")
    );
    assert_eq!(
        r.header("Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    assert!(r.text().contains("CLIENTNAME=inet1"));
    let r = get(
        a,
        &format!("/x?a=download_client&clientid={id}&authkey=abc"),
    )
    .await;
    assert!(r.header("Content-Disposition").unwrap().ends_with(".exe\""));
    let r = get(a, &format!("/x?a=download_client&clientid={id}")).await;
    assert!(r.text().starts_with("ERROR: "));
    assert!(r.content_type().is_none());
    // users / usage / piegraph / usagegraph
    let u = post(a, "users", &[("ses", &ses)]).await.json();
    assert!(u["users"].as_array().unwrap().len() >= 4);
    let us = post(a, "usage", &[("ses", &ses), ("recalculate", "true")])
        .await
        .json();
    assert_eq!(us["reset_statistics"], "true");
    assert!(us["usage"][0]["used"].as_f64().unwrap() > 0.0);
    let p = post(a, "progress", &[("ses", &ses)]).await.json();
    assert!(p["progress"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["action"] == 13 && x["clientid"] == 0));
    let pg = post(a, "piegraph", &[("ses", &ses)]).await.json();
    assert!(pg["data"][0]["data"].is_number());
    let ug = post(a, "usagegraph", &[("ses", &ses)]).await.json();
    assert!(!ug["data"].as_array().unwrap().is_empty());
    assert_eq!(
        post(a, "getimage", &[("ses", &ses)]).await.json()["error"],
        2
    );
    assert_eq!(
        post(a, "status_check", &[("ses", &ses)]).await.json(),
        serde_json::json!({})
    );
    let sc = post(a, "scripts", &[("ses", &ses), ("sa", "get_alert")])
        .await
        .json();
    assert_eq!(sc["id"], 1);
    assert!(post(a, "scripts", &[("ses", &ses), ("sa", "what")])
        .await
        .body
        .is_empty());
}

#[tokio::test]
async fn settings_semantics() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    let alpha = sim.client_id("alpha").unwrap().to_string();
    // set a client archive rule, then a partial save without archive wipes it (pitfall)
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "clientsettings_save"),
            ("t_clientid", &alpha),
            ("archive", "every_c0=1"),
            ("archive.use", "2"),
        ],
    )
    .await
    .json();
    assert_eq!(r["saved_ok"], true);
    assert_eq!(r["settings"]["archive"]["value"], "every_c0=1");
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "clientsettings_save"),
            ("t_clientid", &alpha),
            ("update_freq_incr", "3600"),
        ],
    )
    .await
    .json();
    assert_eq!(r["settings"]["update_freq_incr"]["use"], 2);
    assert_eq!(r["settings"]["update_freq_incr"]["value"], "3600");
    assert_eq!(r["settings"]["archive"]["value"], "");
    assert_eq!(r["settings"]["archive"]["use"], 2);
    // inherit again with K.use=1
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "clientsettings_save"),
            ("t_clientid", &alpha),
            ("update_freq_incr", "x"),
            ("update_freq_incr.use", "1"),
            ("archive", ""),
            ("archive.use", "1"),
        ],
    )
    .await
    .json();
    assert_eq!(r["settings"]["update_freq_incr"]["use"], 1);
    assert_eq!(r["settings"]["update_freq_incr"]["value_group"], "18000");
    // general save: nested + flat keys, booleans
    let g = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "general_save"),
            ("update_freq_incr", "-1"),
            ("update_freq_full", "-1"),
            ("backupfolder", "/data/"),
            ("no_images", "true"),
        ],
    )
    .await
    .json();
    assert_eq!(g["saved_ok"], true);
    assert_eq!(g["settings"]["backupfolder"], "/data");
    assert_eq!(g["settings"]["no_images"], true);
    assert_eq!(g["settings"]["update_freq_incr"]["value"], "-1");
    let st = post(a, "status", &[("ses", &ses)]).await.json();
    assert_eq!(st["no_images"], true);
    let beta = st["status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "beta")
        .unwrap()
        .clone();
    assert_eq!(beta["file_disabled"], true);
    // groups
    let r = post(
        a,
        "settings",
        &[("ses", &ses), ("sa", "groupadd"), ("name", "lab")],
    )
    .await
    .json();
    let gid = r["added_group"]["id"].as_i64().unwrap();
    assert_eq!(r["settings"]["clientid"], -gid);
    let r = post(
        a,
        "settings",
        &[("ses", &ses), ("sa", "groupadd"), ("name", "lab")],
    )
    .await
    .json();
    assert_eq!(r["already_exists"], true);
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "clientsettings_save"),
            ("t_clientid", &alpha),
            ("memberof", &gid.to_string()),
            ("no_ok", "true"),
        ],
    )
    .await
    .json();
    assert_eq!(r["saved_part"], true);
    assert_eq!(r["settings"]["memberof"], gid);
    let st = post(a, "status", &[("ses", &ses)]).await.json();
    assert!(st["status"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["groupname"] == "lab"));
    // users
    let rights = "idx=0&0_domain=status&0_right=all";
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "useradd"),
            ("name", "NewUser"),
            ("salt", "s1"),
            ("pwmd5", &common::md5_hex(b"s1pw2")),
            ("rights", rights),
        ],
    )
    .await
    .json();
    assert_eq!(r["add_ok"], true);
    let nu = r["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "newuser")
        .unwrap()
        .clone();
    assert!(nu["id"].is_string());
    assert_eq!(
        nu["rights"][0],
        serde_json::json!({"domain": "status", "right": "all"})
    );
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "useradd"),
            ("name", "newuser"),
            ("salt", "s1"),
            ("pwmd5", "x"),
            ("rights", rights),
        ],
    )
    .await
    .json();
    assert_eq!(r["alread_exists"], true);
    let (nses, login) = login_user(a, "newuser", "pw2").await;
    assert_eq!(login["success"], true);
    // own password change with old_pw proof
    let s = post(a, "salt", &[("ses", &nses)]).await.json();
    let old = common::proof(
        s["salt"].as_str().unwrap(),
        "pw2",
        10000,
        s["rnd"].as_str().unwrap(),
    );
    let r = post(
        a,
        "settings",
        &[
            ("ses", &nses),
            ("sa", "changepw"),
            ("userid", "own"),
            ("salt", "s2"),
            ("pwmd5", &common::md5_hex(b"s2pw3")),
            ("old_pw", &old),
        ],
    )
    .await;
    // newuser has no settings right -> error 1 (the gate comes first)
    assert_eq!(r.json()["error"], 1);
    let uid = nu["id"].as_str().unwrap().to_string();
    let r = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "updaterights"),
            ("userid", &uid),
            (
                "rights",
                "idx=0,1&0_domain=status&0_right=all&1_domain=settings&1_right=all",
            ),
        ],
    )
    .await
    .json();
    assert_eq!(r["update_right"], true);
    let s = post(a, "salt", &[("ses", &nses)]).await.json();
    let old = common::proof(
        s["salt"].as_str().unwrap(),
        "pw2",
        10000,
        s["rnd"].as_str().unwrap(),
    );
    let r = post(
        a,
        "settings",
        &[
            ("ses", &nses),
            ("sa", "changepw"),
            ("userid", "own"),
            ("salt", "s2"),
            ("pwmd5", &common::md5_hex(b"s2pw3")),
            ("old_pw", &old),
        ],
    )
    .await
    .json();
    assert_eq!(r["change_ok"], true);
    let (_, login) = login_user(a, "newuser", "pw3").await;
    assert_eq!(login["success"], true);
    let r = post(
        a,
        "settings",
        &[("ses", &ses), ("sa", "removeuser"), ("userid", &uid)],
    )
    .await
    .json();
    assert_eq!(r["removeuser"], true);
    // mail / ldap
    let m = post(
        a,
        "settings",
        &[
            ("ses", &ses),
            ("sa", "mail_save"),
            ("mail_servername", "smtp.example.com"),
        ],
    )
    .await
    .json();
    assert_eq!(m["settings"]["mail_servername"], "smtp.example.com");
    assert_eq!(m["settings"]["mail_serverport"], "25");
    let l = post(a, "settings", &[("ses", &ses), ("sa", "ldap")])
        .await
        .json();
    assert_eq!(l["settings"]["ldap_server_port"], 3268);
}

// ------------------------------------------------------------------------ faults

async fn try_status(sim: &SimServer, ses: &str) -> std::io::Result<common::Resp> {
    raw(
        sim.addr(),
        &common::post_req("/x?a=status", &format!("ses={ses}")),
    )
    .await
}

#[tokio::test]
async fn every_fault_kind() {
    let (sim, ses) = admin_sim().await;
    // delay
    sim.inject(
        FaultRule::new(Fault::Delay(Duration::from_millis(300)))
            .action("status")
            .times(1),
    );
    let t = Instant::now();
    assert!(try_status(&sim, &ses).await.unwrap().json()["status"].is_array());
    assert!(t.elapsed() >= Duration::from_millis(300));
    // bad gateway
    sim.inject(FaultRule::new(Fault::BadGateway).action("status").times(1));
    let r = try_status(&sim, &ses).await.unwrap();
    assert_eq!(r.status, 502);
    assert!(r.text().contains("502 Bad Gateway"));
    assert!(
        try_status(&sim, &ses).await.unwrap().json()["status"].is_array(),
        "times(1)"
    );
    // action filter: other actions unaffected
    sim.inject(FaultRule::new(Fault::BadGateway).action("progress"));
    assert_eq!(try_status(&sim, &ses).await.unwrap().status, 200);
    sim.clear_faults();
    // invalid / truncated / wrong types
    sim.inject(FaultRule::new(Fault::InvalidJson).times(1));
    let r = try_status(&sim, &ses).await.unwrap();
    assert_eq!(r.content_type(), Some("application/json"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    sim.inject(FaultRule::new(Fault::TruncatedJson).times(1));
    let full = try_status(&sim, &ses).await.unwrap();
    assert!(serde_json::from_slice::<Value>(&full.body).is_err());
    sim.inject(FaultRule::new(Fault::WrongTypes).times(1));
    let r = try_status(&sim, &ses).await.unwrap().json();
    assert!(r["status"][0]["id"].is_string());
    assert!(r["admin"].is_number());
    // reset
    sim.inject(FaultRule::new(Fault::ResetConnection).times(1));
    assert!(try_status(&sim, &ses).await.is_err());
    // refuse connections (all actions)
    sim.inject(FaultRule::new(Fault::RefuseConnections).times(2));
    assert!(try_status(&sim, &ses).await.is_err());
    assert!(try_status(&sim, &ses).await.is_err());
    assert!(try_status(&sim, &ses).await.is_ok());
    // stall mid body
    sim.inject(FaultRule::new(Fault::StallMidBody).times(1));
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    s.write_all(&common::post_req("/x?a=status", &format!("ses={ses}")))
        .await
        .unwrap();
    let mut data = Vec::new();
    let res = tokio::time::timeout(Duration::from_millis(500), s.read_to_end(&mut data)).await;
    assert!(res.is_err(), "stalled reply must not complete");
    assert!(data.starts_with(b"HTTP/1.1 200 ok"));
    // invalidate sessions
    sim.invalidate_sessions();
    assert_eq!(try_status(&sim, &ses).await.unwrap().json()["error"], 1);
}

#[tokio::test]
async fn counters_and_latency() {
    let (sim, ses) = admin_sim().await;
    assert_eq!(sim.logins(), 1);
    assert_eq!(sim.requests("salt"), 1);
    sim.reset_counters();
    sim.inject(FaultRule::new(Fault::BadGateway).action("status").times(1));
    try_status(&sim, &ses).await.unwrap();
    try_status(&sim, &ses).await.unwrap();
    post(sim.addr(), "progress", &[("ses", &ses)]).await;
    assert_eq!(sim.requests("status"), 2, "faulted requests are counted");
    assert_eq!(sim.requests("progress"), 1);
    assert_eq!(sim.total_requests(), 3);
    assert_eq!(sim.logins(), 0);
    sim.set_latency(Duration::from_millis(100));
    let t = Instant::now();
    try_status(&sim, &ses).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn control_endpoint() {
    let (sim, ses) = admin_sim().await;
    let a = sim.addr();
    try_status(&sim, &ses).await.unwrap();
    let s = get(a, "/_sim/stats").await.json();
    assert_eq!(s["requests"]["status"], 1);
    assert_eq!(s["logins"], 1);
    get(a, "/_sim/fault?kind=bad_gateway&action=status&times=1").await;
    assert_eq!(try_status(&sim, &ses).await.unwrap().status, 502);
    let before = sim.now();
    let r = get(a, "/_sim/advance?secs=100").await.json();
    assert_eq!(r["now"].as_i64().unwrap(), before + 100);
    get(a, "/_sim/reset").await;
    assert_eq!(sim.total_requests(), 0);
    get(a, "/_sim/online?name=gamma&online=true").await;
    assert!(sim.with_state(|s| s.clients[&s.client_id("gamma").unwrap()].online));
    get(a, "/_sim/restart").await;
    assert_eq!(try_status(&sim, &ses).await.unwrap().json()["error"], 1);
}

// ------------------------------------------------------------------- seeding etc.

#[test]
fn seeding_ten_thousand_clients() {
    let t = Instant::now();
    let st = Simulator::builder().clients(10_000).build_state();
    let took = t.elapsed();
    eprintln!("seeded 10000 clients in {took:?}");
    assert_eq!(st.clients.len(), 10_000);
    assert_eq!(st.clients[&1].name, "client-00001");
    assert_eq!(st.clients[&10_000].name, "client-10000");
    assert!(!st.clients[&4].online);
    assert!(st.clients[&5].image_not_supported);
    assert!(!st.clients[&1].image_backups.is_empty());
    assert!(st.clients.values().all(|c| c.file_backups.len() >= 2));
    // deterministic
    let st2 = Simulator::builder().clients(50).build_state();
    let st3 = Simulator::builder().clients(50).build_state();
    assert_eq!(
        st2.clients[&7].file_backups.len(),
        st3.clients[&7].file_backups.len()
    );
    assert_eq!(st2.clients[&7].uid, st3.clients[&7].uid);
}

#[test]
fn blocking_start_and_sync_client() {
    use std::io::{Read, Write};
    let sim = Simulator::builder().clients(3).start_blocking().unwrap();
    assert!(sim.url().starts_with("http://127.0.0.1:"));
    assert!(sim.url().ends_with("/x"));
    let mut s = std::net::TcpStream::connect(sim.addr()).unwrap();
    s.write_all(&common::post_req("/x?a=login", "")).unwrap();
    let mut data = Vec::new();
    s.read_to_end(&mut data).unwrap();
    let (r, _) = common::parse_resp(&data).unwrap();
    assert_eq!(r.json()["success"], true);
    assert_eq!(sim.logins(), 1);
    sim.shutdown_blocking();
}

#[test]
fn binary_prints_url_first() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--clients",
            "5",
            "--admin",
            "admin:secret",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("urbackup-sim listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.trim_end().ends_with("/x"));
}

#[test]
fn sim_server_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<SimServer>();
}

// ------------------------------------------------------- findings of the real server

fn authkey(r: &Value) -> String {
    r["settings"]["internet_authkey"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Real 2.5.33: while the global `internet_authkey` was never saved, every settings reload
/// (general save, group save, restart) shows a new random one; a save that includes it stores
/// it for good.
#[tokio::test]
async fn an_unsaved_internet_authkey_changes_on_every_reload_until_saved() {
    let (sim, ses) = admin_sim().await;
    let general = || async {
        post(sim.addr(), "settings", &[("ses", &ses), ("sa", "general")])
            .await
            .json()
    };
    let k0 = authkey(&general().await);
    assert_eq!(k0.len(), 10);
    assert_eq!(authkey(&general().await), k0, "reads alone change nothing");
    let saved = post(
        sim.addr(),
        "settings",
        &[
            ("ses", &ses),
            ("sa", "general_save"),
            ("max_sim_backups", "8"),
        ],
    )
    .await
    .json();
    assert_eq!(saved["saved_ok"], Value::Bool(true));
    let k1 = authkey(&saved);
    assert_ne!(k1, k0, "the save's own reply shows the new key");
    assert_eq!(authkey(&general().await), k1);
    // A group save reloads everything too; a client save does not.
    let g = post(
        sim.addr(),
        "settings",
        &[("ses", &ses), ("sa", "groupadd"), ("name", "g1")],
    )
    .await
    .json();
    let gid = g["added_group"]["id"].as_i64().unwrap();
    post(
        sim.addr(),
        "settings",
        &[
            ("ses", &ses),
            ("sa", "clientsettings_save"),
            ("t_clientid", &(-gid).to_string()),
            ("update_freq_full", "1000000"),
            ("update_freq_full.use", "2"),
        ],
    )
    .await;
    let k2 = authkey(&general().await);
    assert_ne!(k2, k1);
    post(
        sim.addr(),
        "settings",
        &[
            ("ses", &ses),
            ("sa", "clientsettings_save"),
            ("t_clientid", "1"),
            ("local_speed", "5"),
            ("local_speed.use", "2"),
        ],
    )
    .await;
    assert_eq!(authkey(&general().await), k2);
    sim.restart();
    let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
    let general = || async {
        post(sim.addr(), "settings", &[("ses", &ses), ("sa", "general")])
            .await
            .json()
    };
    let k3 = authkey(&general().await);
    assert_ne!(k3, k2, "a restart makes up a new one");
    // Saved once with the key, it stays.
    post(
        sim.addr(),
        "settings",
        &[
            ("ses", &ses),
            ("sa", "general_save"),
            ("max_sim_backups", "8"),
            ("internet_authkey", &k3),
        ],
    )
    .await;
    post(
        sim.addr(),
        "settings",
        &[
            ("ses", &ses),
            ("sa", "general_save"),
            ("max_sim_backups", "9"),
        ],
    )
    .await;
    sim.restart();
    let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
    let r = post(sim.addr(), "settings", &[("ses", &ses), ("sa", "general")])
        .await
        .json();
    assert_eq!(authkey(&r), k3);
}

/// Real 2.5.33: `clientdl` with a file as `path` answers ok with a wait key, then fails the
/// restore at once; its log has the one error line, `lastacts` has a row like any restore's.
#[tokio::test]
async fn a_file_sent_as_restore_path_fails_with_an_error_log() {
    let (sim, ses) = admin_sim().await;
    let beta = sim.client_id("beta").unwrap().to_string();
    let backups = post(
        sim.addr(),
        "backups",
        &[("ses", &ses), ("sa", "backups"), ("clientid", &beta)],
    )
    .await
    .json();
    let bid = backups["backups"][0]["id"].as_i64().unwrap().to_string();
    let files = |path: String| {
        let (ses, beta, bid) = (ses.clone(), beta.clone(), bid.clone());
        let addr = sim.addr();
        async move {
            post(
                addr,
                "backups",
                &[
                    ("ses", &ses),
                    ("sa", "files"),
                    ("clientid", &beta),
                    ("backupid", &bid),
                    ("path", &path),
                ],
            )
            .await
            .json()
        }
    };
    // Walk down to a folder holding a file.
    let mut folder = String::new();
    let file = loop {
        let l = files(folder.clone()).await;
        assert_eq!(l["can_restore"], Value::Bool(true));
        assert_eq!(l["server_confirms_restore"], Value::Bool(true));
        let list = l["files"].as_array().unwrap().clone();
        match list.iter().find(|f| f["dir"] == Value::Bool(false)) {
            Some(f) if !folder.is_empty() => break f["name"].as_str().unwrap().to_string(),
            _ => {
                let d = list.iter().find(|f| f["dir"] == Value::Bool(true)).unwrap();
                folder = format!("{folder}/{}", d["name"].as_str().unwrap());
            }
        }
    };
    let path = format!("{folder}/{file}");
    let r = post(
        sim.addr(),
        "backups",
        &[
            ("ses", &ses),
            ("sa", "clientdl"),
            ("clientid", &beta),
            ("backupid", &bid),
            ("path", &path),
        ],
    )
    .await
    .json();
    assert_eq!(r["ok"], "true");
    assert!(r["wait_key"].as_str().is_some_and(|k| !k.is_empty()));
    let logs = post(sim.addr(), "logs", &[("ses", &ses), ("ll", "0")])
        .await
        .json();
    let log = &logs["logs"][0];
    assert_eq!(
        (log["restore"].as_i64(), log["errors"].as_i64()),
        (Some(1), Some(1))
    );
    let id = log["id"].as_i64().unwrap().to_string();
    let one = post(sim.addr(), "logs", &[("ses", &ses), ("logid", &id)])
        .await
        .json();
    let data = one["log"]["data"].as_str().unwrap();
    assert!(data.starts_with("2-"), "{data}");
    assert!(
        data.contains(&format!("{path}. Cannot start restore.")),
        "{data}"
    );
    let acts = post(sim.addr(), "lastacts", &[("ses", &ses)]).await.json();
    let a = &acts["lastacts"][0];
    assert_eq!(a["restore"], 1);
    assert_eq!(a["size_bytes"], -1);
    assert_eq!(a["details"].as_str(), Some(&path[1..]));
    // The same file as folder + filter restores (and is named the same way).
    let r = post(
        sim.addr(),
        "backups",
        &[
            ("ses", &ses),
            ("sa", "clientdl"),
            ("clientid", &beta),
            ("backupid", &bid),
            ("path", &folder),
            ("filter", &file),
        ],
    )
    .await
    .json();
    assert_eq!(r["ok"], "true");
    sim.advance(Duration::from_secs(60));
    let logs = post(sim.addr(), "logs", &[("ses", &ses), ("ll", "0")])
        .await
        .json();
    let log = &logs["logs"][0];
    assert_eq!(
        (log["restore"].as_i64(), log["errors"].as_i64()),
        (Some(1), Some(0))
    );
    let id = log["id"].as_i64().unwrap().to_string();
    let one = post(sim.addr(), "logs", &[("ses", &ses), ("logid", &id)])
        .await
        .json();
    let data = one["log"]["data"].as_str().unwrap();
    assert!(data.contains("Starting restore of path \""), "{data}");
    assert!(
        data.ends_with("-Restore finished successfully.\n"),
        "{data}"
    );
    // A filter naming nothing in the folder: the restore runs, then fails (real 2.5.33).
    post(
        sim.addr(),
        "backups",
        &[
            ("ses", &ses),
            ("sa", "clientdl"),
            ("clientid", &beta),
            ("backupid", &bid),
            ("path", &folder),
            ("filter", "no-such-file.txt"),
        ],
    )
    .await;
    sim.advance(Duration::from_secs(60));
    let logs = post(sim.addr(), "logs", &[("ses", &ses), ("ll", "0")])
        .await
        .json();
    let log = &logs["logs"][0];
    assert_eq!(
        (log["restore"].as_i64(), log["errors"].as_i64()),
        (Some(1), Some(1))
    );
    let id = log["id"].as_i64().unwrap().to_string();
    let one = post(sim.addr(), "logs", &[("ses", &ses), ("logid", &id)])
        .await
        .json();
    let data = one["log"]["data"].as_str().unwrap();
    assert!(data.contains("-Error enumerating files in"), "{data}");
    assert!(data.ends_with("-Restore failed.\n"), "{data}");
}

/// Real 2.5.33: the global live log of a running server already holds its start-up lines,
/// also for a first poll with `lastid=0`.
#[tokio::test]
async fn the_global_live_log_is_never_empty() {
    let (sim, ses) = admin_sim().await;
    for extra in [None, Some(("lastid", "0"))] {
        let mut p = vec![("ses", ses.as_str()), ("clientid", "0")];
        p.extend(extra);
        let r = post(sim.addr(), "livelog", &p).await.json();
        let lines = r["logdata"].as_array().unwrap();
        assert!(lines.len() >= 2, "{r}");
        assert!(lines.iter().all(|l| l["id"].as_i64() > Some(0)), "{r}");
    }
}

/// Switched-off kinds look as on the real server: `file_disabled` / `image_disabled` with
/// `*_ok` false (`realclient` in `status__after-backups` of the real captures), from the
/// client's own negated intervals or from `no_file_backups` / `no_images`.
#[tokio::test]
async fn disabled_kinds_in_status_and_settings() {
    let sim = Simulator::builder()
        .client(
            ClientSpec::new("nofile")
                .windows()
                .backups(2, 1)
                .file_backups_disabled(),
        )
        .client(
            ClientSpec::new("noimage")
                .windows()
                .backups(2, 1)
                .image_backups_disabled(),
        )
        .client(
            ClientSpec::new("failing")
                .linux()
                .backups(2, 0)
                .last_backup_failed(),
        )
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (ses, _) = login_user(sim.addr(), "admin", "secret").await;
    let st = post(sim.addr(), "status", &[("ses", &ses)]).await.json();
    let c = |n: &str| {
        st["status"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(c("nofile")["file_disabled"], Value::Bool(true));
    assert_eq!(c("nofile")["file_ok"], Value::Bool(false));
    assert!(c("nofile")["lastbackup"].as_i64().unwrap() > 0);
    assert_eq!(c("nofile")["image_ok"], Value::Bool(true));
    assert!(c("nofile").get("image_disabled").is_none());
    assert_eq!(c("noimage")["image_disabled"], Value::Bool(true));
    assert_eq!(c("noimage")["image_ok"], Value::Bool(false));
    assert_eq!(c("noimage")["file_ok"], Value::Bool(true));
    assert_eq!(c("failing")["file_ok"], Value::Bool(false));
    assert!(c("failing").get("file_disabled").is_none());
    assert_eq!(c("failing")["last_filebackup_issues"], 1);
    assert_eq!(c("failing")["image_not_supported"], Value::Bool(true));
    // The client's settings show the negated intervals as its own values.
    let id = c("nofile")["id"].as_i64().unwrap().to_string();
    let s = post(
        sim.addr(),
        "settings",
        &[("ses", &ses), ("sa", "clientsettings"), ("t_clientid", &id)],
    )
    .await
    .json();
    assert_eq!(
        s["settings"]["update_freq_incr"]["value"],
        Value::String("-18000".into()),
        "{s}"
    );
    // no_file_backups switches file backups off for every client.
    let r = post(
        sim.addr(),
        "settings",
        &[
            ("ses", &ses),
            ("sa", "general_save"),
            ("no_file_backups", "true"),
        ],
    )
    .await
    .json();
    assert_eq!(r["saved_ok"], Value::Bool(true), "{r}");
    let st = post(sim.addr(), "status", &[("ses", &ses)]).await.json();
    assert_eq!(st["no_file_backups"], Value::Bool(true));
    for c in st["status"].as_array().unwrap() {
        assert_eq!(c["file_disabled"], Value::Bool(true), "{c}");
        assert_eq!(c["file_ok"], Value::Bool(false), "{c}");
    }
}
