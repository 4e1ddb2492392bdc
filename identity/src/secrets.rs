//! Passwords and random secrets.
//!
//! Passwords are hashed with argon2id (RFC 9106) at OWASP's recommended cost
//! (19 MiB, 2 passes, 1 lane) and stored as PHC strings, so the cost can be
//! raised later without invalidating old hashes. API tokens and session
//! cookies are 256 random bits; for those a fast SHA-256 is enough (there is
//! nothing to guess), and it lets a request find its token by hash in one
//! indexed lookup.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use smelt_tracking::Error;

/// MLflow refuses shorter passwords; so do we.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Prefix of every API token, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "smelt_";

fn argon2() -> Argon2<'static> {
    // 19 MiB, t=2, p=1: OWASP's first argon2id configuration.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a password MLflow would refuse.
pub fn check_password_policy(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters."
        )));
    }
    Ok(())
}

/// Hashes a password (argon2id, random salt) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::internal(format!("cannot encode a salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::internal(format!("cannot hash a password: {e}")))
}

/// Whether a password matches a stored hash (constant time in the hash's
/// comparison; the parameters come from the stored string).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// 32 random bytes, URL-safe base64 without padding.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token's secret.
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// Hex SHA-256, how token and session secrets are stored and looked up.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equality that takes the same time wherever the inputs differ (CSRF tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_argon2id_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn short_passwords_are_refused_as_mlflow_refuses_them() {
        let error = check_password_policy("short").unwrap_err();
        assert_eq!(error.message, "Password must be at least 12 characters.");
        assert!(check_password_policy("twelve chars").is_ok());
    }

    #[test]
    fn tokens_are_prefixed_random_and_stored_as_digests() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() > 40);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_eq!(digest(&a), digest(&a));
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }
}
