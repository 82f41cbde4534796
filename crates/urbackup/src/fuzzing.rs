//! Entry points for fuzzing and for the tests over the real server's captures: each runs a
//! reply through exactly the code a live call uses (the error table, then the decoder of that
//! action). Not part of the stable API (feature `fuzzing`).

use crate::api::{
    LastActsReply, LiveLogReply, LogsReply, NavReply, PieReply, ProgressReply, StartReply,
    UsageReply, UsersReply,
};
use crate::error::UrbackupError;
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
            let _ = serde_json::from_slice::<ClientStatus>(element);
            n += 1;
            Ok(())
        });
    }
    let _ = splitter.complete();
    let _ = serde_json::from_slice::<StatusReport>(splitter.outside());
    n
}
