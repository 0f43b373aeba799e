//! The transform processor's span functions (Go `processor/transformprocessor/internal/traces`):
//! `set_semconv_span_name`, the span name the semantic conventions define for HTTP, RPC,
//! database and messaging spans (semconv 1.37 to 1.40, with the older attribute names as
//! fallbacks), keeping the original name in an attribute when asked.

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::trace::v1::Span;

use super::ParamKind::*;
use super::{Args, Functions, Param, opt, req};
use crate::EditorFn;
use crate::context::{map_get, map_put};
use crate::contexts::span::SpanContext;
use crate::value::Value;

/// Registers the span functions (the transform processor's span context).
pub fn register_span(f: &mut Functions<SpanContext>) {
    f.editor("set_semconv_span_name", SET_SEMCONV, set_semconv_span_name);
}

const SET_SEMCONV: &[Param] = &[
    req("semconvVersion", Str),
    opt("originalSpanNameAttribute", Str),
];

const MIN_SEMCONV: (u64, u64, u64) = (1, 37, 0);
const MAX_SEMCONV: (u64, u64, u64) = (1, 40, 0);

/// A semantic version as Masterminds/semver reads one loosely (`v1.38`, `1.38.0-rc.1`):
/// (major, minor, patch, is a pre-release).
fn parse_semver(s: &str) -> Option<(u64, u64, u64, bool)> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, pre) = match s.split_once(['-', '+']) {
        Some((c, rest)) => (c, s[c.len()..].starts_with('-') && !rest.is_empty()),
        None => (s, false),
    };
    let mut parts = core.split('.');
    let mut num = |required: bool| -> Option<u64> {
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            None if !required => Some(0),
            _ => None,
        }
    };
    let v = (num(true)?, num(false)?, num(false)?, pre);
    if parts.next().is_some() {
        return None;
    }
    Some(v)
}

fn set_semconv_span_name(mut a: Args<SpanContext>) -> Result<EditorFn<SpanContext>, String> {
    let version = a.str(0).unwrap_or_default();
    let Some((ma, mi, pa, pre)) = parse_semver(&version) else {
        return Err(format!(
            "failed to parse semconv version {version:?}: invalid semantic version"
        ));
    };
    // a pre-release sorts before its release
    let below_min = (ma, mi, pa) < MIN_SEMCONV || ((ma, mi, pa) == MIN_SEMCONV && pre);
    if below_min || (ma, mi, pa) > MAX_SEMCONV {
        return Err(format!(
            "unsupported semconv version {version:?}: must be between {}.{}.{} and {}.{}.{}",
            MIN_SEMCONV.0,
            MIN_SEMCONV.1,
            MIN_SEMCONV.2,
            MAX_SEMCONV.0,
            MAX_SEMCONV.1,
            MAX_SEMCONV.2
        ));
    }
    let original_attr = a.str(1);
    if original_attr.as_deref() == Some("") {
        return Err("originalSpanNameAttribute cannot be an empty string".into());
    }
    Ok(Box::new(move |d| {
        let original = d.span.name.clone();
        let name = semconv_span_name(d.span);
        if name != original
            && let Some(attr) = &original_attr
        {
            map_put(
                &mut d.span.attributes,
                attr,
                AnyValue {
                    value: Some(any_value::Value::StringValue(original)),
                },
            );
        }
        d.span.name = name;
        Ok(())
    }))
}

/// An attribute as pcommon's `AsString`; `None` when absent.
fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| Value::from_opt_any(kv.value.as_ref()).as_string())
}

/// The attribute, else its older name.
fn attr_or(attrs: &[KeyValue], key: &str, alias: &str) -> Option<String> {
    attr(attrs, key).or_else(|| attr(attrs, alias))
}

fn attr_true(attrs: &[KeyValue], key: &str) -> bool {
    matches!(
        map_get(attrs, key).and_then(|v| v.value.as_ref()),
        Some(any_value::Value::BoolValue(true))
    )
}

pub(crate) fn semconv_span_name(span: &Span) -> String {
    let a = &span.attributes;
    let derived = match span.kind {
        // SERVER
        2 => http_name(a, "http.route")
            .or_else(|| rpc_name(a))
            .or_else(|| messaging_name(a)),
        // CONSUMER, PRODUCER
        4 | 5 => messaging_name(a),
        // CLIENT
        3 => http_name(a, "url.template")
            .or_else(|| rpc_name(a))
            .or_else(|| db_name(a))
            .or_else(|| messaging_name(a)),
        _ => None,
    };
    derived.unwrap_or_else(|| span.name.clone())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn http_name(a: &[KeyValue], subject: &str) -> Option<String> {
    let method = attr_or(a, "http.request.method", "http.method")?;
    non_empty(match attr(a, subject) {
        Some(s) => format!("{method} {s}"),
        None => method,
    })
}

fn rpc_name(a: &[KeyValue]) -> Option<String> {
    let system = attr_or(a, "rpc.system.name", "rpc.system")?;
    let method = attr_or(a, "rpc.method", "rpc.grpc.method");
    let service = attr_or(a, "rpc.service", "rpc.grpc.service");
    non_empty(match (service, method) {
        (Some(s), Some(m)) => format!("{s}/{m}"),
        (None, Some(m)) => m,
        (Some(s), None) => format!("{s}/*"),
        (None, None) => system,
    })
}

fn db_name(a: &[KeyValue]) -> Option<String> {
    let system = attr_or(a, "db.system.name", "db.system")?;
    if let Some(summary) = attr(a, "db.query.summary") {
        return non_empty(summary);
    }
    let op = attr_or(a, "db.operation.name", "db.operation").unwrap_or_default();
    let target = db_target(a);
    non_empty(match (op.is_empty(), target.is_empty()) {
        (false, false) => format!("{op} {target}"),
        (false, true) => op,
        (true, false) => target,
        (true, true) => system,
    })
}

fn address(a: &[KeyValue]) -> String {
    match (attr(a, "server.address"), attr(a, "server.port")) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h,
        _ => String::new(),
    }
}

fn db_target(a: &[KeyValue]) -> String {
    let ns = attr_or(a, "db.namespace", "db.name").unwrap_or_default();
    let qualified = |x: String| {
        if ns.is_empty() {
            x
        } else {
            format!("{ns}.{x}")
        }
    };
    if let Some(c) = attr(a, "db.collection.name") {
        return qualified(c);
    }
    if let Some(p) = attr(a, "db.stored_procedure.name") {
        return qualified(p);
    }
    if !ns.is_empty() {
        return ns;
    }
    address(a)
}

fn messaging_name(a: &[KeyValue]) -> Option<String> {
    let system = attr(a, "messaging.system")?;
    let op = attr_or(a, "messaging.operation.name", "messaging.operation");
    let dest = messaging_destination(a);
    non_empty(match (op, dest.is_empty()) {
        (Some(o), false) => format!("{o} {dest}"),
        (None, false) => dest,
        (Some(o), true) => o,
        (None, true) => system,
    })
}

fn messaging_destination(a: &[KeyValue]) -> String {
    if attr_true(a, "messaging.destination.temporary") {
        return "(temporary)".into();
    }
    if attr_true(a, "messaging.destination.anonymous") {
        return "(anonymous)".into();
    }
    if let Some(t) = attr(a, "messaging.destination.template") {
        return t;
    }
    if let Some(n) = attr_or(a, "messaging.destination.name", "messaging.destination") {
        return n;
    }
    address(a)
}
