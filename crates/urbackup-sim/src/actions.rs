//! Action handlers (§4). Handlers are synchronous functions over the locked [`State`].

use serde_json::{json, Map, Value};

use crate::auth;
use crate::http::Params;
use crate::state::{Client, ExtraClient, Right, Session, State};

/// What an action produced.
#[derive(Debug, Clone)]
pub enum Reply {
    /// JSON body with `Content-type: application/json`.
    Json(Value),
    /// Empty body (no Content-type).
    Empty,
    /// Plain text. `content_type` None = no Content-type header; `xframe` = send X-Frame-Options.
    Text {
        /// Content type, if any.
        content_type: Option<&'static str>,
        /// Body text.
        body: String,
        /// Emit `X-Frame-Options: DENY`.
        xframe: bool,
    },
    /// File download.
    Download {
        /// File name for Content-Disposition.
        filename: String,
        /// Body.
        body: Vec<u8>,
        /// Send Content-Length.
        content_length: bool,
        /// Add `Cache-Control: no-cache`.
        no_cache: bool,
    },
}

/// Result of an action plus side information for counters and delays.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The reply.
    pub reply: Reply,
    /// A login succeeded.
    pub login_success: bool,
    /// A password login failed (reply is delayed by the configured delay).
    pub login_failed: bool,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Self {
        Outcome {
            reply,
            login_success: false,
            login_failed: false,
        }
    }
}

/// Everything a handler needs to know about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Parameters selected for this action (§1.4).
    pub p: Params,
    /// Client IP (first X-Forwarded-For element or peer).
    pub ip: String,
}

impl Ctx {
    /// Parameter or `""`.
    pub fn get(&self, k: &str) -> &str {
        self.p.get(k).map(|s| s.as_str()).unwrap_or("")
    }
    /// Parameter present?
    pub fn has(&self, k: &str) -> bool {
        self.p.contains_key(k)
    }
    /// Integer parameter (lenient, 0 on garbage like `atoi`).
    pub fn int(&self, k: &str) -> i64 {
        atoi(self.get(k))
    }
}

/// C `atoi`-like lenient parse.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let v: i64 = digits.parse().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// Session lookup result.
pub enum Ses {
    /// No / unknown / expired session.
    None,
    /// Session exists but is not logged in.
    NotLoggedIn,
    /// Logged in.
    User(String, Session),
}

/// Look up `ses`.
pub fn session(st: &mut State, ctx: &Ctx) -> Ses {
    let tok = ctx.get("ses").to_string();
    match st.touch_session(&tok) {
        None => Ses::None,
        Some(s) if s.user_id == -1 => Ses::NotLoggedIn,
        Some(s) => Ses::User(tok, s),
    }
}

fn err1() -> Reply {
    Reply::Json(json!({"error": 1}))
}

/// Build an object from pairs.
pub fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

macro_rules! logged_in {
    ($st:expr, $ctx:expr) => {
        match session($st, $ctx) {
            Ses::None => return err1().into(),
            Ses::NotLoggedIn => return Reply::Empty.into(),
            Ses::User(t, s) => (t, s),
        }
    };
}

/// Dispatch a synchronous action. Returns `None` for unknown actions.
pub fn dispatch(st: &mut State, name: &str, ctx: &Ctx) -> Option<Outcome> {
    Some(match name {
        "login" => login(st, ctx),
        "salt" => salt(st, ctx),
        "status" => status(st, ctx),
        "status_check" => status_check(st, ctx),
        "progress" => progress(st, ctx),
        "lastacts" => lastacts(st, ctx),
        "start_backup" => start_backup(st, ctx),
        "add_client" => add_client(st, ctx),
        "download_client" => download_client(st, ctx),
        "users" => users(st, ctx),
        "usage" => usage(st, ctx),
        "piegraph" => piegraph(st, ctx),
        "usagegraph" => usagegraph(st, ctx),
        "logs" => logs(st, ctx),
        "getimage" => getimage(st, ctx),
        "scripts" => scripts(st, ctx),
        "restore_image" => restore_image(st, ctx),
        "server_status" => Reply::Text {
            content_type: Some("text/html; charset=UTF-8"),
            body: "Forbidden".into(),
            xframe: false,
        }
        .into(),
        "settings" => crate::settings_action::settings(st, ctx),
        "backups" => crate::backups_action::backups(st, ctx),
        _ => return None,
    })
}

// ------------------------------------------------------------------ login / salt

fn rights_reply(st: &State, uid: i64, m: &mut Map<String, Value>) {
    for (k, d) in [
        ("status", "status"),
        ("graph", "piegraph"),
        ("progress", "progress"),
        ("browse_backups", "browse_backups"),
        ("settings", "settings"),
        ("logs", "logs"),
    ] {
        m.insert(k.into(), Value::String(st.right(uid, d).to_str()));
    }
}

