//! Every response captured from the real UrBackup servers (2.5.33 in `fixtures/real-2.5/`,
//! 2.4.15 in `fixtures/real-2.4/`) goes through the same error table and decoders as a live
//! reply.

use crate::api::{
    LastActsReply, LiveLogReply, LogsReply, NavReply, PieReply, ProgressReply, StartReply,
    UsageReply, UsersReply,
};
use crate::models::*;
use crate::transport::{self, Reply, Verdict};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::path::PathBuf;

pub(crate) struct Capture {
    file: String,
    action: String,
    sa: String,
    http_status: u64,
    reply: Reply,
}

fn captures() -> Vec<Capture> {
    captures_in("real-2.5")
}

/// The captures of one directory of `fixtures/`.
pub(crate) fn captures_in(version_dir: &str) -> Vec<Capture> {
    use base64::Engine;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(version_dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures directory") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let req = &v["request"];
        let resp = &v["response"];
        let content_type = resp["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("content-type"))
            .map(|h| h[1].as_str().unwrap().to_owned());
        out.push(Capture {
            file: path.file_name().unwrap().to_string_lossy().into_owned(),
            action: req["action"].as_str().unwrap_or("").to_owned(),
            sa: req["params"]["sa"].as_str().unwrap_or("").to_owned(),
            http_status: resp["http_status"].as_u64().unwrap(),
            reply: Reply {
                // A body that is not UTF-8 is kept exactly in `body_raw_base64`.
                body: match resp["body_raw_base64"].as_str() {
                    Some(b) => Bytes::from(
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .expect("base64"),
                    ),
                    None => Bytes::from(resp["body_raw"].as_str().unwrap_or("").to_owned()),
                },
                content_type,
            },
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

fn get(file: &str) -> Capture {
    captures()
        .into_iter()
        .find(|c| c.file == file)
        .unwrap_or_else(|| panic!("{file}"))
}

fn decode<T: serde::de::DeserializeOwned>(c: &Capture) -> T {
    transport::decode(&c.action, &c.reply).unwrap_or_else(|e| panic!("{}: {e}", c.file))
}

/// Runs a capture through the API's error table and decoder; returns what kind it was.
fn decode_as_api_does(c: &Capture) -> &'static str {
    if c.http_status != 200 {
        return "http-error";
    }
    match c.action.as_str() {
        "download_client" => {
            assert!(c.reply.body.starts_with(b"ERROR:"), "{}", c.file);
            return "download-error";
        }
        "backups" if c.sa == "filesdl" || c.sa == "zipdl" => return "download",
        "server_status" => return "text",
        _ => {}
    }
    let outcome = crate::fuzzing::decode_reply(
        &c.action,
        &c.sa,
        c.reply.content_type.as_deref(),
        &c.reply.body,
    );
    match outcome {
        Ok(crate::fuzzing::Outcome::Decoded) => "ok",
        Ok(crate::fuzzing::Outcome::SessionRefused) => "session-refused",
        Ok(crate::fuzzing::Outcome::LoginAccepted) => "login",
        Err(crate::UrbackupError::UnexpectedResponse { reason, .. }) => {
            panic!("{}: {reason}", c.file)
        }
        Err(_) => "error",
    }
}

#[test]
fn every_capture_decodes() {
    let all = captures();
    assert!(all.len() >= 166, "found {} captures", all.len());
    let mut kinds = std::collections::BTreeMap::new();
    for c in &all {
        *kinds.entry(decode_as_api_does(c)).or_insert(0) += 1;
    }
    // Every error shape of the captures is recognised as one.
    assert!(kinds["session-refused"] >= 10, "{kinds:?}");
    assert!(kinds["error"] >= 3, "{kinds:?}");
    assert!(kinds["ok"] >= 120, "{kinds:?}");
}

#[test]
fn error_shapes_of_the_captures() {
    for f in [
        "status__unknown-session.json",
        "status__no-session.json",
        "status__session-after-server-restart.json",
        "progress__unknown-session.json",
        "add_client__limited-user.json",
        "settings__unknown-session.json",
        "settings__limited-user-general.json",
        "start_backup__unknown-session.json",
        "start_backup__limited-user.json",
        "backups__unknown-session.json",
    ] {
        let c = get(f);
        assert!(
            matches!(
                transport::classify(&c.action, &c.reply),
                Verdict::SessionRefused
            ),
            "{f}"
        );
    }
    for f in [
        "backups__files-unknown-backup.json",
        "backups__files-wrong-client.json",
    ] {
        let c = get(f);
        match transport::classify(&c.action, &c.reply) {
            Verdict::Error(crate::UrbackupError::AccessDenied { detail, .. }) => {
                assert_eq!(detail.as_deref(), Some("path_browse_access_denied"), "{f}")
            }
            _ => panic!("{f}"),
        }
    }
    let c = get("unknown-action.json");
    assert!(matches!(
        transport::classify(&c.action, &c.reply),
        Verdict::Error(crate::UrbackupError::Server { .. })
    ));
}

#[test]
fn login_replies() {
    let v = |f: &str| -> Value { serde_json::from_slice(&get(f).reply.body).unwrap() };
    assert!(transport::finish_login(&v("login__admin-success.json")).is_ok());
    assert!(transport::finish_login(&v("login__plainpw-success.json")).is_ok());
    assert!(matches!(
        transport::finish_login(&v("login__wrong-password.json")),
        Err(crate::UrbackupError::Authentication(
            crate::AuthFailure::WrongPassword
        ))
    ));
    assert!(matches!(
        transport::finish_login(&v("login__plainpw-wrong.json")),
        Err(crate::UrbackupError::Authentication(
            crate::AuthFailure::WrongPassword
        ))
    ));
    let info = transport::login_info(&v("login__limited-user-rights.json"), false);
    assert!(info
        .rights
        .iter()
        .any(|(k, r)| k == "browse_backups" && r == "none"));
    assert_eq!(info.api_version, Some(2));
    let salt = v("salt__admin.json");
    assert_eq!(salt["pbkdf2_rounds"], 10000);
    assert_eq!(v("salt__unknown-user.json")["error"], 0);
}

#[test]
fn status_fields() {
    let r: StatusReport = decode(&get("status__after-backups.json"));
    let c = r.status.iter().find(|c| c.name == "realclient").unwrap();
    assert_eq!(c.id, 2);
    assert!(c.online && c.lastbackup > 1_700_000_000 && c.file_disabled && !c.file_ok);
    assert!(!c.file_failed(), "disabled is not failed");
    assert!(c.image_not_supported && !c.image_failed());
    assert_eq!(c.os_simple, "linux");
    assert!(c.raw.get().contains("\"uid\""));

    let r: StatusReport = decode(&get("status__during-full-file.json"));
    let c = r.status.iter().find(|c| c.name == "realclient").unwrap();
    assert_eq!(c.processes[0].action, ActionType::FullFile);
    assert_eq!(c.processes[0].pcdone, -1);
    assert_eq!(c.status, 2);

    let r: StatusReport = decode(&get("status__after-add-extra-client.json"));
    assert_eq!(r.extra_clients[0].id, 1, "extra client ids come as strings");
    let r: StatusReport = decode(&get("status__remove_client.json"));
    assert!(r.status.iter().find(|c| c.id == 1).unwrap().delete_pending);
    let r: StatusReport = decode(&get("status__stop_remove_client.json"));
    assert!(!r.status.iter().find(|c| c.id == 1).unwrap().delete_pending);
    let r: StatusReport = decode(&get("status__limited-user.json"));
    assert!(!r.admin);
}

#[test]
fn progress_fields() {
    let r: ProgressReply = decode(&get("progress__during-full-file.json"));
    let p = &r.progress[0];
    assert_eq!(
        (p.clientid, p.action, p.progress_percent),
        (2, ActionType::FullFile, -1)
    );
    assert_eq!((p.logid, p.total_bytes, p.eta_ms), (5, -1, 61000));
    // The server's 61 s means "under a minute": never reported as 61 s.
    assert!(p.eta_under_a_minute());
    assert_eq!(p.eta(), Some(std::time::Duration::from_secs(60)));
    assert!(p.can_stop_backup);
    let later: ProgressReply = decode(&get("progress__during-incr-file-later.json"));
    assert!(later.progress.iter().all(|p| p.progress_percent >= -1));
    let acts: LastActsReply = decode(&get("lastacts__after-backups.json"));
    assert!(acts.lastacts.iter().all(|a| a.clientid == 2 && !a.deletion));
    assert!(acts.lastacts.iter().any(|a| a.size_bytes == 408919));
}

#[test]
fn backups_fields() {
    let b: ClientBackups = decode::<BackupsReply>(&get("backups__backups-after-all.json")).into();
    assert_eq!(b.file_backups.len(), 3);
    assert!(b.file_backups.iter().all(|e| e.clientid == 2 && !e.image));
    assert!(b.file_backups[0].disable_delete && b.file_backups[0].incremental == 1);
    assert!(b.image_backups.is_empty() && b.can_delete);
    let l: BackupListing = decode(&get("backups__files-subdir.json"));
    assert!(!l.files.is_empty());
    assert!(l
        .files
        .iter()
        .any(|f| !f.dir && f.size > 0 && f.mod_time > 0));
}

#[test]
fn start_results() {
    let r: StartReply = decode(&get("start_backup__multi-client.json"));
    let ok: Vec<bool> = r.result.iter().map(|s| s.start_ok).collect();
    assert_eq!(ok, vec![true, false, false]);
    assert_eq!(r.result[2].clientid, 9999);
}

#[test]
fn users_groups_settings() {
    let u: UsersReply = decode(&get("settings__listusers-final.json"));
    let users: Vec<User> = u.users.into_iter().map(User::fill_rights_text).collect();
    assert_eq!(users[0].id, 1, "user ids come as strings");
    assert_eq!(users[0].rights, "all");
    assert!(users[1].rights.contains('='), "{}", users[1].rights);
    let dup: UsersReply = decode(&get("settings__useradd-duplicate.json"));
    assert!(dup.alread_exists && !dup.add_ok);
    let nav: NavReply = decode(&get("settings__groupadd-duplicate.json"));
    assert!(nav
        .navitems
        .unwrap()
        .groups
        .iter()
        .any(|g| g.name == "testgroup"));

    let m: Map<String, Value> = decode(&get("settings__clientsettings-realclient.json"));
    let s = Settings::from_object(m["settings"].as_object().unwrap());
    assert!(s.get("alert_scripts").is_none() && s.get("clientid").is_none());
    let f = s.get("update_freq_incr").unwrap();
    assert!(f.use_mask.is_some());
    let m: Map<String, Value> = decode(&get("settings__general-fresh-defaults.json"));
    let s = Settings::from_object(m["settings"].as_object().unwrap());
    assert!(s.get("backupfolder").is_some());
    assert!(s.get("update_freq_incr").unwrap().use_mask.is_none());
    let m: Map<String, Value> = decode(&get("settings__mail.json"));
    let s = Settings::from_object(m["settings"].as_object().unwrap());
    assert!(s.get("mail_servername").is_some());
}

#[test]
fn logs_usage_graphs() {
    let l: LogsReply = decode(&get("logs__logid.json"));
    let d = l.log.unwrap();
    let lines = Log::parse_lines(&d.data);
    assert!(lines.len() > 3 && lines.iter().all(|l| l.time > 0));
    assert_eq!(d.clientname, "realclient");
    let none: LogsReply = decode(&get("logs__unknown-logid.json"));
    assert!(none.log.is_none());
    let list: LogsReply = decode(&get("logs__all-levels.json"));
    assert!(!list.logs.is_empty());
    let live: LiveLogReply = decode(&get("livelog__after-backups.json"));
    assert!(live.logdata.iter().any(|e| e.level == LogLevel::Debug));
    let u: UsageReply = decode(&get("usage__after-backups.json"));
    let usage = u.usage.unwrap();
    assert!(usage.iter().any(|e| e.files == 409003));
    assert!(u.reset_statistics);
    let none: UsageReply = decode(&get("usage__limited-user.json"));
    assert!(none.usage.is_none());
    let g: UsageGraph = decode(&get("usagegraph__after-backups.json"));
    assert!((g.data[0].data - 0.390056).abs() < 1e-9);
    let p: PieReply = decode(&get("piegraph__after-backups.json"));
    assert!(p.data[0].data > 0.0);
}

#[test]
fn a_latin1_file_name_of_the_real_server() {
    let c = get("backups__files-latin1-name.json");
    assert!(
        std::str::from_utf8(&c.reply.body).is_err(),
        "the capture holds 0xE9"
    );
    let l: BackupListing = decode(&c);
    let f = l.files.iter().find(|f| f.name.starts_with("caf")).unwrap();
    assert_eq!(f.name, r"caf\xE9-latin1.txt");
    assert_eq!(
        crate::text::to_server(&f.name).as_ref(),
        b"caf\xE9-latin1.txt"
    );
    assert!(f.raw.get().contains(r#""caf\\xE9-latin1.txt""#));
    assert_eq!(l.files.len(), 3);
    // The legacy surface's value holds the same text.
    let v: Value = decode(&c);
    assert!(v["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == r"caf\xE9-latin1.txt"));
}

#[test]
fn every_capture_of_the_2_4_server_decodes() {
    let all = captures_in("real-2.4");
    assert!(all.len() >= 20, "found {} captures", all.len());
    for c in &all {
        decode_as_api_does(c);
    }
}

#[test]
fn what_2_4_sends_differently() {
    let get24 = |f: &str| {
        captures_in("real-2.4")
            .into_iter()
            .find(|c| c.file == f)
            .unwrap_or_else(|| panic!("{f}"))
    };
    // status: no server_pubkey, no uid, no image_not_supported
    let r: StatusReport = decode(&get24("status__real-client-online.json"));
    assert_eq!(r.generation, Some(ServerGeneration::V2_4));
    let c = r.status.iter().find(|c| c.name == "realclient").unwrap();
    assert!(c.uid.is_empty() && c.os_simple == "linux");
    assert!(
        c.image_not_supported,
        "derived from os_simple as 2.4's web UI does"
    );
    // A 2.4 client named `uid` is still a 2.4 client (the key is looked for, not the word).
    let mut named = get24("status__real-client-online.json");
    let body = String::from_utf8(named.reply.body.to_vec()).unwrap();
    named.reply.body = body
        .replace("\"name\": \"realclient\"", "\"name\": \"uid\"")
        .into();
    let r: StatusReport = decode(&named);
    let c = r.status.iter().find(|c| c.name == "uid").unwrap();
    assert!(c.image_not_supported);
    let r: StatusReport = decode(&get("status__after-backups.json"));
    assert_eq!(r.generation, Some(ServerGeneration::V2_5));
    // the live log line with a Latin-1 name
    let live: LiveLogReply = decode(&get24("livelog__client-latin1.json"));
    assert!(live
        .logdata
        .iter()
        .any(|e| e.level == LogLevel::Debug && e.message.contains(r#""caf\xE9-latin1.txt""#)));
    // add_client: no server_url
    let v: Value = decode(&get24("add_client__new.json"));
    assert!(v.get("server_url").is_none());
    // salt of an unknown user, a wrong password
    let v: Value = decode(&get24("salt__unknown-user.json"));
    assert_eq!(v["error"], 0);
    let v: Value = decode(&get24("login__wrong-password.json"));
    assert!(matches!(
        transport::finish_login(&v),
        Err(crate::UrbackupError::Authentication(
            crate::AuthFailure::WrongPassword
        ))
    ));
}
