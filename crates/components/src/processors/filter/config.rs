//! `filter` processor settings: the OTTL form (`traces.resource/span/spanevent`,
//! `metrics.resource/metric/datapoint`, `logs.resource/log_record`, and since Go v0.146 the
//! `trace_conditions`/`metric_conditions`/`log_conditions` lists with context inference) and
//! the legacy include/exclude form (`metrics`, `spans`, `logs` with `include`/`exclude`).
//! Profiles are not filtered here: a config asking for it is refused, never run as if it
//! filtered nothing.

use ottl::ErrorMode;
use ottl::filter::{Filter, FilterConfig};
use ottl::transform::GroupConfig;
use runtime::ComponentConfig;
use serde::Deserialize;

use super::process::Filters;
use crate::filtering::{AttributeMatch, MatchProperties, RegexpConfig};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `propagate` (default), `ignore` or `silent`: how OTTL condition errors are handled.
    pub error_mode: Option<String>,
    pub metrics: MetricFilters,
    pub logs: LogFilters,
    pub spans: SpanFilters,
    pub traces: TraceFilters,
    pub profiles: ProfileFilters,
    pub trace_conditions: Vec<ConditionEntry>,
    pub metric_conditions: Vec<ConditionEntry>,
    pub log_conditions: Vec<ConditionEntry>,
    pub profile_conditions: Vec<ConditionEntry>,
}

