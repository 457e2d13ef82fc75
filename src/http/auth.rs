//! Basic authentication against `basic_auth_users` (bcrypt hashes). bcrypt is slow on
//! purpose, so a successful check is remembered (a SHA-256 of user, password and hash,
//! never the password itself) and a scrape storm with good credentials costs one hash.
//! Failed checks are not remembered; they run one at a time on a blocking thread, so a
//! storm of bad passwords costs at most one core and never delays a remembered one.

use base64::Engine;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use tokio::sync::Semaphore;

/// Most remembered successes; the set is cleared when full (they are re-learnt with one
/// bcrypt each).
const CACHE_MAX: usize = 1024;

/// A hash of a real bcrypt cost, checked when the user is unknown so that the answer takes
/// as long as for a known one.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

type Key = [u8; 32];

/// The users of one loaded web config and their remembered successes.
pub struct Users {
    users: BTreeMap<String, String>,
    ok: Mutex<HashSet<Key>>,
    bcrypt: Semaphore,
}

/// What a request's credentials came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
}

fn key(user: &str, password: &str, hash: &str) -> Key {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, "\0", password, "\0", hash] {
        ctx.update(part.as_bytes());
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(ctx.finish().as_ref());
    k
}

/// `user` and `password` from an `Authorization: Basic …` value.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

impl std::fmt::Debug for Users {
    // Names only: the hashes are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.users.keys()).finish()
    }
}

impl Users {
    pub fn new(users: BTreeMap<String, String>) -> Users {
        Users {
            users,
            ok: Mutex::new(HashSet::new()),
            bcrypt: Semaphore::new(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks an `Authorization` header value (`None`: no header).
    pub async fn check(&self, header: Option<&str>) -> Verdict {
        let Some((user, password)) = header.and_then(basic_credentials) else {
            return Verdict::Denied;
        };
        let hash = self.users.get(&user).cloned();
        let k = key(&user, &password, hash.as_deref().unwrap_or(""));
        if hash.is_some()
            && self
                .ok
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&k)
        {
            return Verdict::Allowed;
        }
        let Ok(_turn) = self.bcrypt.acquire().await else {
            return Verdict::Denied;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let good = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if !(good && known) {
            return Verdict::Denied;
        }
        let mut ok = self.ok.lock().unwrap_or_else(|p| p.into_inner());
        if ok.len() >= CACHE_MAX {
            ok.clear();
        }
        ok.insert(k);
        Verdict::Allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_the_header_and_garbage_is_none() {
        // "prometheus:s3cret"
        assert_eq!(
            basic_credentials("Basic cHJvbWV0aGV1czpzM2NyZXQ="),
            Some(("prometheus".into(), "s3cret".into()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Basic"), None);
        assert_eq!(basic_credentials("Basic bm9jb2xvbg=="), None); // "nocolon"
    }

    #[test]
    fn the_dummy_hash_is_a_real_bcrypt_hash() {
        assert!(DUMMY_HASH.parse::<bcrypt::HashParts>().is_ok());
    }
}
