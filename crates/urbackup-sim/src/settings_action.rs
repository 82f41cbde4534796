//! The `settings` action (§4.19).

use serde_json::{json, Map, Value};

use crate::actions::{alert_script_params, atoi, session, Ctx, Outcome, Reply, Ses};
use crate::http::{parse_params, unquote};
use crate::settings_def::{
    self, Ty, CLIENT_CONFIGURABLE, GLOBAL_FLAT, MERGEABLE, NESTED, ONLY_V25, SAVE_LIST,
};
use crate::state::{typed, Group, Right, SettingRow, State, User};

fn win(m: &mut Map<String, Value>) {
    m.insert("ONLY_WIN32_BEGIN".into(), json!("<!--"));
    m.insert("ONLY_WIN32_END".into(), json!("-->"));
}

fn err(m: &mut Map<String, Value>) -> Outcome {
    win(m);
    m.insert("error".into(), json!(1));
    Reply::Json(Value::Object(std::mem::take(m))).into()
}

/// Default mail settings.
pub const MAIL_KEYS: &[(&str, &str)] = &[
    ("mail_servername", ""),
    ("mail_serverport", "25"),
    ("mail_username", ""),
    ("mail_password", ""),
    ("mail_from", ""),
    ("mail_ssl_only", ""),
    ("mail_check_certificate", ""),
    ("mail_use_smtps", ""),
    ("mail_admin_addrs", ""),
];

/// Default LDAP settings.
pub const LDAP_KEYS: &[(&str, &str)] = &[
    ("ldap_login_enabled", "false"),
    ("ldap_server_name", "example.com"),
    ("ldap_server_port", "3268"),
    ("ldap_username_prefix", "example\\"),
    ("ldap_username_suffix", ""),
    (
        "ldap_group_class_query",
        "DC=example,DC=com?memberOf,objectClass?sub?(sAMAccountName={USERNAME})",
    ),
    ("ldap_group_key_name", "memberOf"),
    ("ldap_class_key_name", "objectClass"),
    ("ldap_group_rights_map", "CN=Domain Admins,*==>all=all"),
    (
        "ldap_class_rights_map",
        "user==>lastacts={AUTOCLIENTS},progress={AUTOCLIENTS},status={AUTOCLIENTS},stop_backup={AUTOCLIENTS},start_backup=all,browse_backups=tokens",
    ),
];

/// `alert_scripts` list as embedded in settings replies (ids are strings).
pub fn alert_scripts_list() -> Value {
    json!([
        {"id": "1", "name": "Default", "params": alert_script_params(1)},
        {"id": "100000", "name": "Pulseway API", "params": alert_script_params(100000)}
    ])
}

fn group_typed(key: &str, v: Value) -> Value {
    if key == "alert_script" {
        if let Value::String(s) = &v {
            return json!(atoi(s));
        }
    }
    v
}

/// Nested settings object of a target (client > 0, group < 0, global 0).
pub fn target_settings(st: &State, t: i64) -> Map<String, Value> {
    let mut s = Map::new();
    for (key, _, _) in NESTED {
        let key = *key;
        if t == 0 {
            s.insert(key.into(), json!({"value": st.effective_value(0, key)}));
            continue;
        }
        let mut o = Map::new();
        let row = st.row(t, key);
        o.insert(
            "use".into(),
            json!(row.as_ref().map(|r| r.use_).unwrap_or(1)),
        );
        if let Some(r) = &row {
            o.insert("value".into(), typed(key, &r.value, false));
            if t > 0 {
                o.insert("value_client".into(), typed(key, &r.value_client, false));
            }
        }
        let parent = st.parent_target(t).unwrap_or(0);
        o.insert(
            "value_group".into(),
            group_typed(key, st.effective_value(parent, key)),
        );
        s.insert(key.into(), Value::Object(o));
    }
    s
}

/// UrBackup 2.4's settings object of a target: plain values of the effective settings, typed
/// as 2.4's settings struct has them (numbers, booleans, text), without 2.5's keys.
fn target_settings_v24(st: &State, t: i64) -> Map<String, Value> {
    let mut s = Map::new();
    for (key, ty, default) in NESTED {
        if ONLY_V25.contains(key) {
            continue;
        }
        let raw = st
            .effective_raw(t, key)
            .unwrap_or_else(|| (*default).to_string());
        let v = match ty {
            Ty::Str => json!(raw),
            Ty::Int => json!(atoi(&raw)),
            Ty::Bool => json!(raw == "true" || raw == "1"),
        };
        s.insert(key.to_string(), v);
    }
    s
}

