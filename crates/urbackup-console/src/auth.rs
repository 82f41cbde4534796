//! Console users' credentials: roles, Argon2id password hashes, session and CSRF tokens,
//! and the limit on failed logins.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a console user may do. Ordered: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads every page; changes nothing.
    Viewer,
    /// Also starts and stops backups.
    Operator,
    /// Also manages console users.
    Admin,
}

impl Role {
    /// `viewer`, `operator`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// All roles, weakest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}` (viewer, operator or admin)"
            )),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shortest password the console accepts.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes a password with Argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, the
/// OWASP recommendation) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = argon2::password_hash::SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// True when `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of no password: verified against when the user name is unknown, so that a login
/// takes as long for an unknown user as for a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no user has this password").unwrap_or_default())
}

/// A random token: 32 bytes from the OS, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a session token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failed logins allowed per address in [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 5;
/// Failed logins allowed per user name in [`LOGIN_WINDOW`] (from any address).
pub const LOGIN_FAILURES_PER_USER: u32 = 10;
/// The window of the login limits.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failed logins per address and per user name; refuses further attempts for the rest
/// of the window once a limit is reached. In memory: a restart forgets it.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    inner: Mutex<Limits>,
}

#[derive(Debug, Default)]
struct Limits {
    by_addr: HashMap<IpAddr, Window>,
    by_user: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

impl LoginLimiter {
    fn limits(&self) -> std::sync::MutexGuard<'_, Limits> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some(wait)` when a login from `addr` for `user` must be refused now.
    pub fn blocked(&self, addr: IpAddr, user: &str, now: Instant) -> Option<Duration> {
        let l = self.limits();
        let over = |w: Option<&Window>, max: u32| {
            w.filter(|w| w.failures >= max && now.duration_since(w.start) < LOGIN_WINDOW)
                .map(|w| LOGIN_WINDOW.saturating_sub(now.duration_since(w.start)))
        };
        over(l.by_addr.get(&addr), LOGIN_FAILURES_PER_ADDRESS)
            .max(over(l.by_user.get(user), LOGIN_FAILURES_PER_USER))
    }

    /// Counts a failed login.
    pub fn failed(&self, addr: IpAddr, user: &str, now: Instant) {
        let mut l = self.limits();
        // Forget finished windows, so that the maps do not grow without bound.
        l.by_addr
            .retain(|_, w| now.duration_since(w.start) < LOGIN_WINDOW);
        l.by_user
            .retain(|_, w| now.duration_since(w.start) < LOGIN_WINDOW);
        let fresh = Window {
            start: now,
            failures: 0,
        };
        l.by_addr.entry(addr).or_insert(fresh).failures += 1;
        l.by_user.entry(user.to_owned()).or_insert(fresh).failures += 1;
    }

    /// A successful login clears its address's count (not the user's: a guesser who also
    /// knows one password must not reset the count of another user).
    pub fn succeeded(&self, addr: IpAddr) {
        self.limits().by_addr.remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_differ_by_salt() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct horsf", &a));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("anything", dummy_hash()));
    }

    #[test]
    fn tokens_are_random_and_compare_exactly() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..42]));
        assert_eq!(token_hash(&a).len(), 32);
    }

    #[test]
    fn the_limiter_blocks_after_the_limit_and_for_the_window() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..LOGIN_FAILURES_PER_ADDRESS {
            assert!(l.blocked(ip, "ann", t0).is_none());
            l.failed(ip, "ann", t0);
        }
        assert!(l.blocked(ip, "ann", t0).is_some());
        // Another address is not blocked (the user's own limit is higher).
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.blocked(other, "ann", t0).is_none());
        // After the window, the address may try again.
        assert!(l.blocked(ip, "ann", t0 + LOGIN_WINDOW).is_none());
        // Guessing one user's password from many addresses hits the user's limit.
        let l = LoginLimiter::default();
        for i in 0..LOGIN_FAILURES_PER_USER {
            let ip = IpAddr::from([198, 51, 100, i as u8]);
            l.failed(ip, "bob", t0);
        }
        let fresh: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(l.blocked(fresh, "bob", t0).is_some());
        assert!(l.blocked(fresh, "carol", t0).is_none());
    }

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
