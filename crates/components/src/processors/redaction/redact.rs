//! The redaction of one attribute map and one log body, as Go's `redactionprocessor`:
//!
//! For each attribute, in order: a key in `ignored_keys` (or matching
//! `ignored_key_patterns`) is left alone; a key not allowed (unless `allow_all_keys`) is
//! removed; otherwise the value (strings only, or every type as its `AsString` text with
//! `redact_all_types`) is kept if it matches `allowed_values`, masked whole if the key
//! matches `blocked_key_patterns`, and else has each match of each `blocked_values` regex
//! masked (only the part in a capture group named `mask` when the regex has one). Masking
//! writes `****`, or the hex digest of the masked text with `hash_function`.
//!
//! Then the summary attributes are added: with `summary: info` the counts
//! (`redaction.redacted.count`, `redaction.masked.count`, `redaction.allowed.count`,
//! `redaction.ignored.count`), with `debug` also the sorted, comma-joined key lists
//! (`redaction.redacted.keys`, `redaction.masked.keys`, `redaction.allowed.keys`), merged
//! with values already there. A log body is walked the same way (map keys as paths like
//! `a.b.[0]`) and summarised under `redaction.body.*` on the record's attributes.

use std::borrow::Cow;

use aws_lc_rs::{digest, hmac};
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use regex::Regex;

use super::config::{Config, HashFunction, compile_list};
use crate::util::gofmt::value_as_string;

const MASK: &str = "****";
const SEPARATOR: &str = ",";

const REDACTED_KEYS: &str = "redaction.redacted.keys";
const REDACTED_COUNT: &str = "redaction.redacted.count";
const MASKED_KEYS: &str = "redaction.masked.keys";
const MASKED_COUNT: &str = "redaction.masked.count";
const ALLOWED_KEYS: &str = "redaction.allowed.keys";
const ALLOWED_COUNT: &str = "redaction.allowed.count";
const IGNORED_COUNT: &str = "redaction.ignored.count";
const BODY_REDACTED_KEYS: &str = "redaction.body.redacted.keys";
const BODY_REDACTED_COUNT: &str = "redaction.body.redacted.count";
const BODY_MASKED_KEYS: &str = "redaction.body.masked.keys";
const BODY_MASKED_COUNT: &str = "redaction.body.masked.count";
const BODY_ALLOWED_KEYS: &str = "redaction.body.allowed.keys";
const BODY_ALLOWED_COUNT: &str = "redaction.body.allowed.count";
const BODY_IGNORED_COUNT: &str = "redaction.body.ignored.count";