/// UrBackup 2.4's `archive_settings` of a target: its rules (a client's only with
/// `overwrite`, else its group's), from the `archive` text the simulator stores them in.
fn archive_settings_v24(st: &State, t: i64) -> Value {
    let owner = if t > 0 && !overwrite_v24(st, t) {
        st.parent_target(t).unwrap_or(0)
    } else {
        t
    };
    let text = st
        .row(owner, "archive")
        .map(|r| r.value)
        .unwrap_or_default();
    let p = parse_params(text.as_bytes());
    let mut rules = Vec::new();
    for n in 0.. {
        let idx = format!("c{n}");
        let Some(every) = p.get(&format!("every_{idx}")) else {
            break;
        };
        let get = |k: &str| p.get(&format!("{k}_{idx}")).cloned().unwrap_or_default();
        let next = get("next_archival");
        let next_n = atoi(&next);
        rules.push(json!({
            "archive_every": atoi(every),
            "archive_every_unit": get("every_unit"),
            "archive_for": atoi(&get("for")),
            "archive_for_unit": get("for_unit"),
            "archive_backup_type": get("backup_type"),
            "archive_window": get("window"),
            "archive_letters": get("letters"),
            "next_archival": next,
            "archive_timeleft": if next_n > 0 && t > 0 { json!(next_n - st.now()) } else { json!("-") },
        }));
    }
    Value::Array(rules)
}

/// A 2.4 client's `overwrite` flag (groups always have their own settings).
fn overwrite_v24(st: &State, t: i64) -> bool {
    t < 0
        || st
            .settings
            .get(&t)
            .and_then(|m| m.get("overwrite"))
            .is_some_and(|r| r.value == "true")
}

/// A 2.4 save: plain keys (no `.use`); a client's only with `overwrite=true` (its flag stored
/// either way); the archive rules from `archive_N` fields, replacing the target's. Stored in
/// the simulator's common form (rows, the `archive` text with `c0`, `c1`... indexes).
fn apply_save_v24(st: &mut State, t: i64, ctx: &Ctx, general: bool) {
    if t < 0 && ctx.get("overwrite") != "true" {
        // 2.4 stores nothing of a group save without it either.
        return;
    }
    if t > 0 {
        let flag = if ctx.get("overwrite") == "true" {
            "true"
        } else {
            "false"
        };
        st.settings.entry(t).or_default().insert(
            "overwrite".into(),
            SettingRow {
                value: flag.into(),
                value_client: String::new(),
                use_: 2,
            },
        );
        if flag != "true" {
            return;
        }
    }
    if general {
        apply_save(st, 0, ctx, true);
    } else {
        for key in SAVE_LIST {
            if ONLY_V25.contains(key) || !ctx.has(key) {
                continue;
            }
            let val = unquote(ctx.get(key));
            if t > 0 && *key == "internet_authkey" {
                if let Some(c) = st.clients.get_mut(&t) {
                    c.authkey = val;
                    continue;
                }
            }
            st.settings.entry(t).or_default().insert(
                key.to_string(),
                SettingRow {
                    value: val,
                    value_client: String::new(),
                    use_: 2,
                },
            );
        }
    }
    let mut text = form_urlencoded::Serializer::new(String::new());
    let mut n = 0;
    while ctx.has(&format!("archive_every_{n}")) {
        let f = |k: &str| unquote(ctx.get(&format!("{k}_{n}")));
        let next = atoi(&f("archive_next"));
        let next = if next >= 0 {
            next
        } else if t > 0 {
            st.now()
        } else {
            0
        };
        for (ours, theirs) in [
            ("every", "archive_every"),
            ("every_unit", "archive_every_unit"),
            ("for", "archive_for"),
            ("for_unit", "archive_for_unit"),
            ("backup_type", "archive_backup_type"),
            ("window", "archive_window"),
            ("letters", "archive_letters"),
        ] {
            text.append_pair(&format!("{ours}_c{n}"), &f(theirs));
        }
        text.append_pair(&format!("next_archival_c{n}"), &next.to_string());
        n += 1;
    }
    st.settings.entry(t).or_default().insert(
        "archive".into(),
        SettingRow {
            value: text.finish(),
            value_client: String::new(),
            use_: 2,
        },
    );
}

