//! `redaction` settings with the Go collector's keys: `allow_all_keys`, `allowed_keys`,
//! `ignored_keys`, `ignored_key_patterns`, `blocked_values`, `blocked_key_patterns`,
//! `allowed_values`, `hash_function` (`md5`, `sha1`, `sha3`, `hmac-sha256`,
//! `hmac-sha512`), `hmac_key`, `redact_all_types`, `summary` (`debug`, `info`; anything
//! else is silent, as in Go).
//!
//! `url_sanitizer` and `db_sanitizer` are accepted while disabled; enabling them is refused
//! (this build has neither sanitizer).

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFunction {
    /// Mask with `****`.
    None,
    Md5,
    Sha1,
    /// SHA3-256.
    Sha3,
    HmacSha256,
    HmacSha512,
}

impl HashFunction {
    /// Go's `UnmarshalText`: case-insensitive.
    pub fn parse(s: &str) -> Result<HashFunction, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "" => HashFunction::None,
            "md5" => HashFunction::Md5,
            "sha1" => HashFunction::Sha1,
            "sha3" => HashFunction::Sha3,
            "hmac-sha256" => HashFunction::HmacSha256,
            "hmac-sha512" => HashFunction::HmacSha512,
            other => {
                return Err(format!(
                    "unknown HashFunction {other}, allowed functions are sha1, sha3, md5, hmac-sha256 and hmac-sha512"
                ));
            }
        })
    }
}

/// `url_sanitizer` / `db_sanitizer`: only `enabled` is looked at.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Sanitizer {
    #[serde(default)]
    pub enabled: bool,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub allow_all_keys: bool,
    pub allowed_keys: Vec<String>,
    pub ignored_keys: Vec<String>,
    pub ignored_key_patterns: Vec<String>,
    pub blocked_values: Vec<String>,
    pub blocked_key_patterns: Vec<String>,
    pub allowed_values: Vec<String>,
    pub hash_function: String,
    pub hmac_key: String,
    pub redact_all_types: bool,
    pub summary: String,
    pub url_sanitizer: Option<Sanitizer>,
    pub db_sanitizer: Option<Sanitizer>,
}

/// Compiles a list of Go regexes with Go's error text.
pub fn compile_list(patterns: &[String], list: &str) -> Result<Vec<regex::Regex>, String> {
    patterns
        .iter()
        .map(|p| {
            goregex::compile(p).map_err(|e| {
                format!("failed to process {list}: error compiling regex in list: {e}")
            })
        })
        .collect()
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        let hash = HashFunction::parse(&self.hash_function)?;
        if matches!(hash, HashFunction::HmacSha256 | HashFunction::HmacSha512) {
            if self.hmac_key.is_empty() {
                return Err(format!(
                    "hmac_key must not be empty when hash_function is {}",
                    self.hash_function.to_ascii_lowercase()
                ));
            }
            let min = if hash == HashFunction::HmacSha256 {
                32
            } else {
                64
            };
            if self.hmac_key.len() < min {
                tracing::warn!(
                    "redaction: hmac_key is shorter than the recommended {min} bytes for {}",
                    self.hash_function
                );
            }
        }
        compile_list(&self.blocked_values, "block list")?;
        compile_list(&self.blocked_key_patterns, "block keys list")?;
        compile_list(&self.allowed_values, "allow list")?;
        compile_list(&self.ignored_key_patterns, "ignore keys list")?;
        for (name, s) in [
            ("url_sanitizer", &self.url_sanitizer),
            ("db_sanitizer", &self.db_sanitizer),
        ] {
            if s.as_ref().is_some_and(|s| s.enabled) {
                return Err(format!(
                    "{name}: the {name} is not available in this build; remove it or set enabled: false"
                ));
            }
        }
        Ok(())
    }
}
