//! Passwords: the rule for new ones, Argon2id hashes, and the [`Hasher`] that bounds how many
//! hashes run at once (each takes 19 MiB and a core for tens of milliseconds).

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The shortest password the console accepts (characters).
pub const MIN_PASSWORD_LEN: usize = 12;
/// The longest password the console accepts (characters); longer ones are refused before any
/// hashing.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Passwords of at least [`MIN_PASSWORD_LEN`] characters that lead the published lists of
/// leaked passwords (compared without case).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1234567891011",
    "123123123123",
    "111111111111",
    "000000000000",
    "121212121212",
    "123412341234",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopasdfghjkl",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwerty123456",
    "qwerty1234567",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "zaq12wsxcde3",
    "asdfghjkl123",
    "abcdefghijkl",
    "abcdefghijklm",
    "abcdefghijklmnopqrstuvwxyz",
    "abc123456789",
    "abcd12345678",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1234!",
    "password123!",
    "passw0rd1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "letmein12345",
    "iloveyou1234",
    "welcome12345",
    "welcome123456",
    "administrator",
    "administrator1",
    "administrator123",
    "admin1234567",
    "adminadmin123",
    "changeme1234",
    "changemenow!",
    "trustno1trustno1",
    "football1234",
    "baseball1234",
    "superman1234",
    "starwars1234",
    "sunshine1234",
    "princess1234",
    "dragon123456",
    "monkey123456",
    "michael12345",
    "liverpool123",
    "chelsea12345",
    "secret123456",
    "mysecretpassword",
    "correcthorsebatterystaple",
    "correct horse battery staple",
    "urbackup1234",
    "urbackupadmin",
    "backup123456",
    "backupbackup",
    "console12345",
];

/// Checks a new password: at least [`MIN_PASSWORD_LEN`] and at most [`MAX_PASSWORD_LEN`]
/// characters, not only white space, not one of the most common passwords, not the user name.
pub fn check_new_password(user: &str, password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!(
            "the password is too short: at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(format!(
            "the password is too long: at most {MAX_PASSWORD_LEN} characters"
        ));
    }
    if password.trim().is_empty() {
        return Err("the password is only white space".into());
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("the password is one of the most common passwords: choose another".into());
    }
    if lower == user.to_lowercase() {
        return Err("the password is the user name: choose another".into());
    }
    Ok(())
}

/// Argon2's working memory (19 MiB a hash), kept between hashes instead of freed: glibc's
/// allocator raises its mmap threshold once a block that large is freed, and then keeps every
/// later one in its heap, so that each hash left its 19 MiB behind (measured in the bench:
/// +372 MiB over a storm of logins). At most [`KEPT_MEMORIES`] are kept; the [`Hasher`]
/// bounds how many are in use at once.
static MEMORIES: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
/// Working memories kept for the next hashes.
const KEPT_MEMORIES: usize = 4;

/// Runs `f` with `blocks` blocks of Argon2 memory from the kept ones.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let mut memory = MEMORIES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let out = f(&mut memory[..blocks]);
    let mut kept = MEMORIES.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() < KEPT_MEMORIES {
        kept.push(memory);
    }
    out
}

/// Hashes a password with Argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, the
/// OWASP recommendation) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot hash the password: {e}");
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(params.block_count(), |m| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, m)
    })
    .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// True when `password` matches the PHC string `hash` (compared in constant time).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let hashed = with_memory(params.block_count(), |m| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, m)
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A hash of no password: verified against when the user name is unknown, so that a login
/// takes as long for an unknown user as for a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no user has this password").unwrap_or_default())
}

/// The hasher is busy: more hashes are running and waiting than it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Runs password hashes on blocking threads, at most a few at once, with a short queue:
/// beyond the queue a hash is refused at once ([`Busy`]), so the memory and CPU that logins
/// take do not depend on how many arrive.
#[derive(Debug, Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

impl Default for Hasher {
    /// One hash at a time per core beyond the first (at least one), so that a core stays free
    /// for the pages; a queue of twice that.
    fn default() -> Hasher {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parallel = cores.saturating_sub(1).max(1);
        Hasher::new(parallel, 2 * parallel)
    }
}

impl Hasher {
    /// At most `parallel` hashes at once, `max_waiting` more waiting.
    pub fn new(parallel: usize, max_waiting: usize) -> Hasher {
        Hasher {
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Busy);
                }
                let p = self.permits.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                p.map_err(|_| Busy)?
            }
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|_| Busy)
    }

    /// Verifies `password` against `hash` (the dummy hash when `None`, for an unknown user).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        self.run(move || match hash {
            Some(h) => verify_password(&password, &h),
            None => {
                verify_password(&password, dummy_hash());
                false
            }
        })
        .await
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<Result<String, String>, Busy> {
        self.run(move || hash_password(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_for_new_passwords() {
        assert!(check_new_password("ann", "a long passphrase").is_ok());
        assert!(check_new_password("ann", "short")
            .unwrap_err()
            .contains("too short"));
        assert!(check_new_password("ann", &"x".repeat(1025))
            .unwrap_err()
            .contains("too long"));
        assert!(check_new_password("ann", &"x".repeat(1024)).is_ok());
        assert!(check_new_password("ann", "            ")
            .unwrap_err()
            .contains("white space"));
        assert!(check_new_password("ann", "\t\t\t\t\t\t \n\n\n\n\n\n").is_err());
        assert!(check_new_password("ann", "Password1234")
            .unwrap_err()
            .contains("common"));
        assert!(check_new_password("administrator", "Administrator")
            .unwrap_err()
            .contains("common"));
        assert!(check_new_password("ann.smith-01", "ANN.SMITH-01")
            .unwrap_err()
            .contains("user name"));
        // Characters, not bytes: twelve accented letters are twelve.
        assert!(check_new_password("ann", "éééééééééééé").is_ok());
        assert!(COMMON.iter().all(|p| p.chars().count() >= MIN_PASSWORD_LEN));
    }

    #[test]
    fn hashes_are_standard_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Ours verifies with the crate's verifier, and the crate's hash with ours.
        let ours = hash_password("a long passphrase").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"a long passphrase", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"another passphrase", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("another passphrase", &theirs));
        assert!(!verify_password("another passphrasf", &theirs));
        // Other parameters (a hash made with more memory) verify too.
        let big = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"x", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("x", &big));
        assert!(!verify_password("y", &big));
    }

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_hasher_refuses_beyond_its_queue_at_once() {
        let h = Hasher::new(1, 2);
        let hash = hash_password("a long passphrase").unwrap();
        let tries: Vec<_> = (0..12)
            .map(|_| {
                let (h, hash) = (h.clone(), hash.clone());
                tokio::spawn(async move { h.verify("a long passphrase".into(), Some(hash)).await })
            })
            .collect();
        let mut ok = 0;
        let mut busy = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(true) => ok += 1,
                Ok(false) => panic!("a right password failed"),
                Err(Busy) => busy += 1,
            }
        }
        // One running and two waiting at most at any time: of 12 sent at once, at least 9 are
        // refused (more pass only if a hash ends while they are still being sent).
        assert!(ok >= 3 && busy >= 1, "ok {ok}, busy {busy}");
        assert_eq!(ok + busy, 12);
    }
}
