//! `env`: the resource from `OTEL_RESOURCE_ATTRIBUTES` (or the deprecated `OTEL_RESOURCE`),
//! `key=value` pairs separated by commas, values URL-decoded, parsed with Go's pattern and its
//! errors (a malformed variable is an error: the processor does not start).

use serde::Deserialize;

use crate::attrs::{put, string};
use crate::{Ctx, Found};

/// The `env` block. Go's newest detector takes an optional allow-list of keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    pub allowlist: Option<Vec<String>>,
}

pub struct Detector {
    allowlist: Option<Vec<String>>,
}

impl Detector {
    pub fn new(cfg: &Config) -> Detector {
        Detector {
            allowlist: cfg.allowlist.clone(),
        }
    }

    pub(crate) fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let env = &ctx.set.env;
        let labels = env
            .lookup("OTEL_RESOURCE_ATTRIBUTES")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| {
                env.lookup("OTEL_RESOURCE")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            });
        let Some(labels) = labels else {
            return Ok(Found::default());
        };
        let mut attrs = parse(&labels)?;
        if let Some(allow) = &self.allowlist {
            attrs.retain(|kv| allow.contains(&kv.key));
        }
        Ok(Found::new(attrs, ""))
    }
}

/// Parses `k1=v1,k2=v2` as Go's `initializeAttributeMap` does.
pub fn parse(s: &str) -> Result<Vec<pdata::proto::common::v1::KeyValue>, String> {
    // Compiled per call: detection runs once per processor start.
    let re = goregex::compile(r"\s*([[:ascii:]]{1,256}?)\s*=\s*([[:ascii:]]{0,256}?)\s*(?:,|$)")
        .map_err(|e| format!("internal pattern: {e}"))?;
    let mut out = Vec::new();
    let mut prev = 0;
    let mut last_end = None;
    for caps in re.captures_iter(s) {
        let whole = caps.get(0).expect("group 0 is the match");
        if whole.start() != prev {
            return Err(format!(
                "invalid resource format, invalid text: {:?}",
                &s[prev..whole.start()]
            ));
        }
        let key = caps.get(1).map_or("", |m| m.as_str());
        let raw = caps.get(2).map_or("", |m| m.as_str());
        let value = query_unescape(raw).map_err(|e| {
            format!(
                "invalid resource format in attribute: {:?}, err: {e}",
                whole.as_str()
            )
        })?;
        put(&mut out, key.to_string(), string(value));
        prev = whole.end();
        last_end = Some(whole.end());
    }
    match last_end {
        None => Err(format!("invalid resource format: {s:?}")),
        Some(end) if end != s.len() => Err(format!(
            "invalid resource format, invalid text: {:?}",
            &s[end..]
        )),
        Some(_) => Ok(out),
    }
}

/// Go's `url.QueryUnescape`: `%XX` escapes and `+` as a space; a bad escape is an error.
fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(b.len());
                        return Err(format!(
                            "invalid URL escape {:?}",
                            String::from_utf8_lossy(&b[i..end])
                        ));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