fn ldap_enabled(st: &State) -> bool {
    st.ldap
        .get("ldap_login_enabled")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// `login` (§2.2).
pub fn login(st: &mut State, ctx: &Ctx) -> Outcome {
    let mut m = Map::new();
    m.insert("api_version".into(), json!(2));
    if st.is_banned(&ctx.ip) {
        m.insert("error".into(), json!(3));
        return Reply::Json(Value::Object(m)).into();
    }
    let username = ctx.get("username").to_string();
    let ses = ctx.get("ses").to_string();
    if username.is_empty() {
        m.insert("lang".into(), json!("en"));
        if !st.users.is_empty() || ldap_enabled(st) {
            m.insert("success".into(), json!(false));
            if ldap_enabled(st) {
                m.insert("ldap_enabled".into(), json!(true));
            }
            if st.users.len() == 1 {
                let u = st
                    .users
                    .values()
                    .next()
                    .map(|u| u.name.clone())
                    .unwrap_or_default();
                m.insert("admin_only".into(), json!(u));
            }
            return Reply::Json(Value::Object(m)).into();
        }
        m.insert("success".into(), json!(true));
        if ses.is_empty() {
            let tok = st.new_session(0, "");
            m.insert("session".into(), json!(tok));
        } else if st.touch_session(&ses).is_some() {
            if let Some(s) = st.sessions.get_mut(&ses) {
                s.user_id = 0;
            }
        } else {
            m.insert("error".into(), json!(1));
            return Reply::Json(Value::Object(m)).into();
        }
        return Outcome {
            reply: Reply::Json(Value::Object(m)),
            login_success: true,
            login_failed: false,
        };
    }
    let plain = ctx.get("plainpw") == "1";
    let mut tok = ses.clone();
    let mut created = false;
    if plain && ses.is_empty() {
        tok = st.new_session(-1, "");
        created = true;
        m.insert("session".into(), json!(tok.clone()));
    }
    let Some(sess) = st.touch_session(&tok) else {
        let mut m = Map::new();
        m.insert("api_version".into(), json!(2));
        m.insert("error".into(), json!(1));
        return Reply::Json(Value::Object(m)).into();
    };
    let _ = created;
    let password = ctx.get("password");
    let user = st.users.values().find(|u| u.name == username).cloned();
    let ok = match &user {
        Some(u) if plain => {
            auth::stored_hash(&u.salt, password.as_bytes(), u.pbkdf2_rounds) == u.hash
        }
        Some(u) => !sess.rnd.is_empty() && auth::proof(&sess.rnd, &u.hash) == password,
        None => false,
    };
    if ok {
        let u = user.unwrap_or_else(|| unreachable!());
        if let Some(s) = st.sessions.get_mut(&tok) {
            s.user_id = u.id;
            s.username = u.name.clone();
        }
        m.insert("success".into(), json!(true));
        rights_reply(st, u.id, &mut m);
        Outcome {
            reply: Reply::Json(Value::Object(m)),
            login_success: true,
            login_failed: false,
        }
    } else {
        st.record_failed_login(&ctx.ip);
        m.insert("error".into(), json!(2));
        Outcome {
            reply: Reply::Json(Value::Object(m)),
            login_success: false,
            login_failed: true,
        }
    }
}

/// `salt` (§2.3).
pub fn salt(st: &mut State, ctx: &Ctx) -> Outcome {
    let mut m = Map::new();
    let username = ctx.get("username").to_string();
    let mut tok = ctx.get("ses").to_string();
    let mut sess = st.touch_session(&tok);
    if sess.is_none() && !username.is_empty() {
        tok = st.new_session(-1, "");
        m.insert("ses".into(), json!(tok.clone()));
        sess = st.touch_session(&tok);
    }
    if st.is_banned(&ctx.ip) {
        m.insert("error".into(), json!(3));
        return Reply::Json(Value::Object(m)).into();
    }
    let Some(sess) = sess else {
        return err1().into();
    };
    let uname = if username.is_empty() {
        sess.username.clone()
    } else {
        username
    };
    let Some(u) = st.users.values().find(|u| u.name == uname).cloned() else {
        st.record_failed_login(&ctx.ip);
        m.insert("error".into(), json!(0));
        return Reply::Json(Value::Object(m)).into();
    };
    let rnd = auth::random_alnum(10);
    if let Some(s) = st.sessions.get_mut(&tok) {
        s.rnd = rnd.clone();
    }
    m.insert("salt".into(), json!(u.salt));
    m.insert("pbkdf2_rounds".into(), json!(u.pbkdf2_rounds));
    m.insert("rnd".into(), json!(rnd));
    Reply::Json(Value::Object(m)).into()
}

// ------------------------------------------------------------------------ status

/// Status entry for one client.
pub fn status_entry(st: &State, c: &Client) -> Value {
    let procs: Vec<Value> = st
        .processes
        .iter()
        .filter(|p| p.client_id == c.id)
        .map(|p| json!({"action": p.action, "pcdone": st.process_progress(p).0}))
        .collect();
    let code = c.status_override.unwrap_or_else(|| {
        st.processes
            .iter()
            .find(|p| p.client_id == c.id)
            .map(|p| p.action)
            .unwrap_or(0)
    });
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("name".into(), json!(c.name));
    m.insert("lastbackup".into(), json!(c.lastbackup()));
    m.insert("lastbackup_image".into(), json!(c.lastbackup_image()));
    m.insert("lastseen".into(), json!(c.lastseen));
    m.insert(
        "delete_pending".into(),
        json!(match c.delete_pending {
            None => "",
            Some(false) => "0",
            Some(true) => "1",
        }),
    );
    if !st.v24() {
        // 2.5 added the client's UID.
        m.insert("uid".into(), json!(c.uid));
    }
    m.insert(
        "last_filebackup_issues".into(),
        json!(c.last_filebackup_issues),
    );
    if c.no_backup_paths {
        m.insert("no_backup_paths".into(), json!(true));
    }
    m.insert("groupname".into(), json!(st.group_name(c.group_id)));
    // A disabled kind is stored as `file_ok = -1` by the real server: `file_ok` false.
    let (file_off, image_off) = (st.file_disabled(c.id), st.image_disabled(c.id));
    m.insert(
        "file_ok".into(),
        json!(c.file_ok && !file_off && !c.file_backups.is_empty()),
    );
    m.insert(
        "image_ok".into(),
        json!(c.image_ok && !image_off && !c.image_backups.is_empty()),
    );
    if file_off {
        m.insert("file_disabled".into(), json!(true));
    }
    if image_off {
        m.insert("image_disabled".into(), json!(true));
    }
    if c.image_not_supported && !st.v24() {
        m.insert("image_not_supported".into(), json!(true));
    }
    m.insert("online".into(), json!(c.online));
    m.insert("ip".into(), json!(c.ip));
    m.insert("client_version_string".into(), json!(c.client_version));
    m.insert("os_version_string".into(), json!(c.os_version));
    m.insert("os_simple".into(), json!(c.os_simple));
    m.insert("status".into(), json!(code));
    m.insert("processes".into(), Value::Array(procs));
    Value::Object(m)
}

fn status(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let uid = s.user_id;
    let r_status = st.right(uid, "status");
    let r_remove = st.right(uid, "remove_client");
    // side effects
    if r_status.is_all() {
        if ctx.has("stop_show") {
            st.stop_show.insert(ctx.get("stop_show").to_string());
        }
        let h = ctx.get("hostname").to_string();
        if !h.is_empty() {
            if ctx.get("remove") == "true" {
                st.extra_clients.retain(|e| e.id.to_string() != h.trim());
            } else if !st.extra_clients.iter().any(|e| e.hostname == h) {
                let id = st.next_extra_id;
                st.next_extra_id += 1;
                st.extra_clients.push(ExtraClient { id, hostname: h });
            }
        }
    }
    if r_remove.is_all() && ctx.has("remove_client") {
        let stop = ctx.has("stop_remove_client");
        for id in ctx.get("remove_client").split(',').map(atoi) {
            if let Some(c) = st.clients.get_mut(&id) {
                c.delete_pending = Some(!stop);
            }
        }
    }
    if ctx.has("reset_client_uid") {
        let id = ctx.int("reset_client_uid");
        if r_status.allows(id) {
            if let Some(c) = st.clients.get_mut(&id) {
                c.uid.clear();
            }
        }
    }
    let mut m = Map::new();
    m.insert("server_identity".into(), json!(st.server_identity));
    m.insert("no_images".into(), st.general_value("no_images"));
    m.insert(
        "no_file_backups".into(),
        st.general_value("no_file_backups"),
    );
    if r_status.is_none() {
        m.insert("extra_clients".into(), json!([]));
        m.insert("status".into(), json!([]));
        return Reply::Json(Value::Object(m)).into();
    }
    if !st.v24() {
        m.insert(
            "server_pubkey".into(),
            json!(format!(
                "{}#fingerprint={}",
                st.server_identity, st.server_fingerprint
            )),
        );
    }
    let mut clients: Vec<&Client> = st
        .clients
        .values()
        .filter(|c| r_status.allows(c.id))
        .collect();
    clients.sort_by(|a, b| a.name.cmp(&b.name));
    let list: Vec<Value> = clients.iter().map(|c| status_entry(st, c)).collect();
    m.insert("status".into(), Value::Array(list));
    let extra: Vec<Value> = if r_status.is_all() {
        st.extra_clients
            .iter()
            .map(|e| json!({"hostname": e.hostname, "id": e.id.to_string(), "online": false}))
            .collect()
    } else {
        vec![]
    };
    m.insert("extra_clients".into(), Value::Array(extra));
    if r_status.is_all() {
        m.insert("has_status_check".into(), json!(true));
        m.insert("allow_extra_clients".into(), json!(true));
    }
    if r_status.is_all() || r_remove.is_all() || st.right(uid, "start_backup").is_all() {
        m.insert("allow_modify_clients".into(), json!(true));
    }
    if r_remove.is_all() {
        m.insert("remove_client".into(), json!(true));
    }
    if st.right(uid, "add_client").is_all() {
        m.insert("allow_add_client".into(), json!(true));
    }
    if st.cfg.installers_available {
        let rs = st.right(uid, "settings");
        if !rs.is_none() {
            let mut dl: Vec<&Client> = st.clients.values().filter(|c| rs.allows(c.id)).collect();
            dl.sort_by(|a, b| a.name.cmp(&b.name));
            m.insert(
                "client_downloads".into(),
                Value::Array(
                    dl.iter()
                        .map(|c| json!({"id": c.id, "name": c.name}))
                        .collect(),
                ),
            );
        }
    }
    if st.right(uid, "all").is_all() {
        m.insert("admin".into(), json!(true));
    }
    Reply::Json(Value::Object(m)).into()
}

fn status_check(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    if !st.right(s.user_id, "status").is_all() {
        return err1().into();
    }
    Reply::Json(json!({})).into()
}

// ---------------------------------------------------------------------- progress

fn progress(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let uid = s.user_id;
    let r_prog = st.right(uid, "progress");
    let r_stop = st.right(uid, "stop_backup");
    let r_logs = st.right(uid, "logs");
    let r_la = st.right(uid, "lastacts");
    if ctx.has("stop_clientid") && ctx.has("stop_id") {
        let cid = ctx.int("stop_clientid");
        let pid = ctx.int("stop_id");
        if r_stop.allows(cid) {
            for p in st.processes.iter_mut() {
                if p.client_id == cid && p.id == pid {
                    p.stop = true;
                }
            }
        }
    }
    if r_prog.is_none() {
        return Reply::Json(json!({"progress": []})).into();
    }
    let mut list = Vec::new();
    for p in &st.processes {
        let visible = if p.client_id == 0 {
            r_prog.is_all()
        } else {
            r_prog.allows(p.client_id)
        };
        if !visible {
            continue;
        }
        let (pc, done, total, speed, eta) = st.process_progress(p);
        let name = st
            .clients
            .get(&p.client_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let eta = if eta > 0 && eta < 60_000 { 61_000 } else { eta };
        let past: Vec<Value> = if pc >= 0 { vec![json!(speed)] } else { vec![] };
        let mut m = Map::new();
        m.insert("clientid".into(), json!(p.client_id));
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(p.id));
        m.insert("action".into(), json!(p.action));
        m.insert("pcdone".into(), json!(pc));
        m.insert("queue".into(), json!(0));
        m.insert("logid".into(), json!(p.logid));
        m.insert("details".into(), json!(p.details));
        m.insert("detail_pc".into(), json!(-1));
        m.insert("total_bytes".into(), json!(total));
        m.insert("done_bytes".into(), json!(done));
        m.insert("speed_bpms".into(), json!(speed));
        m.insert("past_speed_bpms".into(), Value::Array(past));
        m.insert("eta_ms".into(), json!(eta));
        m.insert("paused".into(), json!(false));
        if p.client_id != 0 && r_stop.allows(p.client_id) {
            m.insert("can_stop_backup".into(), json!(true));
        }
        if p.logid != 0 && r_logs.allows(p.client_id) {
            m.insert("can_show_backup_log".into(), json!(true));
        }
        list.push(Value::Object(m));
    }
    let mut m = Map::new();
    m.insert("progress".into(), Value::Array(list));
    if ctx.get("with_lastacts") != "0" {
        match &r_la {
            Right::All => {
                m.insert("lastacts".into(), Value::Array(st.lastacts(None, false)));
            }
            Right::List(l) => {
                m.insert("lastacts".into(), Value::Array(st.lastacts(Some(l), true)));
            }
            Right::None => {}
        }
    }
    Reply::Json(Value::Object(m)).into()
}

fn lastacts(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    match st.right(s.user_id, "lastacts") {
        Right::List(_) => err1().into(),
        _ => Reply::Json(json!({"lastacts": st.lastacts(None, false)})).into(),
    }
}

// ------------------------------------------------------------------ start_backup

fn start_backup(st: &mut State, ctx: &Ctx) -> Outcome {
    let s = match session(st, ctx) {
        Ses::User(_, s) => s,
        _ => return Reply::Empty.into(),
    };
    let start_client = ctx.get("start_client").to_string();
    if !st.right(s.user_id, "start_backup").is_all() || start_client.is_empty() {
        return Reply::Empty.into();
    }
    let r_status = st.right(s.user_id, "status");
    let ty = ctx.get("start_type").to_string();
    let valid = matches!(
        ty.as_str(),
        "incr_file" | "full_file" | "incr_image" | "full_image"
    );
    let mut res = Vec::new();
    for id in start_client.split(',').map(atoi) {
        if !r_status.allows(id) {
            continue;
        }
        let ok = valid
            && st
                .clients
                .get(&id)
                .map(|c| c.online && c.delete_pending != Some(true))
                .unwrap_or(false);
        if ok {
            st.start_backup_process(id, &ty);
        }
        res.push(json!({"clientid": id, "start_ok": ok, "start_type": ty}));
    }
    Reply::Json(json!({ "result": res })).into()
}

// -------------------------------------------------------------------- add_client

/// `server_url` as announced to new clients.
pub fn server_url(st: &State) -> String {
    let url = st.general_raw("server_url");
    let host = st.general_raw("internet_server");
    if host.is_empty() {
        return String::new();
    }
    let _ = url;
    let port = st.general_raw("internet_server_port");
    if port.is_empty() || port == "55415" {
        format!("urbackup://{host}")
    } else {
        format!("urbackup://{host}:{port}")
    }
}

fn add_client(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    if !st.right(s.user_id, "add_client").is_all() {
        return err1().into();
    }
    let name = ctx.get("clientname").to_string();
    if name.is_empty() {
        return Reply::Empty.into();
    }
    if st.client_id(&name).is_some() {
        return Reply::Json(json!({"already_exists": true, "ok": true})).into();
    }
    let id = st.next_client_id;
    let mut c = Client::new(id, &name);
    c.authkey = auth::random_alnum(10);
    c.lastseen = st.now();
    if ctx.has("group_id") {
        let g = ctx.int("group_id");
        if st.groups.contains_key(&g) {
            c.group_id = g;
        }
    } else if ctx.has("group_name") {
        if let Some(g) = st.groups.values().find(|g| g.name == ctx.get("group_name")) {
            c.group_id = g.id;
        }
    }
    let key = c.authkey.clone();
    st.insert_client(c);
    let mut m = Map::new();
    m.insert("added_new_client".into(), json!(true));
    m.insert("new_clientid".into(), json!(id));
    m.insert("new_clientname".into(), json!(name));
    m.insert("new_authkey".into(), json!(key));
    m.insert(
        "internet_server".into(),
        json!(st.general_raw("internet_server")),
    );
    if st.v24() {
        // 2.4: no server_url, the port as a number.
        m.insert(
            "internet_server_port".into(),
            json!(atoi(&st.general_raw("internet_server_port"))),
        );
    } else {
        m.insert("server_url".into(), json!(server_url(st)));
        m.insert(
            "internet_server_port".into(),
            json!(st.general_raw("internet_server_port")),
        );
    }
    let proxy = st.general_raw("internet_server_proxy");
    if !proxy.is_empty() {
        m.insert("internet_server_proxy".into(), json!(proxy));
    }
    m.insert("ok".into(), json!(true));
    Reply::Json(Value::Object(m)).into()
}

// --------------------------------------------------------------- download_client

fn dl_error(msg: &str) -> Outcome {
    Reply::Text {
        content_type: None,
        body: format!("ERROR: {msg}"),
        xframe: true,
    }
    .into()
}

fn download_client(st: &mut State, ctx: &Ctx) -> Outcome {
    let authkey = ctx.get("authkey").to_string();
    let cid = ctx.int("clientid");
    if authkey.is_empty() {
        match session(st, ctx) {
            Ses::NotLoggedIn => return Reply::Empty.into(),
            Ses::None => return dl_error("No right to download any client"),
            Ses::User(_, s) => {
                let r = st.right(s.user_id, "settings");
                if r.is_none() {
                    return dl_error("No right to download any client");
                }
                if !st.cfg.installers_available {
                    return dl_error("Signature verification failed");
                }
                if !r.allows(cid) {
                    return dl_error("No right to download client");
                }
            }
        }
    } else if !st.cfg.installers_available {
        return dl_error("Signature verification failed");
    }
    let Some(c) = st.clients.get(&cid) else {
        return dl_error("Replacing data in install file failed");
    };
    let os = ctx.get("os");
    let key = if authkey.is_empty() {
        c.authkey.clone()
    } else {
        authkey
    };
    let (ext, mut body) = match os {
        "linux" | "osx" | "mac" => (
            "sh",
            b"#!/bin/sh\n# UrBackup client installer (simulated)\n".to_vec(),
        ),
        _ => (
            "exe",
            b"MZ\x90\x00\x03\x00\x00\x00 UrBackup client installer (simulated)\n".to_vec(),
        ),
    };
    let cfg = format!(
        "CLIENTNAME={}\nAUTHKEY={}\nSERVER_URL={}\nINTERNET_SERVER={}\nINTERNET_SERVER_PORT={}\nOS={}\n",
        c.name,
        key,
        server_url(st),
        st.general_raw("internet_server"),
        st.general_raw("internet_server_port"),
        if os.is_empty() { "windows" } else { os }
    );
    body.extend_from_slice(cfg.as_bytes());
    // deterministic padding so the file looks like a binary of some size
    let mut rng = crate::tree::Rng(c.tree_seed);
    while body.len() < 4096 {
        body.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    Reply::Download {
        filename: format!("UrBackup Client ({}).{ext}", c.name),
        body,
        content_length: true,
        no_cache: false,
    }
    .into()
}

// ------------------------------------------------------- users / usage / graphs

fn users(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    if !st.right(s.user_id, "users").is_all() {
        return err1().into();
    }
    let mut v: Vec<&Client> = st.clients.values().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Reply::Json(
        json!({"users": v.iter().map(|c| json!({"id": c.id, "name": c.name})).collect::<Vec<_>>()}),
    )
    .into()
}

fn client_usage(c: &Client) -> (f64, f64) {
    let f: i64 = c.file_backups.iter().map(|b| b.size_bytes.max(0)).sum();
    let i: i64 = c.image_backups.iter().map(|b| b.size_bytes.max(0)).sum();
    (f as f64, i as f64)
}

fn usage(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let mut m = Map::new();
    if st.right(s.user_id, "piegraph").is_all() {
        let mut v: Vec<(f64, Value)> = st
            .clients
            .values()
            .map(|c| {
                let (f, i) = client_usage(c);
                (
                    f + i,
                    json!({"name": c.name, "used": f + i, "files": f, "images": i}),
                )
            })
            .collect();
        v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        m.insert(
            "usage".into(),
            Value::Array(v.into_iter().map(|x| x.1).collect()),
        );
    }
    if st.right(s.user_id, "reset_statistics").is_all() {
        m.insert("reset_statistics".into(), json!("true"));
        if ctx.get("recalculate") == "true" {
            st.start_server_process(crate::state::action::RECALC_STATS);
        }
    }
    Reply::Json(Value::Object(m)).into()
}

fn piegraph(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    if !st.right(s.user_id, "piegraph").is_all() {
        return err1().into();
    }
    let mut v: Vec<(f64, String)> = st
        .clients
        .values()
        .map(|c| {
            let (f, i) = client_usage(c);
            (f + i, c.name.clone())
        })
        .collect();
    v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    Reply::Json(json!({"data": v.into_iter().map(|(d, l)| json!({"data": d, "label": l})).collect::<Vec<_>>()})).into()
}

fn usagegraph(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let r = st.right(s.user_id, "piegraph");
    let mut cid = if ctx.has("clientid") {
        Some(ctx.int("clientid"))
    } else {
        None
    };
    if let Some(c) = cid {
        if !st.clients.contains_key(&c) {
            cid = None;
        }
    }
    let allowed = match cid {
        Some(c) => r.allows(c),
        None => r.is_all(),
    };
    if !allowed {
        return err1().into();
    }
    let scale = ctx.get("scale");
    let now = st.now();
    let (bucket_len, span): (i64, i64) = match scale {
        "m" => (30 * 86400, 3 * 365 * 86400),
        "y" => (365 * 86400, 40 * 365 * 86400),
        _ => (86400, 60 * 86400),
    };
    // collect backups (time, size)
    let mut events: Vec<(i64, i64)> = Vec::new();
    for c in st.clients.values() {
        if cid.is_some_and(|x| x != c.id) {
            continue;
        }
        for b in &c.file_backups {
            events.push((b.backuptime, b.size_bytes.max(0)));
        }
        for b in &c.image_backups {
            events.push((b.backuptime, b.size_bytes.max(0)));
        }
    }
    events.sort();
    let start = now - span;
    let mut points: Vec<(i64, f64)> = Vec::new();
    let mut total: i64 = events.iter().filter(|e| e.0 < start).map(|e| e.1).sum();
    let mut cur_bucket: Option<i64> = None;
    for (t, sz) in events.iter().filter(|e| e.0 >= start) {
        total += sz;
        let b = (t - start) / bucket_len;
        if cur_bucket == Some(b) {
            if let Some(last) = points.last_mut() {
                last.1 = total as f64;
            }
        } else {
            cur_bucket = Some(b);
            points.push((*t, total as f64));
        }
    }
    if points.len() > 40 {
        points = points.split_off(points.len() - 40);
    }
    let gb = points.iter().any(|p| p.1 > 1024.0 * 1024.0 * 1024.0);
    let div = if gb {
        1024.0 * 1024.0 * 1024.0
    } else {
        1024.0 * 1024.0
    };
    let data: Vec<Value> = points
        .iter()
        .map(|(t, v)| {
            let (y, m, d) = crate::state::civil_from_days(t.div_euclid(86400));
            let label = match scale {
                "m" => format!("{y:04}-{m:02}"),
                "y" => format!("{y:04}"),
                _ => format!("{y:04}-{m:02}-{d:02}"),
            };
            json!({"xlabel": label, "data": v / div})
        })
        .collect();
    Reply::Json(json!({"data": data, "ylabel": if gb { "GB" } else { "MB" }})).into()
}

// -------------------------------------------------------------------------- logs

fn logs(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let uid = s.user_id;
    let r = st.right(uid, "logs");
    if r.is_none() {
        return err1().into();
    }
    let mut m = Map::new();
    if ctx.has("report_mail") && uid > 0 {
        if let Some(u) = st.users.get_mut(&uid) {
            u.report_mail = ctx.get("report_mail").to_string();
            u.report_loglevel = Some(ctx.int("report_loglevel"));
            u.report_sendonly = Some(ctx.int("report_sendonly"));
        }
        m.insert("saved_ok".into(), json!(true));
    }
    let mut filter = ctx.get("filter").to_string();
    if let Right::List(l) = &r {
        if filter.is_empty() {
            filter = l
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",");
        }
    }
    let filter_ids: Vec<i64> = filter
        .split(',')
        .filter(|x| !x.is_empty())
        .map(atoi)
        .collect();
    // clients having logs
    let mut with_logs: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
    for l in st.logs.values() {
        if r.allows(l.client_id) {
            with_logs.insert(l.client_id);
        }
    }
    let name_of = |id: i64| {
        st.clients
            .get(&id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let mut clients: Vec<(String, i64)> = with_logs
        .iter()
        .filter(|id| st.clients.contains_key(id))
        .map(|&id| (name_of(id), id))
        .collect();
    clients.sort();
    let mut lrc: Vec<(String, i64)> = st
        .clients
        .values()
        .filter(|c| r.allows(c.id))
        .map(|c| (c.name.clone(), c.id))
        .collect();
    lrc.sort();
    m.insert(
        "clients".into(),
        Value::Array(
            clients
                .iter()
                .map(|(n, i)| json!({"id": i, "name": n}))
                .collect(),
        ),
    );
    m.insert(
        "log_right_clients".into(),
        Value::Array(
            lrc.iter()
                .map(|(n, i)| json!({"id": i, "name": n}))
                .collect(),
        ),
    );
    if r.is_all() {
        m.insert("all_clients".into(), json!(true));
    }
    m.insert("has_user".into(), json!(uid > 0));
    m.insert("filter".into(), json!(filter));
    if ctx.has("logid") {
        let id = ctx.int("logid");
        if let Some(l) = st.logs.get(&id) {
            if r.allows(l.client_id) {
                m.insert(
                    "log".into(),
                    json!({"data": st.log_text(l), "time": l.time, "clientname": name_of(l.client_id)}),
                );
            }
        }
        return Reply::Json(Value::Object(m)).into();
    }
    let ll = if ctx.has("ll") { ctx.int("ll") } else { 2 };
    let mut list = Vec::new();
    for l in st.logs.values().rev() {
        if !filter_ids.is_empty() {
            if !filter_ids.contains(&l.client_id) {
                continue;
            }
        } else if !r.allows(l.client_id) {
            continue;
        }
        let pass = match ll {
            2 => l.errors > 0,
            1 => l.errors > 0 || l.warnings > 0,
            _ => true,
        };
        if !pass {
            continue;
        }
        list.push(json!({
            "id": l.id, "name": name_of(l.client_id), "time": l.time, "errors": l.errors,
            "warnings": l.warnings, "image": l.image as i64, "incremental": l.incremental,
            "resumed": l.resumed as i64, "restore": l.restore as i64
        }));
        if list.len() >= 50 {
            break;
        }
    }
    m.insert("logs".into(), Value::Array(list));
    m.insert("ll".into(), json!(ll));
    let u = st.users.get(&uid);
    m.insert(
        "report_mail".into(),
        json!(u.map(|u| u.report_mail.clone()).unwrap_or_default()),
    );
    m.insert(
        "report_loglevel".into(),
        u.and_then(|u| u.report_loglevel)
            .map(|v| json!(v))
            .unwrap_or(json!("")),
    );
    m.insert(
        "report_sendonly".into(),
        u.and_then(|u| u.report_sendonly)
            .map(|v| json!(v))
            .unwrap_or(json!("")),
    );
    m.insert("HAS_MAIL_START".into(), json!(""));
    m.insert("HAS_MAIL_STOP".into(), json!(""));
    if st.right(uid, "report_script").is_all() {
        m.insert("can_report_script_edit".into(), json!(true));
    }
    Reply::Json(Value::Object(m)).into()
}

/// `livelog` step: `Some(reply)` when the answer is ready, `None` to keep waiting.
pub fn livelog_step(st: &mut State, ctx: &Ctx, final_attempt: bool) -> Option<Outcome> {
    let s = match session(st, ctx) {
        Ses::None => return Some(Reply::Json(json!({"error": true})).into()),
        Ses::NotLoggedIn => return Some(Reply::Empty.into()),
        Ses::User(_, s) => s,
    };
    let cid = ctx.int("clientid");
    let r = st.right(s.user_id, "logs");
    let ok = if cid == 0 { r.is_all() } else { r.allows(cid) };
    if !ok {
        return Some(Reply::Json(json!({"logdata": []})).into());
    }
    let logid = if ctx.has("logid") {
        Some(ctx.int("logid"))
    } else {
        None
    };
    let entries: Vec<Value> = st
        .livelogs
        .get(&cid)
        .map(|b| {
            b.entries
                .iter()
                .filter(|e| logid.is_none() || e.logid == logid)
                .filter(|e| !ctx.has("lastid") || e.id > ctx.int("lastid"))
                .map(|e| json!({"id": e.id, "msg": e.msg, "loglevel": e.loglevel, "time": e.time}))
                .collect()
        })
        .unwrap_or_default();
    if !ctx.has("lastid") {
        if entries.is_empty() && cid != 0 {
            let t = st.now();
            return Some(
                Reply::Json(json!({"logdata": [{"id": 0, "loglevel": 0, "msg": "No log entries yet", "time": t}]}))
                    .into(),
            );
        }
        return Some(Reply::Json(json!({ "logdata": entries })).into());
    }
    if entries.is_empty() && !final_attempt {
        return None;
    }
    Some(Reply::Json(json!({ "logdata": entries })).into())
}

/// `restore_prepare_wait` step.
pub fn restore_wait_step(st: &mut State, ctx: &Ctx, final_attempt: bool) -> Option<Outcome> {
    if let Ses::None = session(st, ctx) {
        return Some(err1().into());
    }
    let key = ctx.get("wait_key").to_string();
    let done = match st.restore_waits.get(&key) {
        Some(&t) => st.now_ms >= t,
        None => true,
    };
    if done {
        st.restore_waits.remove(&key);
    } else if !final_attempt {
        return None;
    }
    Some(Reply::Json(json!({"completed": done, "wait_key": key})).into())
}

fn getimage(st: &mut State, ctx: &Ctx) -> Outcome {
    let _ = logged_in!(st, ctx);
    Reply::Json(json!({"error": 2})).into()
}

fn restore_image(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let id = ctx.int("backupid");
    let r = st.right(s.user_id, "browse_backups");
    let owner = st
        .clients
        .values()
        .find(|c| c.image_backups.iter().any(|b| b.id == id))
        .map(|c| c.id);
    let key = st.general_raw("restore_authkey");
    match owner {
        Some(cid) if r.allows(cid) && !key.is_empty() => Reply::Json(json!({
            "ok": true, "token": auth::random_alnum(32), "authkey": key
        }))
        .into(),
        _ => Reply::Empty.into(),
    }
}

// ----------------------------------------------------------------------- scripts

/// Parameter definitions of the built-in alert scripts.
pub fn alert_script_params(id: i64) -> Value {
    let p = |name: &str, label: &str, def: &str, ty: &str| json!({"name": name, "label": label, "default_value": def, "has_translation": 1, "type": ty});
    if id == 100000 {
        json!([
            p("username", "pulseway_username", "", "str"),
            p("password", "pulseway_password", "", "str"),
            p("instance_id", "pulseway_instance_id", "", "str"),
            p("instance_name", "pulseway_instance_name", "", "str"),
            p(
                "instance_group",
                "pulseway_instance_group",
                "Default",
                "str"
            ),
            p(
                "instance_description",
                "pulseway_instance_description",
                "",
                "str"
            ),
            p(
                "refresh_interval_minutes",
                "pulseway_refresh_interval_minutes",
                "15",
                "num"
            ),
            p(
                "instance_notify_when_offline",
                "pulseway_instance_notify_when_offline",
                "1",
                "bool"
            ),
            p(
                "api_url",
                "pulseway_api_url",
                "https://api.pulseway.com/v2",
                "str"
            ),
            p("alert_file_mult", "alert_file_mult", "3", "num"),
            p("alert_image_mult", "alert_image_mult", "3", "num"),
            p("alert_emails", "alert_emails", "", "str"),
            p("alert_important", "alert_important", "0", "bool"),
            p(
                "priority",
                "pulseway_priority",
                "normal|low|elevated|critical",
                "choice"
            ),
            p("alert_ok", "pulseway_alert_ok", "1", "bool"),
            p(
                "alert_nag_interval",
                "pulseway_alert_nag_interval",
                "0|h",
                "interval"
            )
        ])
    } else {
        json!([
            p("alert_file_mult", "alert_file_mult", "3", "num"),
            p("alert_image_mult", "alert_image_mult", "3", "num"),
            p("alert_emails", "alert_emails", "", "str"),
            p("alert_important", "alert_important", "0", "bool"),
            p("alert_mail_ok", "alert_mail_ok", "1", "bool"),
            p(
                "alert_nag_interval",
                "alert_nag_interval",
                "0|h",
                "interval"
            )
        ])
    }
}

const DEFAULT_ALERT_SCRIPT: &str = "--Default alert script (simulated)\r\nlocal ret = 0\r\nlocal next_check_ms = 30*60*1000\r\nif params.incr_file_interval>0 and params.passed_time_lastbackup_file>params.incr_file_interval*params.alert_file_mult\r\nthen\r\n\tret = 1\r\nend\r\nreturn ret, next_check_ms\r\n";

fn alert_reply(id: i64) -> Value {
    let id = if id == 100000 { 100000 } else { 1 };
    json!({
        "id": id,
        "script": if id == 1 { DEFAULT_ALERT_SCRIPT } else { "--Pulseway API alert script (simulated)\r\nreturn 0, 30*60*1000\r\n" },
        "scripts": [{"id": 1, "name": "Default"}, {"id": 100000, "name": "Pulseway API"}],
        "params": alert_script_params(id),
    })
}

fn scripts(st: &mut State, ctx: &Ctx) -> Outcome {
    let (_, s) = logged_in!(st, ctx);
    let uid = s.user_id;
    let alert = st.right(uid, "alert_scripts").is_all();
    let report = st.right(uid, "report_script").is_all();
    match ctx.get("sa") {
        "get_alert" if alert => {
            let id = ctx.int("id");
            Reply::Json(alert_reply(if id == 0 { 1 } else { id })).into()
        }
        "set_alert" if alert => {
            let mut v = alert_reply(ctx.int("id"));
            v["saved_ok"] = json!(true);
            Reply::Json(v).into()
        }
        "rm_alert" if alert => Reply::Json(alert_reply(1)).into(),
        "get_report" if report => Reply::Json(json!({"script": st.report_script})).into(),
        "set_report" if report => {
            st.report_script = ctx.get("script").to_string();
            Reply::Json(json!({"saved_ok": true, "script": st.report_script})).into()
        }
        _ => Reply::Empty.into(),
    }
}
