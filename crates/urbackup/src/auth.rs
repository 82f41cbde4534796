//! Password hashing of the UrBackup web login (pure functions).
//!
//! The server stores, per user, a `salt`, a number of PBKDF2 rounds and a hash `H`:
//!
//! 1. `H0 = hex(md5(salt ‖ password))`
//! 2. `H = hex(pbkdf2_hmac_sha256(md5_bytes(salt ‖ password), salt, rounds, 32))` when the server
//!    reports `pbkdf2_rounds > 0`, else `H = H0` (legacy MD5-only accounts);
//! 3. the login proof is `hex(md5(rnd ‖ H))`, `rnd` being the one-time text from `salt`.
//!
//! ```
//! use urbackup::auth::login_proof;
//! let proof = login_proof("pOqk8oLzNKgWJp2M7cHu", "secret", 10000, "Ab3dE6gH9k");
//! assert_eq!(proof, "1f2986537d27d217cb0ac09abebccf99");
//! ```

use md5::{Digest, Md5};

/// `md5(salt ‖ password)` as raw bytes.
fn md5_salted(salt: &str, password: &str) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(salt.as_bytes());
    h.update(password.as_bytes());
    h.finalize().into()
}

/// `H0 = hex(md5(salt ‖ password))`: what `useradd`/`changepw` send as `pwmd5`.
pub fn password_md5(salt: &str, password: &str) -> String {
    hex::encode(md5_salted(salt, password))
}

/// The stored hash `H` for `rounds` PBKDF2-HMAC-SHA256 rounds (`rounds == 0`: legacy `H0`).
pub fn stored_hash(salt: &str, password: &str, rounds: u32) -> String {
    let h0 = md5_salted(salt, password);
    if rounds == 0 {
        return hex::encode(h0);
    }
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&h0, salt.as_bytes(), rounds, &mut out);
    hex::encode(out)
}

/// The proof sent as `password` to `login`: `hex(md5(rnd ‖ H))`.
pub fn login_proof(salt: &str, password: &str, rounds: u32, rnd: &str) -> String {
    let h = stored_hash(salt, password, rounds);
    let mut m = Md5::new();
    m.update(rnd.as_bytes());
    m.update(h.as_bytes());
    hex::encode(m.finalize())
}

/// A random alphanumeric salt of `len` characters, as the web interface makes for new passwords.
pub fn random_salt(len: usize) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vector of the API reference (§2.4), checked there with Python's hashlib.
    const SALT: &str = "pOqk8oLzNKgWJp2M7cHu";
    const RND: &str = "Ab3dE6gH9k";

    #[test]
    fn md5_step() {
        assert_eq!(
            password_md5(SALT, "secret"),
            "142a24887b3ae443215d82a58de3361e"
        );
    }

    #[test]
    fn pbkdf2_step() {
        assert_eq!(
            stored_hash(SALT, "secret", 10000),
            "ccfe071f0a2fb03d3685d6e9b740392b008da38617c982f2365e639ae1bd7107"
        );
    }

    #[test]
    fn proofs() {
        assert_eq!(
            login_proof(SALT, "secret", 10000, RND),
            "1f2986537d27d217cb0ac09abebccf99"
        );
        assert_eq!(
            login_proof(SALT, "secret", 0, RND),
            "68231ae3b08a90154debf89a5e5e5072"
        );
    }

    #[test]
    fn salts_are_alphanumeric() {
        let s = random_salt(50);
        assert_eq!(s.len(), 50);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(s, random_salt(50));
    }
}
