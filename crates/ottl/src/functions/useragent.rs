//! `UserAgent` as Go's (uap-go over uap-core's `regexes.yaml`): the browser family and
//! version, the original string, and the OS family and version under the semantic
//! convention names. The parsers are built once, on first use.

use std::sync::OnceLock;

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use serde::Deserialize;

/// The two parser lists `UserAgent` needs (uap-core's device parsers are not built).
#[derive(Deserialize)]
struct Parsers {
    user_agent_parsers: Vec<ua_parser::user_agent::Parser<'static>>,
    os_parsers: Vec<ua_parser::os::Parser<'static>>,
}

struct Extractors {
    ua: ua_parser::user_agent::Extractor<'static>,
    os: ua_parser::os::Extractor<'static>,
}

fn extractors() -> Result<&'static Extractors, String> {
    static EX: OnceLock<Result<Extractors, String>> = OnceLock::new();
    EX.get_or_init(|| {
        let p: Parsers = serde_yaml_ng::from_str(include_str!("uap_regexes.yaml"))
            .map_err(|e| format!("user agent regexes: {e}"))?;
        let ua = ua_parser::user_agent::Builder::new()
            .push_all(p.user_agent_parsers)
            .and_then(|b| Ok(b.build()?))
            .map_err(|e| format!("user agent regexes: {e}"))?;
        let os = ua_parser::os::Builder::new()
            .push_all(p.os_parsers)
            .map_err(|e| format!("os regexes: {e}"))?
            .build()
            .map_err(|e| format!("os regexes: {e}"))?;
        Ok(Extractors { ua, os })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Builds the parsers now (at parse time of a statement naming `UserAgent`), so the first
/// item does not pay for it and a broken table is a configuration error.
pub(crate) fn init() -> Result<(), String> {
    extractors().map(|_| ())
}

/// uap-go's `ToVersionString`: the parts present, dot-joined.
fn version(parts: &[Option<&str>]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        match p {
            Some(p) if !p.is_empty() => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(p);
            }
            _ => {}
        }
    }
    out
}

fn put(out: &mut Vec<KeyValue>, key: &str, v: String) {
    out.push(KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v)),
        }),
        ..Default::default()
    });
}

/// The map Go's `UserAgent` returns; `Other` families when nothing matches, as uap-go.
pub(crate) fn parse(ua: &str) -> Result<Vec<KeyValue>, String> {
    let ex = extractors()?;
    let mut out = Vec::with_capacity(5);
    let (name, ver) = match ex.ua.extract(ua) {
        Some(v) => (v.family.into_owned(), version(&[v.major, v.minor, v.patch])),
        None => ("Other".to_string(), String::new()),
    };
    put(&mut out, "user_agent.name", name);
    put(&mut out, "user_agent.original", ua.to_string());
    put(&mut out, "user_agent.version", ver);
    let (os_name, os_ver) = match ex.os.extract(ua) {
        Some(v) => (
            v.os.into_owned(),
            version(&[
                v.major.as_deref(),
                v.minor.as_deref(),
                v.patch.as_deref(),
                v.patch_minor.as_deref(),
            ]),
        ),
        None => ("Other".to_string(), String::new()),
    };
    if !os_name.is_empty() {
        put(&mut out, "os.name", os_name);
    }
    if !os_ver.is_empty() {
        put(&mut out, "os.version", os_ver);
    }
    Ok(out)
}
