//! Entry points for fuzzing and for the tests over the real server's captures: each runs a
//! reply through exactly the code a live call uses (the error table, then the decoder of that
//! action). Not part of the stable API (feature `fuzzing`).

use crate::api::{
    LastActsReply, LiveLogReply, LogsReply, NavReply, PieReply, ProgressReply, StartReply,
    UsageReply, UsersReply,
};
use crate::error::UrbackupError;
use crate::models::FromElement;
use crate::models::*;
use crate::transport::{self, Reply, Verdict};
use bytes::Bytes;
use serde_json::{Map, Value};

/// The web actions and sub-actions whose replies have a decoder.
pub const ACTIONS: &[(&str, &str)] = &[
    ("status", ""),
    ("progress", ""),
    ("lastacts", ""),
    ("start_backup", ""),
    ("add_client", ""),
    ("backups", ""),
    ("backups", "backups"),
    ("backups", "files"),
    ("logs", ""),
    ("livelog", ""),
    ("settings", "general"),
    ("settings", "clientsettings"),
    ("settings", "listusers"),
    ("settings", "groupadd"),
    ("settings", "mail"),
    ("usage", ""),
    ("piegraph", ""),
    ("usagegraph", ""),
    ("users", ""),
    ("status_check", ""),
    ("login", ""),
    ("salt", ""),
];

/// What a reply turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Decoded into the action's type.
    Decoded,
    /// The session was refused (a re-login would follow).
    SessionRefused,
    /// A login or salt reply that the login flow accepted.
    LoginAccepted,
}

/// Runs `body` (with `content_type`) through the error table and the decoder that the API
/// uses for `action`/`sa`. Returns what it was, or the error a caller would get.
pub fn decode_reply(
    action: &str,
    sa: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Outcome, UrbackupError> {
    let reply = Reply {
        body: Bytes::copy_from_slice(body),
        content_type: content_type.map(str::to_owned),
    };
    if action == "login" || action == "salt" {
        let v: Value = transport::decode(action, &reply)?;
        transport::finish_login(&v)?;
        let _ = transport::login_info(&v, false);
        return Ok(Outcome::LoginAccepted);
    }
    match transport::classify(action, &reply) {
        Verdict::SessionRefused => return Ok(Outcome::SessionRefused),
        Verdict::Error(e) => return Err(e),
        Verdict::Ok => {}
    }
    let d = |r: &Reply| -> Result<(), UrbackupError> {
        match (action, sa) {
            ("status", _) => {
                // Streamed, as `status_report` reads it: each client from its own bytes.
                let rest =
                    transport::split_items::<ClientStatus>(action, "status", &r.body, &mut drop)?;
                let reply = Reply {
                    body: rest,
                    content_type: None,
                };
                transport::decode::<StatusReport>(action, &reply).map(drop)
            }
            ("progress", _) => transport::decode::<ProgressReply>(action, r).map(drop),
            ("lastacts", _) => transport::decode::<LastActsReply>(action, r).map(drop),
            ("start_backup", _) => transport::decode::<StartReply>(action, r).map(drop),
            ("add_client", _) => {
                let v: Value = transport::decode(action, r)?;
                if v.get("added_new_client").is_some() {
                    transport::decode::<NewClient>(action, r)?;
                }
                Ok(())
            }
            ("backups", "backups") => {
                transport::decode::<BackupsReply>(action, r).map(|b| drop(ClientBackups::from(b)))
            }
            ("backups", "files") => transport::decode::<BackupListing>(action, r).map(drop),
            ("logs", _) => {
                let l: LogsReply = transport::decode(action, r)?;
                if let Some(log) = l.log {
                    drop(Log::parse_lines(&log.data));
                }
                Ok(())
            }
            ("livelog", _) => transport::decode::<LiveLogReply>(action, r).map(drop),
            ("settings", "listusers" | "useradd" | "updaterights" | "removeuser" | "changepw") => {
                let u: UsersReply = transport::decode(action, r)?;
                u.users.into_iter().for_each(|u| drop(u.fill_rights_text()));
                Ok(())
            }
            ("settings", "groupadd" | "listgroups" | "navitems" | "groupremove") => {
                transport::decode::<NavReply>(action, r).map(drop)
            }
            ("settings", _) => {
                let m: Map<String, Value> = transport::decode(action, r)?;
                match m.get("settings") {
                    Some(Value::Object(o)) => drop(Settings::from_object(o)),
                    _ => return Err(UrbackupError::access_denied(action, None)),
                }
                Ok(())
            }
            ("usage", _) => transport::decode::<UsageReply>(action, r).map(drop),
            ("piegraph", _) => transport::decode::<PieReply>(action, r).map(drop),
            ("usagegraph", _) => transport::decode::<UsageGraph>(action, r).map(drop),
            _ => transport::decode::<Value>(action, r).map(drop),
        }
    };
    d(&reply)?;
    Ok(Outcome::Decoded)
}

/// The text parsers: log lines, rights, archive rules, server URLs.
pub fn parse_texts(text: &str) {
    drop(Log::parse_lines(text));
    if let Ok(r) = text.parse::<Rights>() {
        drop(r.encode());
        drop(r.to_string());
    }
    drop(crate::api::strip_archive_annotations(text));
    drop(transport::endpoint_url(text));
    drop(crate::error::snippet(text.as_bytes()));
}

/// The incremental list splitter of streamed replies, fed in pieces of `chunk` bytes; each
/// element is decoded as a client status. Returns the number of elements.
pub fn split_list(body: &[u8], chunk: usize) -> usize {
    let mut splitter = crate::stream::ListSplitter::new("status");
    let mut n = 0;
    for piece in body.chunks(chunk.max(1)) {
        let _ = splitter.feed::<()>(piece, &mut |element| {
            let _ = <ClientStatus as FromElement>::from_element(element);
            n += 1;
            Ok(())
        });
    }
    let _ = splitter.complete();
    let _ = crate::text::decode_json::<StatusReport>(splitter.outside());
    n
}

/// Writes `bytes` as the real server writes a string (`urbackupcommon/json.cpp`, `escape`):
/// `"`, `\`, newlines and bytes below 32 escaped, every other byte as it is.
pub fn server_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
    out
}