fn clientsettings_json(st: &State, t: i64, uid: i64) -> Value {
    let mut s = if st.v24() {
        target_settings_v24(st, t)
    } else {
        target_settings(st, t)
    };
    s.insert("alert_scripts".into(), alert_scripts_list());
    if st.right(uid, "alert_scripts").is_all() {
        s.insert("can_edit_scripts".into(), json!(true));
    }
    s.insert("clientid".into(), json!(t));
    if t < 0 {
        s.insert("groupid".into(), json!(-t));
        s.insert("groupname".into(), json!(st.group_name(-t)));
        s.insert("overwrite".into(), json!(true));
    } else {
        if st.v24() {
            s.insert("overwrite".into(), json!(overwrite_v24(st, t)));
        }
        let c = st.clients.get(&t);
        s.insert("main_client".into(), json!(true));
        s.insert(
            "clientname".into(),
            json!(c.map(|c| c.name.clone()).unwrap_or_default()),
        );
        s.insert("memberof".into(), json!(c.map(|c| c.group_id).unwrap_or(0)));
    }
    Value::Object(s)
}

fn general_json(st: &State, uid: i64) -> Value {
    let mut s = if st.v24() {
        target_settings_v24(st, 0)
    } else {
        target_settings(st, 0)
    };
    for (k, _, _) in GLOBAL_FLAT {
        if st.v24() && ONLY_V25.contains(k) {
            continue;
        }
        let v = match *k {
            // 2.4 keeps the port as a number.
            "internet_server_port" if st.v24() => json!(atoi(&st.general_raw(k))),
            _ => st.general_value(k),
        };
        s.insert(k.to_string(), v);
    }
    s.insert("alert_scripts".into(), alert_scripts_list());
    if st.right(uid, "alert_scripts").is_all() {
        s.insert("can_edit_scripts".into(), json!(true));
    }
    win(&mut s);
    Value::Object(s)
}

fn coerce_use(key: &str, u: i64) -> i64 {
    if key == "internet_authkey" {
        return 2;
    }
    let cc = CLIENT_CONFIGURABLE.contains(&key);
    let mg = MERGEABLE.contains(&key);
    let ok = match u {
        1 | 2 => true,
        4 => cc,
        3 => mg,
        5..=7 => mg && cc,
        _ => false,
    };
    if ok {
        u
    } else {
        2
    }
}

/// Apply a save (`clientsettings_save` / `general_save`) to a target.
pub fn apply_save(st: &mut State, t: i64, ctx: &Ctx, general: bool) {
    if t == 0 && ctx.has("internet_authkey") {
        st.global_authkey_stored = true;
    }
    for key in SAVE_LIST {
        let key = *key;
        let present = ctx.has(key) || key == "archive";
        if !present {
            continue;
        }
        let val = unquote(ctx.get(key));
        if general && GLOBAL_FLAT.iter().any(|(k, _, _)| *k == key) {
            st.general.insert(key.to_string(), val.clone());
        }
        let use_key = format!("{key}.use");
        let u = if ctx.has(&use_key) {
            coerce_use(key, ctx.int(&use_key))
        } else {
            2
        };
        if t > 0 && key == "internet_authkey" {
            if let Some(c) = st.clients.get_mut(&t) {
                c.authkey = val;
                continue;
            }
        }
        let rows = st.settings.entry(t).or_default();
        let row = rows.entry(key.to_string()).or_insert(SettingRow {
            value: String::new(),
            value_client: String::new(),
            use_: 2,
        });
        row.value = val;
        row.use_ = if t == 0 { 2 } else { u };
    }
    if general {
        for (k, _, _) in GLOBAL_FLAT {
            if ctx.has(k) {
                let mut v = unquote(ctx.get(k));
                if *k == "backupfolder" {
                    while v.len() > 1 && (v.ends_with('/') || v.ends_with('\\')) {
                        v.pop();
                    }
                }
                st.general.insert(k.to_string(), v);
            }
        }
    }
}