/// The summary attributes the processor itself writes are always allowed (Go's allow list
/// adds them), so a second redaction in a pipeline keeps the first one's summary.
const SUMMARY_KEYS: &[&str] = &[
    REDACTED_KEYS,
    REDACTED_COUNT,
    MASKED_KEYS,
    MASKED_COUNT,
    IGNORED_COUNT,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Summary {
    Silent,
    Info,
    Debug,
}

/// A compiled configuration.
pub struct Redactor {
    allow_all_keys: bool,
    allowed: std::collections::HashSet<String>,
    ignored: std::collections::HashSet<String>,
    ignored_patterns: Vec<Regex>,
    /// Each regex with the index of its `mask` group, if it has one.
    blocked_values: Vec<(Regex, Option<usize>)>,
    blocked_keys: Vec<Regex>,
    allowed_values: Vec<Regex>,
    hash: HashFunction,
    hmac_key: Option<hmac::Key>,
    redact_all_types: bool,
    summary: Summary,
}

/// What happened to the keys of one map.
#[derive(Default)]
struct Outcome {
    redacted: Vec<String>,
    masked: Vec<String>,
    allowed: Vec<String>,
    ignored: Vec<String>,
}

impl Redactor {
    pub fn new(cfg: &Config) -> Result<Redactor, String> {
        let hash = HashFunction::parse(&cfg.hash_function)?;
        let hmac_key = match hash {
            HashFunction::HmacSha256 => {
                Some(hmac::Key::new(hmac::HMAC_SHA256, cfg.hmac_key.as_bytes()))
            }
            HashFunction::HmacSha512 => {
                Some(hmac::Key::new(hmac::HMAC_SHA512, cfg.hmac_key.as_bytes()))
            }
            _ => None,
        };
        let mut allowed: std::collections::HashSet<String> =
            cfg.allowed_keys.iter().cloned().collect();
        allowed.extend(SUMMARY_KEYS.iter().map(|k| k.to_string()));
        Ok(Redactor {
            allow_all_keys: cfg.allow_all_keys,
            allowed,
            ignored: cfg.ignored_keys.iter().cloned().collect(),
            ignored_patterns: compile_list(&cfg.ignored_key_patterns, "ignore keys list")?,
            blocked_values: compile_list(&cfg.blocked_values, "block list")?
                .into_iter()
                .map(|re| {
                    let group = re.capture_names().position(|n| n == Some("mask"));
                    (re, group)
                })
                .collect(),
            blocked_keys: compile_list(&cfg.blocked_key_patterns, "block keys list")?,
            allowed_values: compile_list(&cfg.allowed_values, "allow list")?,
            hash,
            hmac_key,
            redact_all_types: cfg.redact_all_types,
            summary: match cfg.summary.as_str() {
                "debug" => Summary::Debug,
                "info" => Summary::Info,
                _ => Summary::Silent,
            },
        })
    }

    fn should_ignore_key(&self, k: &str) -> bool {
        self.ignored.contains(k) || self.ignored_patterns.iter().any(|r| r.is_match(k))
    }

    fn should_redact_key(&self, k: &str) -> bool {
        !self.allow_all_keys && !self.allowed.contains(k)
    }

    fn should_mask_key(&self, k: &str) -> bool {
        self.blocked_keys.iter().any(|r| r.is_match(k))
    }

    fn should_allow_value(&self, v: &str) -> bool {
        self.allowed_values.iter().any(|r| r.is_match(v))
    }

    /// `****`, or the hex digest of `text`.
    fn mask(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        match self.hash {
            HashFunction::None => MASK.to_string(),
            HashFunction::Md5 => format!("{:x}", md5::compute(bytes)),
            HashFunction::Sha1 => {
                hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bytes).as_ref())
            }
            HashFunction::Sha3 => hex(digest::digest(&digest::SHA3_256, bytes).as_ref()),
            HashFunction::HmacSha256 | HashFunction::HmacSha512 => match &self.hmac_key {
                Some(k) => hex(hmac::sign(k, bytes).as_ref()),
                None => MASK.to_string(),
            },
        }
    }

    /// Every `blocked_values` match masked (only its `mask` group when it has one).
    fn process_string<'a>(&self, value: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(value);
        for (re, group) in &self.blocked_values {
            if !re.is_match(&out) {
                continue;
            }
            let group = *group;
            let replaced = re
                .replace_all(&out, |caps: &regex::Captures| {
                    let whole = caps.get(0).map_or("", |m| m.as_str());
                    match group.and_then(|g| caps.get(g)) {
                        Some(m) => {
                            let start = m.start() - caps.get(0).map_or(0, |w| w.start());
                            let end = start + m.as_str().len();
                            format!(
                                "{}{}{}",
                                &whole[..start],
                                self.mask(m.as_str()),
                                &whole[end..]
                            )
                        }
                        None => self.mask(whole),
                    }
                })
                .into_owned();
            out = Cow::Owned(replaced);
        }
        out
    }

    /// The text a value is checked as: strings always; other types only with
    /// `redact_all_types`.
    fn checked_text<'a>(&self, v: &'a Option<AnyValue>) -> Option<Cow<'a, str>> {
        match v.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(Cow::Borrowed(s.as_str())),
            _ if self.redact_all_types => Some(Cow::Owned(value_as_string(v.as_ref()))),
            _ => None,
        }
    }

    /// Redacts one attribute map and adds its summary.
    pub fn process_attributes(&self, attrs: &mut Vec<KeyValue>) {
        let mut o = Outcome::default();
        for kv in attrs.iter_mut() {
            let k = kv.key.as_str();
            if self.should_ignore_key(k) {
                o.ignored.push(kv.key.clone());
                continue;
            }
            if self.should_redact_key(k) {
                o.redacted.push(kv.key.clone());
                continue;
            }
            let Some(text) = self.checked_text(&kv.value) else {
                continue;
            };
            if self.should_allow_value(&text) {
                o.allowed.push(kv.key.clone());
                continue;
            }
            if self.should_mask_key(k) {
                let masked = self.mask(&text);
                o.masked.push(kv.key.clone());
                kv.value = Some(str_value(masked));
                continue;
            }
            let processed = self.process_string(&text);
            if processed != text {
                let processed = processed.into_owned();
                o.masked.push(kv.key.clone());
                kv.value = Some(str_value(processed));
            }
        }
        if !o.redacted.is_empty() {
            attrs.retain(|kv| !o.redacted.contains(&kv.key));
        }
        self.add_meta(attrs, o.redacted, Some(REDACTED_KEYS), REDACTED_COUNT);
        self.add_meta(attrs, o.masked, Some(MASKED_KEYS), MASKED_COUNT);
        self.add_meta(attrs, o.allowed, Some(ALLOWED_KEYS), ALLOWED_COUNT);
        self.add_meta(attrs, o.ignored, None, IGNORED_COUNT);
    }

    /// Redacts a log body; its summary goes to the record's attributes.
    pub fn process_body(&self, body: &mut Option<AnyValue>, attrs: &mut Vec<KeyValue>) {
        let mut o = Outcome::default();
        match body.as_mut().and_then(|b| b.value.as_mut()) {
            Some(Value::KvlistValue(kv)) => {
                let mut removed = Vec::new();
                for entry in kv.values.iter_mut() {
                    let k = entry.key.as_str();
                    if self.should_ignore_key(k) {
                        o.ignored.push(entry.key.clone());
                    } else if self.should_redact_key(k) {
                        removed.push(entry.key.clone());
                    } else if self.should_mask_key(k) {
                        o.masked.push(entry.key.clone());
                        let s = str_of(&entry.value);
                        entry.value = Some(str_value(self.mask(&s)));
                    } else {
                        self.body_recursive(&entry.key.clone(), &mut entry.value, &mut o);
                    }
                }
                kv.values.retain(|e| !removed.contains(&e.key));
                o.redacted.extend(removed);
            }
            Some(Value::ArrayValue(a)) => {
                for (i, v) in a.values.iter_mut().enumerate() {
                    let mut slot = Some(std::mem::take(v));
                    self.body_recursive(&format!("[{i}]"), &mut slot, &mut o);
                    *v = slot.unwrap_or_default();
                }
            }
            _ => {
                let text = value_as_string(body.as_ref());
                if self.should_allow_value(&text) {
                    o.allowed.push("body".into());
                } else {
                    let processed = self.process_string(&text);
                    if processed != text {
                        let processed = processed.into_owned();
                        o.masked.push("body".into());
                        *body = Some(str_value(processed));
                    }
                }
            }
        }
        self.add_meta(
            attrs,
            o.redacted,
            Some(BODY_REDACTED_KEYS),
            BODY_REDACTED_COUNT,
        );
        self.add_meta(attrs, o.masked, Some(BODY_MASKED_KEYS), BODY_MASKED_COUNT);
        self.add_meta(
            attrs,
            o.allowed,
            Some(BODY_ALLOWED_KEYS),
            BODY_ALLOWED_COUNT,
        );
        self.add_meta(attrs, o.ignored, None, BODY_IGNORED_COUNT);
    }

    fn body_recursive(&self, path: &str, value: &mut Option<AnyValue>, o: &mut Outcome) {
        match value.as_mut().and_then(|v| v.value.as_mut()) {
            Some(Value::KvlistValue(kv)) => {
                let mut removed = Vec::new();
                for entry in kv.values.iter_mut() {
                    let k = entry.key.as_str();
                    let with_path = format!("{path}.{k}");
                    if self.should_ignore_key(k) {
                        o.ignored.push(with_path);
                    } else if self.should_redact_key(k) {
                        removed.push(entry.key.clone());
                    } else if self.should_mask_key(k) {
                        o.masked.push(with_path);
                        let s = str_of(&entry.value);
                        entry.value = Some(str_value(self.mask(&s)));
                    } else {
                        self.body_recursive(&with_path, &mut entry.value, o);
                    }
                }
                kv.values.retain(|e| !removed.contains(&e.key));
                o.redacted
                    .extend(removed.into_iter().map(|k| format!("{path}.{k}")));
            }
            Some(Value::ArrayValue(a)) => {
                for (i, v) in a.values.iter_mut().enumerate() {
                    let mut slot = Some(std::mem::take(v));
                    self.body_recursive(&format!("{path}.[{i}]"), &mut slot, o);
                    *v = slot.unwrap_or_default();
                }
            }
            _ => {
                let text = value_as_string(value.as_ref());
                if self.should_allow_value(&text) {
                    o.allowed.push(path.to_string());
                    return;
                }
                let processed = self.process_string(&text);
                if processed != text {
                    let processed = processed.into_owned();
                    o.masked.push(path.to_string());
                    *value = Some(str_value(processed));
                }
            }
        }
    }

    /// Go's `addMetaAttrs`.
    fn add_meta(
        &self,
        attrs: &mut Vec<KeyValue>,
        mut keys: Vec<String>,
        keys_attr: Option<&str>,
        count_attr: &str,
    ) {
        if keys.is_empty() {
            return;
        }
        let mut count = keys.len() as i64;
        if self.summary == Summary::Debug
            && let Some(name) = keys_attr
        {
            if let Some(existing) = attrs.iter().find(|kv| kv.key == name) {
                let s = str_of(&existing.value);
                if !s.is_empty() {
                    keys.extend(s.split(SEPARATOR).map(str::to_string));
                }
            }
            keys.sort();
            put(attrs, name, str_value(keys.join(SEPARATOR)));
        }
        if matches!(self.summary, Summary::Info | Summary::Debug) {
            if let Some(existing) = attrs.iter().find(|kv| kv.key == count_attr)
                && let Some(Value::IntValue(n)) =
                    existing.value.as_ref().and_then(|v| v.value.as_ref())
            {
                count += n;
            }
            put(
                attrs,
                count_attr,
                AnyValue {
                    value: Some(Value::IntValue(count)),
                },
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

fn str_value(s: String) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s)),
    }
}

/// pcommon's `Str()`: the string, or empty for another type.
fn str_of(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        _ => String::new(),
    }
}

/// pcommon's `Put*`: replaces the value of an existing key, or appends.
fn put(attrs: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match attrs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => attrs.push(KeyValue {
            key: key.to_string(),
            value: Some(value),
            ..Default::default()
        }),
    }
}
