//! include/exclude for spans (Go's `filterspan`).

use pdata::proto::common::v1::InstrumentationScope;
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::Span;

use super::{MatchConfig, MatchProperties, PropertiesMatcher, StringSet, skip};
use crate::attraction::value;

#[derive(Debug, Clone)]
struct SpanMatcher {
    properties: PropertiesMatcher,
    services: Option<StringSet>,
    names: Option<StringSet>,
    kinds: Option<StringSet>,
}

fn optional_set(
    mp: &MatchProperties,
    patterns: &[String],
    what: &str,
) -> Result<Option<StringSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    mp.string_set(patterns)
        .map(Some)
        .map_err(|e| format!("error creating {what} filters: {e}"))
}

impl SpanMatcher {
    fn new(mp: &MatchProperties) -> Result<Self, String> {
        mp.validate_for_spans()?;
        let properties = PropertiesMatcher::new(mp)?;
        Ok(SpanMatcher {
            properties,
            services: optional_set(mp, &mp.services, "service name")?,
            names: optional_set(mp, &mp.span_names, "span name")?,
            kinds: optional_set(mp, &mp.span_kinds, "span kind")?,
        })
    }

    fn matches(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        span: &Span,
    ) -> bool {
        if let Some(services) = &self.services {
            let name = resource
                .and_then(|r| value::get(&r.attributes, "service.name"))
                .map(value::as_string);
            if !services.matches(name.as_deref().unwrap_or("<nil-service-name>")) {
                return false;
            }
        }
        if let Some(names) = &self.names
            && !names.matches(&span.name)
        {
            return false;
        }
        if let Some(kinds) = &self.kinds
            && !kinds.matches(span_kind_str(span.kind))
        {
            return false;
        }
        self.properties.matches(&span.attributes, resource, scope)
    }
}

/// Go's `traceutil.SpanKindStr`.
fn span_kind_str(kind: i32) -> &'static str {
    match kind {
        0 => "SPAN_KIND_UNSPECIFIED",
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "",
    }
}

/// Which spans to leave alone.
#[derive(Debug, Clone)]
pub struct SpanSkip {
    include: Option<SpanMatcher>,
    exclude: Option<SpanMatcher>,
}

impl SpanSkip {
    /// Validates and compiles both blocks for spans; `None` when neither is set (nothing is
    /// skipped).
    pub fn new(cfg: &MatchConfig) -> Result<Option<SpanSkip>, String> {
        let include = cfg.include.as_ref().map(SpanMatcher::new).transpose()?;
        let exclude = cfg.exclude.as_ref().map(SpanMatcher::new).transpose()?;
        Ok((include.is_some() || exclude.is_some()).then_some(SpanSkip { include, exclude }))
    }

    pub fn skip(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        span: &Span,
    ) -> bool {
        skip(self.include.as_ref(), self.exclude.as_ref(), |m| {
            m.matches(resource, scope, span)
        })
    }
}
