//! The login limit: per address, per user name, and for the whole console.
//!
//! An attempt is counted *before* its password is checked ([`LoginLimiter::begin`] hands out
//! a [`Ticket`] and counts it as a failure at once), so concurrent guesses cannot slip past a
//! limit while the first ones are still being checked:
//!
//! * **Per address** (an IPv4 address, or the /64 of an IPv6 one): one attempt in flight at a
//!   time, and [`FAILURES_PER_ADDRESS`] failures per [`WINDOW`]; beyond that the address is
//!   refused until its window ends.
//! * **Per user name**: one attempt checked at a time ([`Ticket::turn`]); after
//!   [`FAILURES_PER_USER`] failures in the window, attempts for that name from an address that
//!   has failed before are *slowed down* (spaced by a delay that doubles with every further
//!   failure, up to [`MAX_USER_DELAY`]), never locked out: a correct password from an address
//!   that did nothing wrong is checked at once, whatever others tried for that name.
//! * **For the console**: a token bucket of [`GLOBAL_BURST`] attempts refilled at
//!   [`GLOBAL_PER_SEC`] a second; beyond it logins answer "busy" at once, cheaply.
//!
//! A success undoes its own count for the address and clears the user name's count (and only
//! that name's: a guesser who knows one password cannot reset the count of another).
//! In memory: a restart forgets it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins allowed per address in [`WINDOW`].
pub const FAILURES_PER_ADDRESS: u32 = 5;
/// Failed logins of one user name (from any address) in [`WINDOW`] after which attempts from
/// addresses that have failed are slowed down.
pub const FAILURES_PER_USER: u32 = 10;
/// The window of the login limits.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest delay between two checks of one user name's password.
pub const MAX_USER_DELAY: Duration = Duration::from_secs(30);
/// An attempt that would have to wait longer than this for its turn is refused instead.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Login attempts the console takes at once (the token bucket's size).
pub const GLOBAL_BURST: u32 = 30;
/// Login attempts the console takes per second, sustained.
pub const GLOBAL_PER_SEC: u32 = 3;

/// Why an attempt is refused before its password is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address has failed too often: refused for this long.
    Address(Duration),
    /// Another login from this address is being checked.
    InFlight,
    /// This user name has failed too often for an address that failed too: try again after
    /// this long.
    User(Duration),
    /// The console takes no more logins right now (its global rate): try again after this long.
    Busy(Duration),
}

/// The address an attempt is counted under: an IPv4 address, or the /64 network of an IPv6
/// one (a single host commonly holds a whole /64). An IPv4-mapped IPv6 address is its IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> AddrKey {
        match ip {
            IpAddr::V4(v4) => AddrKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    AddrKey(IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0]))
                }
            },
        }
    }
}

impl std::fmt::Display for AddrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}"),
            IpAddr::V6(a) => write!(f, "{a}/64"),
        }
    }
}

#[derive(Debug)]
struct AddrState {
    start: Instant,
    failures: u32,
    in_flight: bool,
}

#[derive(Debug)]
struct UserState {
    start: Instant,
    failures: u32,
    /// The earliest time the next slowed-down check of this name may start.
    next_slot: Instant,
    /// One check at a time.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Tickets alive for this name (the entry is kept while any is).
    tickets: u32,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
struct Limits {
    by_addr: HashMap<AddrKey, AddrState>,
    by_user: HashMap<String, UserState>,
    bucket: Bucket,
    /// When the maps were last swept of finished windows.
    swept: Instant,
}

/// Counts login attempts; see the module's documentation.
#[derive(Debug)]
pub struct LoginLimiter {
    inner: Mutex<Limits>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let now = Instant::now();
        LoginLimiter {
            inner: Mutex::new(Limits {
                by_addr: HashMap::new(),
                by_user: HashMap::new(),
                bucket: Bucket {
                    tokens: GLOBAL_BURST as f64,
                    at: now,
                },
                swept: now,
            }),
        }
    }
}

/// The delay between two checks of a user name that has failed `failures` times.
fn user_delay(failures: u32) -> Duration {
    if failures < FAILURES_PER_USER {
        return Duration::ZERO;
    }
    let doublings = (failures - FAILURES_PER_USER).min(16);
    Duration::from_secs(1u64 << doublings).min(MAX_USER_DELAY)
}

