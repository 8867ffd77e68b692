//! Passwords, tokens and the login limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash};
use sha2::{Digest as _, Sha256};

/// An argon2id hash of `password` (the crate's defaults: m=19 MiB, t=2,
/// p=1, a random salt), as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Whether `password` matches the stored hash. A hash that does not parse
/// matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash no password matches, verified when the account does not exist so
/// that a wrong name takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        let _ = getrandom::fill(&mut random);
        hash_password(&hex(&random)).unwrap_or_default()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random token: 32 bytes from the OS, in hex.
pub fn token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random source: {e}"))?;
    Ok(hex(&bytes))
}

/// What the register keeps of a session token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equal in time independent of where they differ: both sides are hashed
/// first, so neither the length nor a common prefix shows.
pub fn same(expected: &str, given: &str) -> bool {
    token_hash(expected)
        .iter()
        .zip(token_hash(given).iter())
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

/// Failed logins that lock an account or an address.
pub const MAX_FAILURES: u32 = 5;
/// How long the failures are counted, and how long a lock lasts.
pub const LOCK_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The most names and addresses tracked: beyond, the oldest are forgotten
/// (an attacker spraying names cannot grow the daemon's memory).
const MAX_TRACKED: usize = 10_000;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
}

/// Failed logins per account name and per client address, in memory: a
/// restart forgets them, which a lock of minutes allows.
#[derive(Default)]
pub struct Limiter {
    by_name: Mutex<HashMap<String, Failures>>,
    by_address: Mutex<HashMap<IpAddr, Failures>>,
}

fn locked<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Failures>>,
    key: &K,
    now: Instant,
) -> bool {
    let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.get(key)
        .is_some_and(|f| f.count >= MAX_FAILURES && now.duration_since(f.first) < LOCK_WINDOW)
}

fn fail<K: std::hash::Hash + Eq + Clone>(map: &Mutex<HashMap<K, Failures>>, key: &K, now: Instant) {
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= MAX_TRACKED {
        map.retain(|_, f| now.duration_since(f.first) < LOCK_WINDOW);
    }
    if map.len() >= MAX_TRACKED {
        map.clear();
    }
    let entry = map.entry(key.clone()).or_insert(Failures {
        count: 0,
        first: now,
    });
    if now.duration_since(entry.first) >= LOCK_WINDOW {
        *entry = Failures {
            count: 0,
            first: now,
        };
    }
    entry.count += 1;
}

impl Limiter {
    /// Whether a login for `name` from `address` is refused without even
    /// checking the password.
    pub fn locked(&self, name: &str, address: IpAddr, now: Instant) -> bool {
        locked(&self.by_name, &name.to_owned(), now) || locked(&self.by_address, &address, now)
    }

    pub fn failed(&self, name: &str, address: IpAddr, now: Instant) {
        fail(&self.by_name, &name.to_owned(), now);
        fail(&self.by_address, &address, now);
    }

    /// A good password clears the account's count (not the address's: one
    /// valid account must not unlock guessing at others).
    pub fn succeeded(&self, name: &str) {
        self.by_name
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batter", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(!verify_password("anything", decoy_hash()));
    }

    #[test]
    fn five_failures_lock_the_name_and_the_address_for_the_window() {
        let limiter = Limiter::default();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        let there: IpAddr = "127.0.0.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(!limiter.locked("wang", here, start));
            limiter.failed("wang", here, start);
        }
        assert!(limiter.locked("wang", there, start), "the name is locked");
        assert!(limiter.locked("li", here, start), "the address is locked");
        assert!(!limiter.locked("li", there, start));
        assert!(!limiter.locked("wang", here, start + LOCK_WINDOW));
    }

    #[test]
    fn tokens_are_random_and_compare_exactly() {
        let (a, b) = (token().unwrap(), token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a, ""));
    }
}
