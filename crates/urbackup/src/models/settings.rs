//! Settings (`settings`): UrBackup 2.5's nested per-key objects, and values to write.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A value to write into a setting. Booleans are sent as `true`/`false` (the server reads
/// anything else, e.g. Python's `True`, as false).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// A boolean setting.
    Bool(bool),
    /// An integer setting.
    Int(i64),
    /// A text setting (also intervals and lists, as the server spells them).
    Text(String),
}

impl SettingValue {
    /// The form value sent to the server.
    pub fn to_wire(&self) -> String {
        match self {
            SettingValue::Bool(b) => b.to_string(),
            SettingValue::Int(i) => i.to_string(),
            SettingValue::Text(s) => s.clone(),
        }
    }

    /// True when `value` (as read back) means the same as this one: the server returns values
    /// saved through the API as strings, and defaults as numbers or booleans.
    pub fn matches(&self, value: &Value) -> bool {
        let read = value_text(value);
        match self {
            SettingValue::Bool(b) => match value {
                Value::Bool(v) => v == b,
                _ => matches!(
                    (b, read.as_str()),
                    (true, "true" | "1") | (false, "false" | "0")
                ),
            },
            _ => read == self.to_wire(),
        }
    }
}

/// The text of a setting value as the server would take it back.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_wire())
    }
}

impl From<bool> for SettingValue {
    fn from(v: bool) -> Self {
        SettingValue::Bool(v)
    }
}
impl From<i64> for SettingValue {
    fn from(v: i64) -> Self {
        SettingValue::Int(v)
    }
}
impl From<i32> for SettingValue {
    fn from(v: i32) -> Self {
        SettingValue::Int(v.into())
    }
}
impl From<u32> for SettingValue {
    fn from(v: u32) -> Self {
        SettingValue::Int(v.into())
    }
}
impl From<&str> for SettingValue {
    fn from(v: &str) -> Self {
        SettingValue::Text(v.to_owned())
    }
}
impl From<String> for SettingValue {
    fn from(v: String) -> Self {
        SettingValue::Text(v)
    }
}
impl From<&String> for SettingValue {
    fn from(v: &String) -> Self {
        SettingValue::Text(v.clone())
    }
}

/// Where a client's or group's effective value comes from (the `use` bit mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SettingUse(pub i64);

impl SettingUse {
    /// Inherit from the group (or global settings).
    pub const INHERIT: SettingUse = SettingUse(1);
    /// The target's own value.
    pub const OWN: SettingUse = SettingUse(2);
    /// The value set on the client.
    pub const CLIENT: SettingUse = SettingUse(4);
}

/// One setting as the server reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// The effective value: own value, client value or inherited value according to `use`
    /// (for global settings: the value).
    pub value: Value,
    /// The target's own value (`value`), if it has one.
    pub own: Option<Value>,
    /// The value supplied by the client software (`value_client`).
    pub client: Option<Value>,
    /// The parent's effective value (`value_group`).
    pub inherited: Option<Value>,
    /// The `use` bit mask (absent for global settings).
    pub use_mask: Option<i64>,
}

impl Setting {
    fn from_json(v: &Value) -> Setting {
        match v {
            Value::Object(o)
                if o.contains_key("value")
                    || o.contains_key("use")
                    || o.contains_key("value_group") =>
            {
                let own = o.get("value").cloned();
                let client = o.get("value_client").cloned();
                let inherited = o.get("value_group").cloned();
                let use_mask = o.get("use").and_then(|u| {
                    u.as_i64()
                        .or_else(|| u.as_str().and_then(|s| s.parse().ok()))
                });
                let value = match use_mask {
                    Some(m) if m & 4 != 0 && client.is_some() => client.clone(),
                    Some(m) if m & 2 != 0 && own.is_some() => own.clone(),
                    Some(_) => inherited.clone().or_else(|| own.clone()),
                    None => own.clone().or_else(|| inherited.clone()),
                }
                .unwrap_or(Value::Null);
                Setting {
                    value,
                    own,
                    client,
                    inherited,
                    use_mask,
                }
            }
            flat => Setting {
                value: flat.clone(),
                own: Some(flat.clone()),
                client: None,
                inherited: None,
                use_mask: None,
            },
        }
    }

    /// The effective value as text (what the server would take back).
    pub fn text(&self) -> String {
        value_text(&self.value)
    }
}

/// A settings object (global, group or client), keyed by setting name.
///
/// Only setting keys are kept in `entries` (bookkeeping keys such as `clientid`, `alert_scripts`
/// or `ONLY_WIN32_BEGIN` are left out); `raw` keeps the whole `settings` object as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Setting name → setting.
    pub entries: BTreeMap<String, Setting>,
    /// The `settings` object exactly as the server sent it.
    pub raw: Value,
}

