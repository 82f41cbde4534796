//! Web sessions and the login ban.

use super::*;

impl State {
    // --------------------------------------------------------------- sessions

    /// Find a valid session (expiring idle ones) and refresh it.
    pub fn touch_session(&mut self, token: &str) -> Option<Session> {
        if token.is_empty() {
            return None;
        }
        let now = self.now_ms;
        let idle = self.cfg.session_idle_ms;
        let expired = match self.sessions.get(token) {
            Some(s) => now - s.last_used_ms > idle,
            None => return None,
        };
        if expired {
            self.sessions.remove(token);
            return None;
        }
        let s = self.sessions.get_mut(token)?;
        s.last_used_ms = now;
        Some(s.clone())
    }

    /// Create a new session.
    pub fn new_session(&mut self, user_id: i64, username: &str) -> String {
        if self.sessions.len() > 1000 {
            let (now, idle) = (self.now_ms, self.cfg.session_idle_ms);
            self.sessions.retain(|_, s| now - s.last_used_ms <= idle);
        }
        let token = crate::auth::session_token();
        self.sessions.insert(
            token.clone(),
            Session {
                user_id,
                username: username.to_string(),
                rnd: String::new(),
                last_used_ms: self.now_ms,
            },
        );
        token
    }

    /// Is the IP currently banned (rate limit)?
    pub fn is_banned(&mut self, ip: &str) -> bool {
        if !self.cfg.rate_limit || self.v24() {
            return false;
        }
        if let Some(&start) = self.banned.get(ip) {
            if self.now_ms - start < 600_000 {
                return true;
            }
            self.banned.remove(ip);
        }
        false
    }

    /// Count a failed login for the rate limit.
    pub fn record_failed_login(&mut self, ip: &str) {
        if !self.cfg.rate_limit || self.v24() {
            return;
        }
        let now = self.now_ms;
        let v = self.failed_logins.entry(ip.to_string()).or_default();
        v.retain(|t| now - t < 40_000);
        v.push(now);
        if v.len() > 10 {
            v.clear();
            self.banned.insert(ip.to_string(), now);
        }
    }
}