fn navitems(st: &State, uid: i64) -> Value {
    let r_cs = st.right(uid, "client_settings");
    let mut m = Map::new();
    let mut clients: Vec<_> = st.clients.values().filter(|c| r_cs.allows(c.id)).collect();
    clients.sort_by(|a, b| a.group_id.cmp(&b.group_id).then(a.name.cmp(&b.name)));
    let list: Vec<Value> = clients
        .iter()
        .map(|c| {
            let own = st
                .settings
                .get(&c.id)
                .map(|rows| rows.values().any(|r| r.use_ != 1))
                .unwrap_or(false)
                || !c.authkey.is_empty();
            json!({
                "id": c.id,
                "name": if r_cs.is_all() { c.name.clone() } else { String::new() },
                "group": c.group_id,
                "groupname": st.group_name(c.group_id),
                "override": own,
            })
        })
        .collect();
    m.insert("clients".into(), Value::Array(list));
    let mut groups = vec![json!({"id": 0, "name": ""})];
    let mut gl: Vec<&Group> = st.groups.values().collect();
    gl.sort_by(|a, b| a.name.cmp(&b.name));
    groups.extend(gl.iter().map(|g| json!({"id": g.id, "name": g.name})));
    m.insert("groups".into(), Value::Array(groups));
    if st.right(uid, "usermod").is_all() {
        m.insert("users".into(), json!(true));
    }
    if st.right(uid, "mail_settings").is_all() {
        m.insert("mail".into(), json!(true));
    }
    if st.right(uid, "ldap_settings").is_all() {
        m.insert("ldap".into(), json!(true));
    }
    m.insert("internet".into(), json!(true));
    if st.right(uid, "disable_change_pw").is_all() {
        m.insert("disable_change_pw".into(), json!(true));
    }
    if st.right(uid, "groupmod").is_all() {
        m.insert("groupmod".into(), json!(true));
    }
    if st.right(uid, "general_settings").is_all() {
        m.insert("general".into(), json!(true));
    }
    Value::Object(m)
}

/// Parse the encoded rights form (§3.3).
pub fn parse_rights(s: &str) -> Vec<(String, String)> {
    let p = parse_params(unquote(s).as_bytes());
    let mut out = Vec::new();
    if let Some(idx) = p.get("idx") {
        for i in idx.split(',') {
            let i = i.trim();
            if let (Some(d), Some(r)) =
                (p.get(&format!("{i}_domain")), p.get(&format!("{i}_right")))
            {
                out.push((unquote(d), unquote(r)));
            }
        }
    }
    out
}

