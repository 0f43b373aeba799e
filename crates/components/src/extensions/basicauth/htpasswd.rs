//! htpasswd files: `user:hash` lines, the hash in one of the forms Go's go-htpasswd accepts
//! that we can check: `{SHA}` (base64 SHA-1), `{SSHA}` (base64 SHA-1 of password+salt, then
//! the salt) and plain text. bcrypt (`$2y$`), Apache MD5 (`$apr1$`) and crypt SHA
//! (`$5$`/`$6$`) hashes are recognised and refused at start with a clear error rather than
//! being compared as plain text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hash {
    Plain(Vec<u8>),
    Sha(Vec<u8>),
    Ssha { digest: Vec<u8>, salt: Vec<u8> },
}

/// The users of an htpasswd source.
#[derive(Debug, Clone, Default)]
pub struct Htpasswd {
    users: Vec<(String, Hash)>,
}

fn sha1(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

impl Htpasswd {
    /// Parses htpasswd text; blank lines and `#` comments are skipped, a later line for the
    /// same user replaces an earlier one (as go-htpasswd's map).
    pub fn parse(text: &str) -> Result<Htpasswd, String> {
        let mut h = Htpasswd::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(format!(
                    "htpasswd line {}: missing ':' between user and password",
                    n + 1
                ));
            };
            let hash = if let Some(b64) = hash.strip_prefix("{SHA}") {
                Hash::Sha(
                    STANDARD.decode(b64).map_err(|e| {
                        format!("htpasswd line {}: malformed sha password: {e}", n + 1)
                    })?,
                )
            } else if let Some(b64) = hash.strip_prefix("{SSHA}") {
                let raw = STANDARD.decode(b64).map_err(|e| {
                    format!("htpasswd line {}: malformed ssha password: {e}", n + 1)
                })?;
                if raw.len() < 20 {
                    return Err(format!("htpasswd line {}: malformed ssha password", n + 1));
                }
                let (digest, salt) = raw.split_at(20);
                Hash::Ssha {
                    digest: digest.to_vec(),
                    salt: salt.to_vec(),
                }
            } else if ["$2y$", "$2a$", "$2b$", "$apr1$", "$1$", "$5$", "$6$"]
                .iter()
                .any(|p| hash.starts_with(p))
            {
                return Err(format!(
                    "htpasswd line {} (user {user:?}): this hash scheme is not supported by ferrotel; use {{SHA}}, {{SSHA}} or plain text",
                    n + 1
                ));
            } else {
                Hash::Plain(hash.as_bytes().to_vec())
            };
            match h.users.iter_mut().find(|(u, _)| u == user) {
                Some(entry) => entry.1 = hash,
                None => h.users.push((user.to_string(), hash)),
            }
        }
        Ok(h)
    }

    pub fn extend(&mut self, other: Htpasswd) {
        for (user, hash) in other.users {
            match self.users.iter_mut().find(|(u, _)| *u == user) {
                Some(entry) => entry.1 = hash,
                None => self.users.push((user, hash)),
            }
        }
    }

    /// Whether `password` is `user`'s (compared in constant time).
    pub fn matches(&self, user: &str, password: &str) -> bool {
        let Some((_, hash)) = self.users.iter().find(|(u, _)| u == user) else {
            return false;
        };
        let eq = |a: &[u8], b: &[u8]| a.len() == b.len() && bool::from(a.ct_eq(b));
        match hash {
            Hash::Plain(p) => eq(p, password.as_bytes()),
            Hash::Sha(d) => eq(d, &sha1(&[password.as_bytes()])),
            Hash::Ssha { digest, salt } => eq(digest, &sha1(&[password.as_bytes(), salt])),
        }
    }
}