/// Puts `name` (any bytes) where the real server puts names and messages: a client name in
/// `status` (streamed, as live calls read it), a file name in a listing, a live-log and a log
/// message, a client setting's value, a user name; decodes each reply with the decoder of its
/// action and panics unless it decodes and the name comes back as the same bytes
/// ([`crate::text::to_server`]) in the typed value and in `raw`.
pub fn names_round_trip(name: &[u8]) {
    use crate::text::to_server;
    let s = server_string(name);
    let expect = |got: &str, what: &str| {
        assert_eq!(
            to_server(got).as_ref(),
            name,
            "{what}: {got:?} does not name the bytes sent"
        );
    };
    let reply = |parts: &[&[u8]]| Reply {
        body: Bytes::from(parts.concat()),
        content_type: Some("application/json".into()),
    };
    // status, streamed
    let body = reply(&[
        b"{\n\"admin\": true,\n\"server_identity\": \"#Ix#\",\n\"status\": [{\n\"id\": 1,\n\"name\": ",
        &s,
        b",\n\"online\": true\n}\n,{\n\"id\": 2,\n\"name\": \"b\"\n}\n]\n}\n",
    ]);
    let mut names = Vec::new();
    let rest = transport::split_items::<ClientStatus>("status", "status", &body.body, &mut |c| {
        names.push(c)
    })
    .expect("status decodes");
    assert_eq!(names.len(), 2, "two clients");
    expect(&names[0].name, "status name");
    expect(
        names[0].raw.to_value()["name"].as_str().unwrap_or_default(),
        "status raw",
    );
    transport::decode::<StatusReport>(
        "status",
        &Reply {
            body: rest,
            content_type: None,
        },
    )
    .expect("status rest decodes");
    // status, in one piece (the legacy surface's `Value`)
    let v: Value = transport::decode("status", &body).expect("status as a value");
    expect(
        v["status"][0]["name"].as_str().unwrap_or_default(),
        "legacy status",
    );
    // a listing
    let body = reply(&[
        b"{\n\"backupid\": 1,\n\"can_restore\": true,\n\"clientid\": 1,\n\"clientname\": \"c\",\n\"files\": [{\n\"dir\": false,\n\"name\": ",
        &s,
        b",\n\"size\": 3\n}\n],\n\"path\": ",
        &s,
        b"\n}\n",
    ]);
    let l: BackupListing = transport::decode("backups", &body).expect("listing decodes");
    expect(&l.files[0].name, "file name");
    expect(&l.path, "listing path");
    // the live log and a stored log
    let body = reply(&[
        b"{\n\"logdata\": [{\n\"id\": 1,\n\"loglevel\": 0,\n\"msg\": ",
        &s,
        b",\n\"time\": 1\n}\n]\n}\n",
    ]);
    let l: LiveLogReply = transport::decode("livelog", &body).expect("livelog decodes");
    expect(&l.logdata[0].message, "live log message");
    // a setting's value (2.5 and 2.4 shapes)
    for (pre, post) in [
        (
            &b"{\n\"settings\": {\n\"default_dirs\": {\n\"use\": 2,\n\"value\": "[..],
            &b"\n}\n}\n}\n"[..],
        ),
        (
            &b"{\n\"settings\": {\n\"default_dirs\": "[..],
            &b"\n}\n}\n"[..],
        ),
    ] {
        let body = reply(&[pre, &s, post]);
        let m: Map<String, Value> = transport::decode("settings", &body).expect("settings decode");
        let settings = match m.get("settings") {
            Some(Value::Object(o)) => Settings::from_object(o),
            _ => panic!("no settings"),
        };
        expect(
            &settings.get("default_dirs").expect("the key").text(),
            "setting value",
        );
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn latin1_and_escape_like_names() {
        for name in [
            &b"caf\xE9-latin1.txt"[..],
            b"\xff",
            b"a\\xE9",
            b"\\x5C\\",
            b"\"quoted\"\n\x01",
            "café".as_bytes(),
            b"",
        ] {
            super::names_round_trip(name);
        }
    }

    proptest! {
        /// No decoding failure for any byte sequence inside a string, in any reply shape.
        #[test]
        fn any_bytes_in_names_decode(name in prop::collection::vec(any::<u8>(), 0..48)) {
            super::names_round_trip(&name);
        }
    }
}
