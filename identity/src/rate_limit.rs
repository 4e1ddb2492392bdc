//! Login throttling, per user name and per client address.
//!
//! After [`FREE_FAILURES`] failed attempts in a row, each further attempt
//! must wait twice as long as the last (1 s, 2 s, 4 s, … up to
//! [`MAX_LOCKOUT`]); a success clears the count. Keyed both ways so that
//! one address cannot guess many users' passwords and many addresses cannot
//! guess one user's. Counts live in this process: an attacker spreading
//! guesses over several servers gets each server's allowance, which is still
//! a handful of guesses a minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use smelt_tracking::{Error, ErrorCode};

/// Failures allowed per user name before throttling starts.
pub const FREE_FAILURES: u32 = 5;
/// Failures allowed per client address: higher, since many users may share
/// one address (a NAT, a CI runner) and one user's typos must not lock out
/// the rest.
pub const FREE_ADDRESS_FAILURES: u32 = 50;
/// The longest wait.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may be made, after `free` failures.
    fn locked_until(&self, free: u32) -> Option<Instant> {
        let over = self.count.checked_sub(free)?;
        let wait = Duration::from_secs(1u64 << over.min(16)).min(MAX_LOCKOUT);
        Some(self.last + wait)
    }
}

/// Failed-login counts.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Failures>>,
}

fn keys(username: &str, address: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("user:{username}")];
    if let Some(address) = address {
        keys.push(format!("addr:{address}"));
    }
    keys
}

impl LoginLimiter {
    /// `RESOURCE_EXHAUSTED` (429) while this user or address must wait.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), Error> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for key in keys(username, address) {
            let free = if key.starts_with("addr:") {
                FREE_ADDRESS_FAILURES
            } else {
                FREE_FAILURES
            };
            if let Some(until) = failures.get(&key).and_then(|f| f.locked_until(free))
                && until > now
            {
                let wait = (until - now).as_secs().max(1);
                return Err(Error::new(
                    ErrorCode::ResourceExhausted,
                    format!("Too many failed logins; try again in {wait} s."),
                ));
            }
        }
        Ok(())
    }

    /// Counts a failure.
    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            // Bounded memory under a spray of user names: forget the old.
            failures.retain(|_, f| f.last.elapsed() < MAX_LOCKOUT);
        }
        for key in keys(username, address) {
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                last: Instant::now(),
            });
            entry.count += 1;
            entry.last = Instant::now();
        }
    }

    /// Clears the user's count (the address keeps its own: a success for one
    /// user must not reset guesses at others from the same place).
    pub fn succeeded(&self, username: &str, _address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("user:{username}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_five_failures_a_user_must_wait_and_a_success_clears_it() {
        let limiter = LoginLimiter::default();
        let address: IpAddr = "10.1.2.3".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            limiter.check("alice", Some(address)).unwrap();
            limiter.failed("alice", Some(address));
        }
        let error = limiter.check("alice", None).unwrap_err();
        assert_eq!(error.code, ErrorCode::ResourceExhausted);
        // Other users at the same address are not locked out by one user's typos…
        assert!(limiter.check("bob", Some(address)).is_ok());
        // …but a spray of guesses from one address is.
        for n in 0..FREE_ADDRESS_FAILURES {
            limiter.failed(&format!("user{n}"), Some(address));
        }
        assert!(limiter.check("bob", Some(address)).is_err());
        assert!(limiter.check("bob", None).is_ok());
        limiter.succeeded("alice", Some(address));
        assert!(limiter.check("alice", None).is_ok());
    }
}
