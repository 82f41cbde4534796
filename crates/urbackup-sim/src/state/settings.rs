//! Rights and settings: a user's rights per domain, the settings of a target as the server
//! resolves them (client, group, global).

use super::*;

impl State {
    // ------------------------------------------------------------------ rights

    /// Evaluate right `domain` for a session user id (§3.1).
    pub fn right(&self, user_id: i64, domain: &str) -> Right {
        if user_id == 0 {
            return Right::All;
        }
        if user_id < 0 {
            return Right::None;
        }
        let Some(u) = self.users.get(&user_id) else {
            return Right::None;
        };
        if u.rights.iter().any(|(d, r)| d == "all" && r == "all") {
            return Right::All;
        }
        u.rights
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, r)| Right::parse(r))
            .unwrap_or(Right::None)
    }

    // ---------------------------------------------------------------- settings

    /// Parent target of a settings target (client → group or global; group → global).
    pub fn parent_target(&self, target: i64) -> Option<i64> {
        if target == 0 {
            None
        } else if target < 0 {
            Some(0)
        } else {
            let g = self.clients.get(&target).map(|c| c.group_id).unwrap_or(0);
            if g != 0 && self.groups.contains_key(&g) {
                Some(-g)
            } else {
                Some(0)
            }
        }
    }

    /// Stored row of a target (clients' `internet_authkey` comes from [`Client::authkey`]).
    pub fn row(&self, target: i64, key: &str) -> Option<SettingRow> {
        if target > 0 && key == "internet_authkey" {
            if let Some(c) = self.clients.get(&target) {
                if !c.authkey.is_empty() {
                    return Some(SettingRow {
                        value: c.authkey.clone(),
                        value_client: String::new(),
                        use_: 2,
                    });
                }
            }
        }
        self.settings.get(&target).and_then(|m| m.get(key)).cloned()
    }

    /// Effective raw value of a nested setting for a target; `None` = built-in default.
    pub fn effective_raw(&self, target: i64, key: &str) -> Option<String> {
        match self.row(target, key) {
            Some(r) if target == 0 => Some(r.value),
            Some(r) => {
                if r.use_ & 4 != 0 && !r.value_client.is_empty() {
                    Some(r.value_client)
                } else if r.use_ & 2 != 0 {
                    Some(r.value)
                } else {
                    self.parent_target(target)
                        .and_then(|p| self.effective_raw(p, key))
                }
            }
            None => self
                .parent_target(target)
                .and_then(|p| self.effective_raw(p, key)),
        }
    }

    /// Effective typed value of a nested setting.
    pub fn effective_value(&self, target: i64, key: &str) -> Value {
        match self.effective_raw(target, key) {
            Some(raw) => typed(key, &raw, false),
            None => typed(key, settings_def::nested_default(key).unwrap_or(""), true),
        }
    }

    /// Effective setting as i64 (0 if not numeric).
    pub fn effective_i64(&self, target: i64, key: &str) -> i64 {
        let raw = self
            .effective_raw(target, key)
            .unwrap_or_else(|| settings_def::nested_default(key).unwrap_or("").to_string());
        raw.trim().parse().unwrap_or(0)
    }

    /// Flat general setting (raw text or default).
    pub fn general_raw(&self, key: &str) -> String {
        if let Some(v) = self.general.get(key) {
            return v.clone();
        }
        settings_def::GLOBAL_FLAT
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, d)| d.to_string())
            .unwrap_or_default()
    }

    /// Flat general setting typed.
    pub fn general_value(&self, key: &str) -> Value {
        let ty = settings_def::GLOBAL_FLAT
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, t, _)| *t)
            .unwrap_or(Ty::Str);
        let raw = self.general_raw(key);
        match ty {
            Ty::Str => Value::String(raw),
            Ty::Int => json!(raw.trim().parse::<i64>().unwrap_or(0)),
            Ty::Bool => Value::Bool(raw == "true" || raw == "1"),
        }
    }

    /// File backups disabled for a client (both intervals ≤ 0, or `no_file_backups` in the
    /// general settings: the real server's alert pass stores `file_ok = -1` for both).
    pub fn file_disabled(&self, cid: i64) -> bool {
        self.general_value("no_file_backups") == Value::Bool(true)
            || self.effective_i64(cid, "update_freq_incr") <= 0
                && self.effective_i64(cid, "update_freq_full") <= 0
    }

    /// Image backups disabled for a client (both intervals ≤ 0, or `no_images`).
    pub fn image_disabled(&self, cid: i64) -> bool {
        self.general_value("no_images") == Value::Bool(true)
            || self.effective_i64(cid, "update_freq_image_incr") <= 0
                && self.effective_i64(cid, "update_freq_image_full") <= 0
    }
}