/// One element of a `*_conditions` list: a condition (its context inferred from its paths)
/// or a group.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ConditionEntry {
    Condition(String),
    Group(ConditionGroup),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConditionGroup {
    pub context: Option<String>,
    pub conditions: Vec<String>,
    pub error_mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricFilters {
    pub include: Option<MetricMatchProperties>,
    pub exclude: Option<MetricMatchProperties>,
    pub regexp: Option<RegexpConfig>,
    /// OTTL.
    pub resource: Vec<String>,
    /// OTTL.
    pub metric: Vec<String>,
    /// OTTL.
    pub datapoint: Vec<String>,
}

/// Go's `filterconfig.MetricMatchProperties`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricMatchProperties {
    pub match_type: String,
    pub regexp: Option<RegexpConfig>,
    pub metric_names: Vec<String>,
    pub expressions: Vec<String>,
    pub resource_attributes: Vec<AttributeMatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpanFilters {
    pub include: Option<MatchProperties>,
    pub exclude: Option<MatchProperties>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceFilters {
    /// OTTL.
    pub resource: Vec<String>,
    /// OTTL.
    pub span: Vec<String>,
    /// OTTL.
    pub spanevent: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileFilters {
    /// OTTL.
    pub profile: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogFilters {
    pub include: Option<LogMatchProperties>,
    pub exclude: Option<LogMatchProperties>,
    /// OTTL.
    pub resource: Vec<String>,
    /// OTTL.
    pub log_record: Vec<String>,
}

/// Go's `filterprocessor.LogMatchProperties`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogMatchProperties {
    pub match_type: String,
    pub resource_attributes: Vec<AttributeMatch>,
    pub record_attributes: Vec<AttributeMatch>,
    pub severity_texts: Vec<String>,
    pub severity_number: Option<SeverityNumber>,
    pub bodies: Vec<String>,
}

/// `severity_number`: `min` is a severity name (`INFO`, `warn2`) or number.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityNumber {
    pub min: Option<serde_json::Value>,
    pub match_undefined: bool,
}

fn block(context: &str, conditions: &[String]) -> Option<GroupConfig> {
    (!conditions.is_empty()).then(|| GroupConfig {
        context: Some(context.into()),
        conditions: conditions.to_vec(),
        ..GroupConfig::default()
    })
}

fn entries(list: &[ConditionEntry]) -> Result<Vec<GroupConfig>, String> {
    list.iter()
        .map(|e| match e {
            ConditionEntry::Condition(c) => Ok(GroupConfig {
                conditions: vec![c.clone()],
                ..GroupConfig::default()
            }),
            ConditionEntry::Group(g) => Ok(GroupConfig {
                context: g.context.clone().filter(|c| !c.is_empty()),
                conditions: g.conditions.clone(),
                error_mode: g.error_mode.as_deref().map(ErrorMode::parse).transpose()?,
                ..GroupConfig::default()
            }),
        })
        .collect()
}

impl Config {
    /// The OTTL conditions of every signal, legacy blocks first, then the `*_conditions`.
    pub fn ottl_config(&self) -> Result<FilterConfig, String> {
        let error_mode = match &self.error_mode {
            Some(m) => ErrorMode::parse(m)?,
            None => ErrorMode::Propagate,
        };
        let mut traces: Vec<GroupConfig> = [
            block("resource", &self.traces.resource),
            block("span", &self.traces.span),
            block("spanevent", &self.traces.spanevent),
        ]
        .into_iter()
        .flatten()
        .collect();
        traces.extend(entries(&self.trace_conditions)?);
        let mut metrics: Vec<GroupConfig> = [
            block("resource", &self.metrics.resource),
            block("metric", &self.metrics.metric),
            block("datapoint", &self.metrics.datapoint),
        ]
        .into_iter()
        .flatten()
        .collect();
        metrics.extend(entries(&self.metric_conditions)?);
        let mut logs: Vec<GroupConfig> = [
            block("resource", &self.logs.resource),
            block("log", &self.logs.log_record),
        ]
        .into_iter()
        .flatten()
        .collect();
        logs.extend(entries(&self.log_conditions)?);
        Ok(FilterConfig {
            error_mode,
            traces,
            metrics,
            logs,
        })
    }

    /// The compiled OTTL filter (empty when only the legacy form is used).
    pub fn build_ottl(&self) -> Result<Filter, String> {
        Filter::new(&self.ottl_config()?)
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if let Some(mode) = &self.error_mode {
            ErrorMode::parse(mode).map_err(|e| format!("error_mode: {e}"))?;
        }
        if !self.profiles.profile.is_empty() || !self.profile_conditions.is_empty() {
            return Err("profiles: filtering profiles is not built in ferrotel yet".into());
        }
        // Go's checks: one form per signal.
        let ottl = self.ottl_config()?;
        if !ottl.traces.is_empty() && (self.spans.include.is_some() || self.spans.exclude.is_some())
        {
            return Err(
                "cannot use ottl conditions and include/exclude for spans at the same time".into(),
            );
        }
        if !ottl.metrics.is_empty()
            && (self.metrics.include.is_some() || self.metrics.exclude.is_some())
        {
            return Err(
                "cannot use ottl conditions and include/exclude for metrics at the same time"
                    .into(),
            );
        }
        if !ottl.logs.is_empty() && (self.logs.include.is_some() || self.logs.exclude.is_some()) {
            return Err(
                "cannot use ottl conditions and include/exclude for logs at the same time".into(),
            );
        }
        Filter::new(&ottl)?;
        Filters::new(self).map(drop)
    }
}

impl LogMatchProperties {
    /// Go's `matchProperties()`: the filterlog form of these keys.
    pub fn to_match_properties(&self) -> Result<MatchProperties, String> {
        let log_severity_number = match &self.severity_number {
            None => None,
            Some(sn) => Some(crate::filtering::SeverityNumberMatch {
                min: match &sn.min {
                    None => 0,
                    Some(v) => severity_min(v)?,
                },
                match_undefined: sn.match_undefined,
            }),
        };
        Ok(MatchProperties {
            match_type: self.match_type.clone(),
            log_bodies: self.bodies.clone(),
            log_severity_texts: self.severity_texts.clone(),
            log_severity_number,
            attributes: self.record_attributes.clone(),
            resources: self.resource_attributes.clone(),
            ..Default::default()
        })
    }
}

/// `severity_number.min`: a severity name as plog prints it (`TRACE` .. `FATAL4`, any case)
/// or its number.
fn severity_min(v: &serde_json::Value) -> Result<i32, String> {
    let text = match v {
        serde_json::Value::Number(n) => {
            return n
                .as_i64()
                .map(|n| n as i32)
                .ok_or_else(|| format!("invalid severity {n}"));
        }
        serde_json::Value::String(s) => s.to_ascii_uppercase(),
        other => return Err(format!("invalid severity {other}")),
    };
    if let Ok(n) = text.parse::<i32>() {
        return Ok(n);
    }
    let bases = [
        ("TRACE", 1),
        ("DEBUG", 5),
        ("INFO", 9),
        ("WARN", 13),
        ("ERROR", 17),
        ("FATAL", 21),
    ];
    for (name, base) in bases {
        if let Some(rest) = text.strip_prefix(name) {
            match rest {
                "" => return Ok(base),
                "2" | "3" | "4" => return Ok(base + rest.parse::<i32>().unwrap_or(1) - 1),
                _ => break,
            }
        }
    }
    Err(format!(
        "severity_number.min: '{text}' is not a valid severity"
    ))
}