fn listusers(st: &State) -> Value {
    Value::Array(
        st.users
            .values()
            .map(|u| {
                let mut r = u.rights.clone();
                r.sort();
                json!({
                    "id": u.id.to_string(),
                    "name": u.name,
                    "rights": r.iter().map(|(d, r)| json!({"domain": d, "right": r})).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// `settings`.
pub fn settings(st: &mut State, ctx: &Ctx) -> Outcome {
    let mut m = Map::new();
    let (_, sess) = match session(st, ctx) {
        Ses::None => return err(&mut m),
        Ses::NotLoggedIn => return Reply::Empty.into(),
        Ses::User(t, s) => (t, s),
    };
    let uid = sess.user_id;
    if st.right(uid, "settings").is_none() {
        return err(&mut m);
    }
    let r_cs = st.right(uid, "client_settings");
    let r_gs = st.right(uid, "general_settings");
    let r_um = st.right(uid, "usermod");
    let r_gm = st.right(uid, "groupmod");
    let mut sa = ctx.get("sa").to_string();
    let mut t = ctx.int("t_clientid");
    if sa.is_empty() {
        if r_cs.is_all() || r_gs.is_all() {
            sa = "general".into();
        } else if r_um.is_all() {
            sa = "listusers".into();
        } else if let Right::List(l) = &r_cs {
            sa = "clientsettings".into();
            t = l[0];
        }
    }
    // 1. group membership changes
    if sa == "clientsettings_save" && r_gm.is_all() {
        if t <= 0 && ctx.has("group_mem_changes") {
            for pair in ctx.get("group_mem_changes").split(';') {
                if let Some((c, g)) = pair.split_once('-') {
                    let (c, g) = (atoi(c), atoi(g));
                    if g == 0 || st.groups.contains_key(&g) {
                        if let Some(cl) = st.clients.get_mut(&c) {
                            cl.group_id = g;
                        }
                    }
                }
            }
        } else if t > 0 && ctx.has("memberof") {
            let g = ctx.int("memberof");
            if g == 0 || st.groups.contains_key(&g) {
                if let Some(cl) = st.clients.get_mut(&t) {
                    cl.group_id = g;
                }
            }
        }
    }
    // 2. groupremove
    if sa == "groupremove" && r_gm.is_all() {
        let gid = ctx.int("id");
        st.groups.remove(&gid);
        st.settings.remove(&-gid);
        for c in st.clients.values_mut() {
            if c.group_id == gid {
                c.group_id = 0;
            }
        }
        m.insert("delete_ok".into(), json!(true));
        sa = "general".into();
    }
    // 3. navitems
    m.insert("navitems".into(), navitems(st, uid));
    // 4. groupadd
    if sa == "groupadd" && r_gm.is_all() {
        let name = ctx.get("name").to_string();
        let lower = name.to_lowercase();
        if st.groups.values().any(|g| g.name == lower) {
            m.insert("already_exists".into(), json!(true));
        } else {
            let id = st.next_group_id;
            st.next_group_id += 1;
            st.groups.insert(
                id,
                Group {
                    id,
                    name: name.clone(),
                },
            );
            // the real server copies the stored global rows (not the built-in defaults)
            let mut rows = std::collections::BTreeMap::new();
            if let Some(global) = st.settings.get(&0) {
                for (key, r) in global {
                    if key == "internet_authkey" {
                        continue;
                    }
                    rows.insert(
                        key.clone(),
                        SettingRow {
                            value: r.value.clone(),
                            value_client: String::new(),
                            use_: 1,
                        },
                    );
                }
            }
            st.settings.insert(-id, rows);
            m.insert("add_ok".into(), json!(true));
            m.insert("added_group".into(), json!({"id": id, "name": name}));
            sa = "clientsettings".into();
            t = -id;
        }
    }
    // 5. clientsettings
    if sa == "clientsettings" || sa == "clientsettings_save" {
        let allowed = r_cs.is_all() || (t > 0 && r_cs.allows(t));
        if allowed {
            if sa == "clientsettings_save" {
                if st.v24() {
                    apply_save_v24(st, t, ctx, false);
                } else {
                    apply_save(st, t, ctx, false);
                }
                if t <= 0 {
                    // A group (or global) save reloads every client's settings.
                    st.reload_settings();
                }
                if ctx.get("no_ok") == "true" {
                    m.insert("saved_part".into(), json!(true));
                } else {
                    m.insert("saved_ok".into(), json!(true));
                }
            }
            m.insert("settings".into(), clientsettings_json(st, t, uid));
            if st.v24() {
                m.insert("archive_settings".into(), archive_settings_v24(st, t));
            }
            m.insert("sa".into(), json!("clientsettings"));
            m.insert("cowraw_available".into(), json!(false));
        }
    }
    // 6. useradd
    if sa == "useradd" && r_um.is_all() {
        let name = ctx.get("name").to_lowercase();
        if st.users.values().any(|u| u.name == name) {
            m.insert("alread_exists".into(), json!(true));
        } else {
            let id = st.next_user_id;
            st.next_user_id += 1;
            let salt = ctx.get("salt").to_string();
            let hash = crate::auth::stored_hash_from_h0(ctx.get("pwmd5"), &salt, 10000);
            st.users.insert(
                id,
                User {
                    id,
                    name,
                    salt,
                    hash,
                    pbkdf2_rounds: 10000,
                    rights: parse_rights(ctx.get("rights")),
                    report_mail: String::new(),
                    report_loglevel: None,
                    report_sendonly: None,
                },
            );
            m.insert("add_ok".into(), json!(true));
        }
        sa = "listusers".into();
    }
    // 7. changepw
    if sa == "changepw" {
        let salt = ctx.get("salt").to_string();
        let hash = crate::auth::stored_hash_from_h0(ctx.get("pwmd5"), &salt, 10000);
        if ctx.get("userid") == "own" {
            if !st.right(uid, "disable_change_pw").is_all() && uid > 0 {
                let ok = st
                    .users
                    .get(&uid)
                    .map(|u| {
                        !sess.rnd.is_empty()
                            && crate::auth::proof(&sess.rnd, &u.hash) == ctx.get("old_pw")
                    })
                    .unwrap_or(false);
                if ok {
                    if let Some(u) = st.users.get_mut(&uid) {
                        u.salt = salt;
                        u.hash = hash;
                        u.pbkdf2_rounds = 10000;
                    }
                    m.insert("change_ok".into(), json!(true));
                } else {
                    m.insert("old_pw_wrong".into(), json!(true));
                }
            }
        } else if r_um.is_all() {
            if let Some(u) = st.users.get_mut(&ctx.int("userid")) {
                u.salt = salt;
                u.hash = hash;
                u.pbkdf2_rounds = 10000;
            }
            m.insert("change_ok".into(), json!(true));
            sa = "listusers".into();
        }
    }
    // 8. updaterights
    if sa == "updaterights" && r_um.is_all() {
        let rights = parse_rights(ctx.get("rights"));
        if let Some(u) = st.users.get_mut(&ctx.int("userid")) {
            u.rights = rights;
        }
        m.insert("update_right".into(), json!(true));
        sa = "listusers".into();
    }
    // 9. removeuser
    if sa == "removeuser" && r_um.is_all() {
        let id = ctx.int("userid");
        st.users.remove(&id);
        m.insert("removeuser".into(), json!(true));
        sa = "listusers".into();
    }
    // 10. listusers
    if sa == "listusers" && r_um.is_all() {
        m.insert("users".into(), listusers(st));
        m.insert("sa".into(), json!("listusers"));
    }
    // 11. general
    if r_gs.is_all() {
        if sa == "general_save" {
            if st.v24() {
                apply_save_v24(st, 0, ctx, true);
            } else {
                apply_save(st, 0, ctx, true);
            }
            st.reload_settings();
            m.insert("saved_ok".into(), json!(true));
            sa = "general".into();
        }
        if sa == "general" || sa == "navitems" {
            m.insert("sa".into(), json!("general"));
            m.insert("settings".into(), general_json(st, uid));
            if st.v24() {
                m.insert("archive_settings".into(), archive_settings_v24(st, 0));
            }
            m.insert("cowraw_available".into(), json!(false));
        }
    }
    // 12. mail
    if st.right(uid, "mail_settings").is_all() {
        if sa == "mail_save" {
            for (k, _) in MAIL_KEYS {
                if ctx.has(k) {
                    st.mail.insert(k.to_string(), unquote(ctx.get(k)));
                }
            }
            m.insert("saved_ok".into(), json!(true));
            if !ctx.get("testmailaddr").is_empty() {
                m.insert(
                    "mail_test".into(),
                    json!("Sending mail failed (simulated server has no mail support)"),
                );
            }
            sa = "mail".into();
        }
        if sa == "mail" {
            let mut s = Map::new();
            for (k, d) in MAIL_KEYS {
                s.insert(
                    k.to_string(),
                    json!(st.mail.get(*k).cloned().unwrap_or_else(|| d.to_string())),
                );
            }
            m.insert("settings".into(), Value::Object(s));
            m.insert("sa".into(), json!("mail"));
        }
    }
    // 13. ldap
    if st.right(uid, "ldap_settings").is_all() {
        if sa == "ldap_save" {
            for (k, _) in LDAP_KEYS {
                if ctx.has(k) {
                    st.ldap.insert(k.to_string(), unquote(ctx.get(k)));
                }
            }
            m.insert("saved_ok".into(), json!(true));
            if !ctx.get("testusername").is_empty() {
                let enabled = st
                    .ldap
                    .get("ldap_login_enabled")
                    .map(|v| v == "true")
                    .unwrap_or(false);
                m.insert(
                    "ldap_test".into(),
                    json!(if enabled {
                        "Could not connect to LDAP server (simulated)"
                    } else {
                        "Login via LDAP not enabled"
                    }),
                );
            }
            sa = "ldap".into();
        }
        if sa == "ldap" {
            let mut s = Map::new();
            for (k, d) in LDAP_KEYS {
                let raw = st.ldap.get(*k).cloned().unwrap_or_else(|| d.to_string());
                let v = match *k {
                    "ldap_login_enabled" => json!(raw == "true" || raw == "1"),
                    "ldap_server_port" => json!(atoi(&raw)),
                    _ => json!(raw),
                };
                s.insert(k.to_string(), v);
            }
            m.insert("settings".into(), Value::Object(s));
            m.insert("sa".into(), json!("ldap"));
        }
    }
    let _ = settings_def::nested_type;
    win(&mut m);
    Reply::Json(Value::Object(m)).into()
}