/// Keys of a `settings` object that are not settings.
const NOT_SETTINGS: &[&str] = &[
    "clientid",
    "groupid",
    "groupname",
    "clientname",
    "memberof",
    "main_client",
    "overwrite",
    "alert_scripts",
    "can_edit_scripts",
    "ONLY_WIN32_BEGIN",
    "ONLY_WIN32_END",
    "client_set_settings",
];

impl Settings {
    pub(crate) fn from_object(obj: &Map<String, Value>) -> Settings {
        let entries = obj
            .iter()
            .filter(|(k, _)| !NOT_SETTINGS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), Setting::from_json(v)))
            .collect();
        Settings {
            entries,
            raw: Value::Object(obj.clone()),
        }
    }

    /// Settings in UrBackup 2.4's shape: plain effective values; for a client a whole-client
    /// `overwrite` flag (its own values, or its group's), groups always their own; the archive
    /// rules outside the object (`archive_settings`), given here as the `archive` setting in
    /// 2.5's text form (see [`archive_text_v24`]).
    ///
    /// The flag maps to 2.5's terms: with it (and for groups) every value is the target's own
    /// (`use_mask` 2, `own`), without it every value is inherited (`use_mask` 1, `inherited`).
    /// Global settings are plain (`use_mask` `None`), as in 2.5.
    pub(crate) fn from_object_v24(
        obj: &Map<String, Value>,
        archive_settings: &[Value],
        per_target: bool,
    ) -> Settings {
        let own = !per_target
            || obj.contains_key("groupid")
            || obj.get("overwrite").is_some_and(|v| {
                v.as_bool()
                    .unwrap_or_else(|| matches!(v.as_str(), Some("true" | "1")))
            });
        let setting = |v: Value| -> Setting {
            if !per_target {
                return Setting::from_json(&v);
            }
            Setting {
                own: own.then(|| v.clone()),
                inherited: (!own).then(|| v.clone()),
                client: None,
                use_mask: Some(if own { 2 } else { 1 }),
                value: v,
            }
        };
        let mut entries: BTreeMap<String, Setting> = obj
            .iter()
            .filter(|(k, _)| !NOT_SETTINGS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), setting(v.clone())))
            .collect();
        entries.insert(
            "archive".into(),
            setting(Value::String(archive_text_v24(archive_settings))),
        );
        Settings {
            entries,
            raw: Value::Object(obj.clone()),
        }
    }

    /// The setting `key`, if the server reported it.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.entries.get(key)
    }

    /// The effective value of `key`.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.entries.get(key).map(|s| &s.value)
    }

    /// Names of the settings whose effective value differs between `self` and `other`
    /// (present in one only counts as different). `archive` counts as different when its
    /// rules differ, not the annotations the server adds (next archival, time left, rule ids).
    pub fn diff_keys(&self, other: &Settings) -> Vec<String> {
        let mut keys: Vec<String> = self
            .entries
            .iter()
            .filter(|(k, v)| {
                other
                    .entries
                    .get(*k)
                    .map(|o| {
                        if *k == "archive" {
                            // The rules, not the annotations the server adds to them.
                            !same_archive_rules(&o.text(), &v.text())
                        } else {
                            o.text() != v.text()
                        }
                    })
                    .unwrap_or(true)
            })
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(
            other
                .entries
                .keys()
                .filter(|k| !self.entries.contains_key(*k))
                .cloned(),
        );
        keys.sort();
        keys
    }

    /// Number of settings.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// UrBackup 2.4's archive rules (`archive_settings`: `archive_every`, `archive_every_unit`,
/// `archive_for`, `archive_for_unit`, `archive_backup_type`, `archive_window`,
/// `archive_letters`, `next_archival`) in the text form of 2.5's `archive` setting:
/// `every_c0=...&every_unit_c0=...&for_c0=...&for_unit_c0=...&backup_type_c0=...&window_c0=...&letters_c0=...`,
/// one index per rule, plus `next_archival_c0` (an annotation, as 2.5 adds one) so that a save
/// resending the rules keeps their schedule.
pub(crate) fn archive_text_v24(rules: &[Value]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (i, r) in rules.iter().enumerate() {
        let field = |k: &str| r.get(k).map(value_text).unwrap_or_default();
        for (ours, theirs) in ARCHIVE_FIELDS_V24 {
            out.append_pair(&format!("{ours}c{i}"), &field(theirs));
        }
        out.append_pair(&format!("next_archival_c{i}"), &field("next_archival"));
    }
    out.finish()
}

