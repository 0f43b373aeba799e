//! The legacy include/exclude matching of the Go collector (`internal/filter/filterconfig`,
//! `filterset`, `filtermatcher`, `filterspan`, `filterlog`, `filtermetric`), shared by the
//! processors that take `include:`/`exclude:` blocks: `attributes` today, `span`, the legacy
//! form of `filter`, and others later.
//!
//! A block ([`MatchProperties`]) is parsed with serde, then compiled for one signal
//! ([`SpanSkip`], [`LogSkip`], [`MetricSkip`]) with that signal's validation and Go's error
//! texts. Evaluation answers "skip this item?": skipped when `include` is set and does not
//! match, or `exclude` is set and matches.
//!
//! Within a block, the lists `services`, `span_names`, `span_kinds`, `log_bodies`,
//! `log_severity_texts` and `metric_names` match when **any** entry matches;
//! `attributes`, `resources` and `libraries` match when **every** entry matches; the
//! properties given are ANDed. Strings match exactly (`match_type: strict`) or by an
//! unanchored Go regular expression (`match_type: regexp`).
//!
//! `regexp: {cacheenabled, cachemaxnumentries}` is accepted; it only sizes a result cache
//! in Go, and is not needed here (a compiled `RegexSet` answers in one pass).

mod log;
mod matcher;
mod metric;
mod set;
mod span;
#[cfg(test)]
mod tests;

use serde::Deserialize;

use crate::attraction::ConfigValue;

pub use log::LogSkip;
pub use matcher::{AttributesMatcher, PropertiesMatcher};
pub use metric::MetricSkip;
pub use set::StringSet;
pub use span::SpanSkip;

/// `include` and `exclude`, both optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchConfig {
    pub include: Option<MatchProperties>,
    pub exclude: Option<MatchProperties>,
}

/// One `include` or `exclude` block, with the Go collector's keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchProperties {
    /// `strict` or `regexp` (required wherever a string is compared).
    pub match_type: String,
    pub regexp: Option<RegexpConfig>,
    pub services: Vec<String>,
    pub span_names: Vec<String>,
    pub log_bodies: Vec<String>,
    pub log_severity_texts: Vec<String>,
    pub log_severity_number: Option<SeverityNumberMatch>,
    pub metric_names: Vec<String>,
    pub attributes: Vec<AttributeMatch>,
    pub resources: Vec<AttributeMatch>,
    pub libraries: Vec<LibraryMatch>,
    pub span_kinds: Vec<String>,
}

/// `regexp:` options of a block; accepted for compatibility (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegexpConfig {
    pub cacheenabled: bool,
    pub cachemaxnumentries: i64,
}

/// An attribute (or resource attribute) to match: the key must be present, and when
/// `value` is given the value must match too.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributeMatch {
    pub key: String,
    pub value: Option<ConfigValue>,
}

/// An instrumentation scope to match: `name`, and `version` when given (an empty
/// `version` matches only an empty version).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LibraryMatch {
    pub name: String,
    pub version: Option<String>,
}

/// `log_severity_number`: records at or above `min` match; records with no severity
/// number match only with `match_undefined`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityNumberMatch {
    pub min: i32,
    pub match_undefined: bool,
}

/// The span kinds `span_kinds` may name under `match_type: strict`, sorted as Go prints them.
const SPAN_KINDS: [&str; 5] = [
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_CONSUMER",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_SERVER",
];

impl MatchProperties {
    /// Go's `ValidateForSpans`.
    pub fn validate_for_spans(&self) -> Result<(), String> {
        if !self.log_bodies.is_empty() {
            return Err("log_bodies should not be specified for trace spans".into());
        }
        if !self.log_severity_texts.is_empty() {
            return Err("log_severity_texts should not be specified for trace spans".into());
        }
        if self.log_severity_number.is_some() {
            return Err("log_severity_number should not be specified for trace spans".into());
        }
        if self.services.is_empty()
            && self.span_names.is_empty()
            && self.attributes.is_empty()
            && self.libraries.is_empty()
            && self.resources.is_empty()
            && self.span_kinds.is_empty()
        {
            // Two spaces after the comma, as in Go's message.
            return Err(
                "at least one of \"attributes\", \"libraries\",  or \"resources\" field must be specified"
                    .into(),
            );
        }
        if self.match_type == "strict"
            && self
                .span_kinds
                .iter()
                .any(|k| !SPAN_KINDS.contains(&k.as_str()))
        {
            return Err(format!(
                "span_kinds string must match one of the standard span kinds when match_type=strict: [{}]",
                SPAN_KINDS.join(" ")
            ));
        }
        Ok(())
    }

    /// Go's `ValidateForLogs`.
    pub fn validate_for_logs(&self) -> Result<(), String> {
        if !self.span_names.is_empty() || !self.services.is_empty() || !self.span_kinds.is_empty() {
            return Err(
                "services, span_names, and span_kinds are not valid for log records".into(),
            );
        }
        if self.attributes.is_empty()
            && self.libraries.is_empty()
            && self.resources.is_empty()
            && self.log_bodies.is_empty()
            && self.log_severity_texts.is_empty()
            && self.log_severity_number.is_none()
        {
            return Err("at least one of \"attributes\", \"libraries\", \"span_kinds\", \"resources\", \"log_bodies\", \"log_severity_texts\" or \"log_severity_number\" field must be specified".into());
        }
        Ok(())
    }

    /// A string set of this block's `match_type` over `patterns`.
    fn string_set(&self, patterns: &[String]) -> Result<StringSet, String> {
        StringSet::new(patterns, &self.match_type)
    }
}

/// The skip decision shared by the signals: skipped when `include` does not match or
/// `exclude` matches. `matches` runs only for the blocks that are set.
fn skip<M>(include: Option<&M>, exclude: Option<&M>, matches: impl Fn(&M) -> bool) -> bool {
    include.is_some_and(|m| !matches(m)) || exclude.is_some_and(&matches)
}
