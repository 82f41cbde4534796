//! Password hashing (§2.4 of the API reference) and random tokens.

use md5::{Digest, Md5};
use rand::Rng;
use sha2::Sha256;

/// Characters used for session tokens: `0-9A-Za-y` (the real server never emits `z`).
const SES_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// `H0 = md5hex(salt ‖ password)`.
pub fn h0(salt: &str, password: &[u8]) -> String {
    let mut v = salt.as_bytes().to_vec();
    v.extend_from_slice(password);
    md5_hex(&v)
}

/// Stored hash from `H0`: PBKDF2-HMAC-SHA256 over the raw MD5 bytes (rounds > 0), else H0.
pub fn stored_hash_from_h0(h0_hex: &str, salt: &str, rounds: u32) -> String {
    if rounds == 0 {
        return h0_hex.to_string();
    }
    let raw = hex::decode(h0_hex).unwrap_or_else(|_| h0_hex.as_bytes().to_vec());
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(&raw, salt.as_bytes(), rounds, &mut out);
    hex::encode(out)
}

/// Stored hash for a cleartext password (memoized: PBKDF2 is slow in debug builds and the
/// simulator computes the same hashes for every start with the same seed).
pub fn stored_hash(salt: &str, password: &[u8], rounds: u32) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<HashMap<(String, Vec<u8>, u32), String>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (salt.to_string(), password.to_vec(), rounds);
    if let Some(h) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return h;
    }
    let h = stored_hash_from_h0(&h0(salt, password), salt, rounds);
    if let Ok(mut c) = cache.lock() {
        if c.len() < 10_000 {
            c.insert(key, h.clone());
        }
    }
    h
}

/// Login proof: `md5hex(rnd ‖ H)`.
pub fn proof(rnd: &str, stored: &str) -> String {
    md5_hex(format!("{rnd}{stored}").as_bytes())
}

/// A new 30-character session token.
pub fn session_token() -> String {
    random_from(SES_CHARS, 30)
}

/// Random alphanumeric string of length `n`.
pub fn random_alnum(n: usize) -> String {
    random_from(ALNUM, n)
}

fn random_from(chars: &[u8], n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| chars[rng.gen_range(0..chars.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_vector_from_reference() {
        let salt = "pOqk8oLzNKgWJp2M7cHu";
        let hh0 = h0(salt, b"secret");
        assert_eq!(hh0, "142a24887b3ae443215d82a58de3361e");
        let h = stored_hash_from_h0(&hh0, salt, 10000);
        assert_eq!(
            h,
            "ccfe071f0a2fb03d3685d6e9b740392b008da38617c982f2365e639ae1bd7107"
        );
        assert_eq!(proof("Ab3dE6gH9k", &h), "1f2986537d27d217cb0ac09abebccf99");
        let legacy = stored_hash(salt, b"secret", 0);
        assert_eq!(
            proof("Ab3dE6gH9k", &legacy),
            "68231ae3b08a90154debf89a5e5e5072"
        );
    }

    #[test]
    fn tokens() {
        let t = session_token();
        assert_eq!(t.len(), 30);
        assert!(!t.contains('z'));
        assert_eq!(random_alnum(10).len(), 10);
    }
}