/// The form fields UrBackup 2.4 takes archive rules in (`archive_next_N`, `archive_every_N`,
/// ... as its web interface sends them) for an `archive` text of 2.5's form. A rule without
/// `next_archival_X` gets `archive_next_N=-1`: the server schedules it (now for a client).
pub(crate) fn archive_fields_v24(archive: &str) -> Vec<(String, String)> {
    let params: Vec<(String, String)> = form_urlencoded::parse(archive.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.clone())
    };
    let mut out = Vec::new();
    let indexes = params
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("every_"))
        .filter(|idx| !idx.starts_with("unit_"));
    for (n, idx) in indexes.enumerate() {
        out.push((
            format!("archive_next_{n}"),
            get(&format!("next_archival_{idx}"))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "-1".into()),
        ));
        for (ours, theirs) in ARCHIVE_FIELDS_V24 {
            out.push((
                format!("{theirs}_{n}"),
                get(&format!("{ours}{idx}")).unwrap_or_default(),
            ));
        }
    }
    out
}

/// True when two `archive` texts hold the same rules: annotations (next archival, time left)
/// and rule ids aside, and whatever index each rule has (2.5 numbers them per origin, `d0`,
/// `g0`, `c0`; this crate reads 2.4's rules as `c0`, `c1`...).
pub(crate) fn same_archive_rules(a: &str, b: &str) -> bool {
    const FIELDS: [&str; 7] = [
        "every_unit_",
        "every_",
        "for_unit_",
        "for_",
        "backup_type_",
        "window_",
        "letters_",
    ];
    let rules = |t: &str| -> Vec<Vec<(&'static str, String)>> {
        let mut by_idx: std::collections::BTreeMap<String, Vec<(&'static str, String)>> =
            Default::default();
        for (k, v) in form_urlencoded::parse(t.as_bytes()) {
            if let Some((field, idx)) = FIELDS
                .iter()
                .find_map(|f| k.strip_prefix(f).map(|idx| (*f, idx.to_owned())))
            {
                by_idx.entry(idx).or_default().push((field, v.into_owned()));
            }
        }
        let mut list: Vec<_> = by_idx
            .into_values()
            .map(|mut r| {
                r.sort();
                r
            })
            .collect();
        list.sort();
        list
    };
    rules(a) == rules(b)
}

/// 2.5's key prefix and 2.4's field of each part of an archive rule.
const ARCHIVE_FIELDS_V24: [(&str, &str); 7] = [
    ("every_", "archive_every"),
    ("every_unit_", "archive_every_unit"),
    ("for_", "archive_for"),
    ("for_unit_", "archive_for_unit"),
    ("backup_type_", "archive_backup_type"),
    ("window_", "archive_window"),
    ("letters_", "archive_letters"),
];

/// Setting keys a client, group or the global defaults accept (`clientsettings_save`,
/// `general_save`), from the server's `settingslist.cpp` (2.5.x).
pub const CLIENT_SETTING_KEYS: &[&str] = &[
    "update_freq_incr",
    "update_freq_full",
    "update_freq_image_full",
    "update_freq_image_incr",
    "max_file_incr",
    "min_file_incr",
    "max_file_full",
    "min_file_full",
    "min_image_incr",
    "max_image_incr",
    "min_image_full",
    "max_image_full",
    "startup_backup_delay",
    "backup_window_incr_file",
    "backup_window_full_file",
    "backup_window_incr_image",
    "backup_window_full_image",
    "exclude_files",
    "include_files",
    "computername",
    "virtual_clients",
    "default_dirs",
    "allow_overwrite",
    "backup_dirs_optional",
    "allow_config_paths",
    "allow_starting_full_file_backups",
    "allow_starting_incr_file_backups",
    "allow_starting_full_image_backups",
    "allow_starting_incr_image_backups",
    "allow_pause",
    "allow_log_view",
    "allow_tray_exit",
    "image_letters",
    "internet_server",
    "internet_server_port",
    "internet_server_proxy",
    "internet_authkey",
    "internet_speed",
    "local_speed",
    "internet_image_backups",
    "internet_full_file_backups",
    "internet_encrypt",
    "internet_compress",
    "internet_mode_enabled",
    "silent_update",
    "client_quota",
    "local_full_file_transfer_mode",
    "internet_full_file_transfer_mode",
    "local_incr_file_transfer_mode",
    "internet_incr_file_transfer_mode",
    "local_image_transfer_mode",
    "internet_image_transfer_mode",
    "end_to_end_file_backup_verification",
    "internet_calculate_filehashes_on_client",
    "internet_parallel_file_hashing",
    "image_file_format",
    "internet_connect_always",
    "server_url",
    "verify_using_client_hashes",
    "internet_readd_file_entries",
    "background_backups",
    "local_incr_image_style",
    "local_full_image_style",
    "internet_incr_image_style",
    "internet_full_image_style",
    "create_linked_user_views",
    "max_running_jobs_per_client",
    "cbt_volumes",
    "cbt_crash_persistent_volumes",
    "ignore_disk_errors",
    "vss_select_components",
    "allow_file_restore",
    "allow_component_restore",
    "allow_component_config",
    "file_snapshot_groups",
    "image_snapshot_groups",
    "internet_file_dataplan_limit",
    "internet_image_dataplan_limit",
    "alert_script",
    "alert_params",
    "archive",
    "client_settings_tray_access_pw",
    "local_encrypt",
    "local_compress",
    "download_threads",
    "hash_threads",
    "client_hash_threads",
    "image_compress_threads",
];

/// Server-wide keys that only the global settings have (`general_save`), sent flat.
pub const GLOBAL_ONLY_SETTING_KEYS: &[&str] = &[
    "backupfolder",
    "no_images",
    "no_file_backups",
    "autoshutdown",
    "download_client",
    "autoupdate_clients",
    "max_sim_backups",
    "max_active_clients",
    "cleanup_window",
    "backup_database",
    "internet_server",
    "internet_server_port",
    "internet_server_proxy",
    "global_local_speed",
    "global_internet_speed",
    "use_tmpfiles",
    "use_tmpfiles_images",
    "tmpdir",
    "update_stats_cachesize",
    "global_soft_fs_quota",
    "show_server_updates",
    "server_url",
    "use_incremental_symlinks",
    "update_dataplan_db",
    "internet_expect_endpoint",
    "internet_server_bind_port",
    "restore_authkey",
];

/// Mail settings keys (`mail_save`).
pub const MAIL_SETTING_KEYS: &[&str] = &[
    "mail_servername",
    "mail_serverport",
    "mail_username",
    "mail_password",
    "mail_from",
    "mail_ssl_only",
    "mail_check_certificate",
    "mail_use_smtps",
    "mail_admin_addrs",
];

/// LDAP settings keys (`ldap_save`).
pub const LDAP_SETTING_KEYS: &[&str] = &[
    "ldap_login_enabled",
    "ldap_server_name",
    "ldap_server_port",
    "ldap_username_prefix",
    "ldap_username_suffix",
    "ldap_group_class_query",
    "ldap_group_key_name",
    "ldap_class_key_name",
    "ldap_group_rights_map",
    "ldap_class_rights_map",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effective_value_follows_use() {
        let s = Setting::from_json(&json!({"use": 2, "value": "5", "value_group": 7}));
        assert_eq!(s.value, json!("5"));
        let s = Setting::from_json(&json!({"use": 1, "value_group": 7}));
        assert_eq!(s.value, json!(7));
        let s = Setting::from_json(
            &json!({"use": 4, "value": "a", "value_client": "b", "value_group": "c"}),
        );
        assert_eq!(s.value, json!("b"));
        let s = Setting::from_json(&json!({"value": true}));
        assert_eq!(s.value, json!(true));
        let s = Setting::from_json(&json!("/media/backup"));
        assert_eq!(s.text(), "/media/backup");
    }

    #[test]
    fn archive_rules_of_2_4_round_trip() {
        let rules = vec![
            json!({"archive_backup_type": "file", "archive_every": 86400,
            "archive_every_unit": "d", "archive_for": 2592000, "archive_for_unit": "d",
            "archive_letters": "", "archive_timeleft": "-", "archive_window": "*;*;*;*",
            "next_archival": "0"}),
        ];
        let text = archive_text_v24(&rules);
        assert!(
            text.starts_with("every_c0=86400&every_unit_c0=d&for_c0=2592000"),
            "{text}"
        );
        let fields = archive_fields_v24(&text);
        let f = |k: &str| fields.iter().find(|(fk, _)| fk == k).unwrap().1.as_str();
        assert_eq!(f("archive_next_0"), "0");
        assert_eq!(f("archive_every_0"), "86400");
        assert_eq!(f("archive_window_0"), "*;*;*;*");
        assert_eq!(f("archive_backup_type_0"), "file");
        assert_eq!(fields.len(), 8);
        assert!(archive_fields_v24("").is_empty());
        // A rule written without a schedule is scheduled by the server.
        let new = archive_fields_v24("every_c0=3600&every_unit_c0=h&backup_type_c0=file");
        assert_eq!(new[0], ("archive_next_0".to_string(), "-1".to_string()));
    }

    #[test]
    fn matches_read_back_forms() {
        assert!(SettingValue::Bool(true).matches(&json!("true")));
        assert!(SettingValue::Bool(true).matches(&json!(true)));
        assert!(!SettingValue::Bool(false).matches(&json!("true")));
        assert!(SettingValue::Int(-18000).matches(&json!("-18000")));
        assert!(SettingValue::Int(40).matches(&json!(40)));
        assert!(SettingValue::from("ä ö").matches(&json!("ä ö")));
    }
}