impl LoginLimiter {
    fn limits(&self) -> std::sync::MutexGuard<'_, Limits> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an attempt from `ip` for `user`, counting it as a failure until it succeeds; or
    /// says why it is refused (nothing is counted then).
    pub fn begin(&self, ip: IpAddr, user: &str, now: Instant) -> Result<Ticket<'_>, Refusal> {
        let addr = AddrKey::of(ip);
        let mut l = self.limits();
        l.sweep(now);
        let l = &mut *l;
        // The address: over its limit, or busy with another attempt.
        let a = l.by_addr.get(&addr).filter(|a| now < a.start + WINDOW);
        let clean = a.is_none_or(|a| a.failures == 0);
        if let Some(a) = a {
            if a.failures >= FAILURES_PER_ADDRESS {
                return Err(Refusal::Address(
                    (a.start + WINDOW).saturating_duration_since(now),
                ));
            }
            if a.in_flight {
                return Err(Refusal::InFlight);
            }
        }
        // The user name: slowed down for addresses that have failed.
        let u = l.by_user.get(user).filter(|u| now < u.start + WINDOW);
        let failures = u.map_or(0, |u| u.failures);
        let delay = user_delay(failures);
        let wait = match u {
            Some(u) if !clean && !delay.is_zero() => {
                let slot = u.next_slot.max(now);
                let wait = slot - now;
                if wait > MAX_WAIT {
                    return Err(Refusal::User(wait));
                }
                wait
            }
            _ => Duration::ZERO,
        };
        // The console's rate.
        let b = &mut l.bucket;
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * GLOBAL_PER_SEC as f64;
        b.tokens = (b.tokens + refill).min(GLOBAL_BURST as f64);
        b.at = now;
        if b.tokens < 1.0 {
            let secs = (1.0 - b.tokens) / GLOBAL_PER_SEC as f64;
            return Err(Refusal::Busy(Duration::from_secs_f64(secs)));
        }
        b.tokens -= 1.0;
        // Counted now, before anything is checked.
        let a = l.by_addr.entry(addr).or_insert(AddrState {
            start: now,
            failures: 0,
            in_flight: false,
        });
        if now >= a.start + WINDOW {
            *a = AddrState {
                start: now,
                failures: 0,
                in_flight: false,
            };
        }
        a.failures += 1;
        a.in_flight = true;
        let u = l
            .by_user
            .entry(user.to_owned())
            .or_insert_with(|| UserState {
                start: now,
                failures: 0,
                next_slot: now,
                turn: Arc::new(tokio::sync::Mutex::new(())),
                tickets: 0,
            });
        if now >= u.start + WINDOW {
            u.start = now;
            u.failures = 0;
        }
        u.failures += 1;
        u.tickets += 1;
        if !clean && !delay.is_zero() {
            u.next_slot = u.next_slot.max(now) + delay;
        }
        let turn = u.turn.clone();
        Ok(Ticket {
            limiter: self,
            addr,
            user: user.to_owned(),
            wait,
            turn,
            outcome: Outcome::Open,
        })
    }

    /// The failures counted for `ip`'s address in its current window (for tests and logs).
    pub fn address_failures(&self, ip: IpAddr, now: Instant) -> u32 {
        self.limits()
            .by_addr
            .get(&AddrKey::of(ip))
            .filter(|a| now < a.start + WINDOW)
            .map_or(0, |a| a.failures)
    }

    /// Settles a ticket by its outcome (once); true when its failure brought the address to
    /// its limit.
    fn finish(&self, t: &mut Ticket<'_>) -> bool {
        if t.outcome == Outcome::Done {
            return false;
        }
        let mut reached = false;
        let mut l = self.limits();
        if let Some(a) = l.by_addr.get_mut(&t.addr) {
            a.in_flight = false;
            match t.outcome {
                Outcome::Succeeded | Outcome::NotCounted => {
                    a.failures = a.failures.saturating_sub(1)
                }
                Outcome::Failed | Outcome::Open | Outcome::Done => {
                    reached = a.failures == FAILURES_PER_ADDRESS;
                }
            }
        }
        if let Some(u) = l.by_user.get_mut(&t.user) {
            u.tickets = u.tickets.saturating_sub(1);
            match t.outcome {
                Outcome::Succeeded => {
                    u.failures = 0;
                    u.next_slot = Instant::now();
                }
                Outcome::NotCounted => u.failures = u.failures.saturating_sub(1),
                Outcome::Failed | Outcome::Open | Outcome::Done => {}
            }
        }
        t.outcome = Outcome::Done;
        reached
    }
}

