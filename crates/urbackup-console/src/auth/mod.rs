//! Console users' credentials and what they may see: roles, scopes ([`scope`]), passwords
//! ([`password`]: the rule for new ones, Argon2id hashes, the bounded [`Hasher`]), directory
//! logins ([`ldap`]), the second factor ([`totp`]), session and CSRF tokens, and the login
//! limit ([`limit`]). Every login goes through one door, [`Authenticator`] ([`login`]).

pub mod ldap;
pub mod limit;
mod local;
pub mod login;
pub mod password;
pub mod scope;
pub mod totp;

pub use limit::{LoginLimiter, Refusal, Ticket};
pub use login::{Authenticator, SecondFactor, Verdict};
pub use password::{
    check_new_password, dummy_hash, hash_password, verify_password, Busy, Hasher, MAX_PASSWORD_LEN,
    MIN_PASSWORD_LEN,
};
pub use scope::Scope;

/// The tracing target of security events (logins, refusals, lock-outs, user changes, ended
/// sessions): logged by default.
pub const SECURITY: &str = "urbackup_console::security";

use base64::Engine;
use sha2::{Digest, Sha256};

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn roles_are_ordered_and_parse() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