impl Limits {
    /// Forgets finished windows (at most once a second), so that the maps stay bounded by the
    /// attempts of one window, which the global rate bounds.
    fn sweep(&mut self, now: Instant) {
        if now.saturating_duration_since(self.swept) < Duration::from_secs(1) {
            return;
        }
        self.swept = now;
        self.by_addr
            .retain(|_, a| a.in_flight || now < a.start + WINDOW);
        self.by_user
            .retain(|_, u| u.tickets > 0 || now < u.start + WINDOW || now < u.next_slot);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Open,
    Succeeded,
    Failed,
    NotCounted,
    /// Settled.
    Done,
}

/// One login attempt under way. Dropped without an outcome (the browser went away, the
/// console failed), it stays counted as a failure.
#[must_use]
pub struct Ticket<'a> {
    limiter: &'a LoginLimiter,
    addr: AddrKey,
    user: String,
    wait: Duration,
    turn: Arc<tokio::sync::Mutex<()>>,
    outcome: Outcome,
}

impl std::fmt::Debug for Ticket<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("addr", &self.addr)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl Ticket<'_> {
    /// The address the attempt is counted under.
    pub fn addr(&self) -> AddrKey {
        self.addr
    }

    /// How long this attempt is slowed down before its check (zero for an address that has
    /// not failed, or while the user name has not failed often).
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Waits for the slow-down, then for this user name's turn: the guard lets this attempt be
    /// the only one checking the name's password.
    pub async fn turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        if !self.wait.is_zero() {
            tokio::time::sleep(self.wait).await;
        }
        self.turn.clone().lock_owned().await
    }

    /// The password was right: the address's count of this attempt is undone and the user
    /// name's count cleared.
    pub fn succeeded(mut self) {
        self.outcome = Outcome::Succeeded;
        let limiter = self.limiter;
        limiter.finish(&mut self);
    }

    /// The password was wrong (or the user unknown): it stays counted. True when this failure
    /// brought the address to its limit (the address is refused from now on).
    pub fn failed(mut self) -> bool {
        self.outcome = Outcome::Failed;
        let limiter = self.limiter;
        limiter.finish(&mut self)
    }

    /// The password was right and a second factor is due: this attempt is not counted either
    /// way (the second factor's own attempt is, and only its success clears the user name's
    /// count, so that a known password does not reset the count of wrong codes).
    pub fn first_factor_passed(self) {
        self.not_counted()
    }

    /// The attempt was not checked through no fault of its sender (the console was busy): it
    /// is not counted.
    pub fn not_counted(mut self) {
        self.outcome = Outcome::NotCounted;
        let limiter = self.limiter;
        limiter.finish(&mut self);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let limiter = self.limiter;
        limiter.finish(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_has_one_attempt_in_flight_and_five_failures() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        let first = l.begin(a, "ann", t0).unwrap();
        // Counted before it is checked, and the only one in flight.
        assert_eq!(l.address_failures(a, t0), 1);
        assert_eq!(l.begin(a, "ann", t0).unwrap_err(), Refusal::InFlight);
        assert_eq!(l.begin(a, "bob", t0).unwrap_err(), Refusal::InFlight);
        assert!(!first.failed());
        for i in 2..=FAILURES_PER_ADDRESS {
            let reached = l.begin(a, "ann", t0).unwrap().failed();
            assert_eq!(reached, i == FAILURES_PER_ADDRESS);
        }
        assert!(matches!(l.begin(a, "ann", t0), Err(Refusal::Address(_))));
        // Even with the right password: the address is refused until its window ends.
        assert!(matches!(l.begin(a, "carol", t0), Err(Refusal::Address(_))));
        assert!(l.begin(a, "ann", t0 + WINDOW).is_ok());
    }

    #[test]
    fn a_dropped_attempt_stays_counted_and_a_busy_one_does_not() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let a = ip("192.0.2.2");
        drop(l.begin(a, "ann", t0).unwrap());
        assert_eq!(l.address_failures(a, t0), 1);
        l.begin(a, "ann", t0).unwrap().not_counted();
        assert_eq!(l.address_failures(a, t0), 1);
    }

    #[test]
    fn a_success_clears_only_its_own_count() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let a = ip("192.0.2.3");
        // A viewer guesses bob's password, then logs in as herself: her address keeps its
        // failures.
        for _ in 0..3 {
            let _ = l.begin(a, "bob", t0).unwrap().failed();
        }
        l.begin(a, "viewer", t0).unwrap().succeeded();
        assert_eq!(l.address_failures(a, t0), 3);
        for _ in 0..2 {
            let _ = l.begin(a, "bob", t0).unwrap().failed();
        }
        assert!(matches!(l.begin(a, "bob", t0), Err(Refusal::Address(_))));
    }

    #[test]
    fn a_user_name_is_slowed_down_for_failing_addresses_never_locked_out() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        // Four addresses fail for admin up to their limits, each attempt at its turn.
        let mut now = t0;
        let mut n = 0;
        let mut waited = Duration::ZERO;
        for net in 0..4u8 {
            let a = IpAddr::from([198, 51, 100, net]);
            for _ in 0..FAILURES_PER_ADDRESS {
                let t = l.begin(a, "admin", now).unwrap();
                now += t.wait();
                waited += t.wait();
                n += 1;
                let _ = t.failed();
            }
        }
        assert_eq!(n, 20);
        // From the 11th failure on, the failing addresses were spaced out.
        assert!(waited >= Duration::from_secs(1 + 2 + 4 + 8), "{waited:?}");
        let t0 = now;
        // A failing address now waits for admin's next slot...
        let dirty = ip("198.51.100.200");
        let _ = l.begin(dirty, "other", t0).unwrap().failed();
        let slowed = l.begin(dirty, "admin", t0).unwrap();
        assert!(!slowed.wait().is_zero(), "{:?}", slowed.wait());
        assert!(slowed.wait() <= MAX_USER_DELAY);
        drop(slowed);
        // ...while an address that did nothing wrong is checked at once.
        let clean = l.begin(ip("203.0.113.7"), "admin", t0).unwrap();
        assert!(clean.wait().is_zero());
        clean.succeeded();
        // The success cleared admin's count: no more slow-down.
        let again = l.begin(ip("203.0.113.8"), "admin", t0).unwrap();
        assert!(again.wait().is_zero());
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for i in 0..FAILURES_PER_ADDRESS {
            let a: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            let _ = l.begin(a, "ann", t0).unwrap().failed();
        }
        let same_64 = ip("2001:db8:1:2:ffff::1");
        assert!(matches!(
            l.begin(same_64, "ann", t0),
            Err(Refusal::Address(_))
        ));
        assert!(l.begin(ip("2001:db8:1:3::1"), "ann", t0).is_ok());
        // An IPv4-mapped address is its IPv4 address.
        assert_eq!(
            AddrKey::of(ip("::ffff:192.0.2.9")),
            AddrKey::of(ip("192.0.2.9"))
        );
    }

    #[test]
    fn the_console_takes_a_bounded_rate_of_attempts() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let mut ok = 0;
        let mut busy = 0;
        for i in 0..(GLOBAL_BURST * 2) {
            match l.begin(
                IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]),
                "x",
                t0,
            ) {
                Ok(t) => {
                    ok += 1;
                    t.succeeded();
                }
                Err(Refusal::Busy(_)) => busy += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!((ok, busy), (GLOBAL_BURST, GLOBAL_BURST));
        // Refilled with time.
        let later = t0 + Duration::from_secs(2);
        assert!(l.begin(ip("10.9.9.9"), "x", later).is_ok());
    }
}
