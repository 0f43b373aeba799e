//! `filter` processor settings. The legacy include/exclude form (`metrics`, `spans`, `logs`
//! with `include`/`exclude`) is built; the OTTL form (`traces.span`, `metrics.metric`,
//! `logs.log_record`, the `*_conditions` lists, ...) is parsed and refused until OTTL exists,
//! so that a config relying on it never runs as if it filtered nothing.

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
    pub trace_conditions: Vec<serde_json::Value>,
    pub metric_conditions: Vec<serde_json::Value>,
    pub log_conditions: Vec<serde_json::Value>,
    pub profile_conditions: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricFilters {
    pub include: Option<MetricMatchProperties>,
    pub exclude: Option<MetricMatchProperties>,
    pub regexp: Option<RegexpConfig>,
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

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if let Some(mode) = &self.error_mode
            && !matches!(mode.as_str(), "ignore" | "silent" | "propagate")
        {
            return Err(format!("error_mode: unknown error mode {mode}"));
        }
        let ottl: [(&str, bool); 9] = [
            ("traces.span", !self.traces.span.is_empty()),
            ("traces.spanevent", !self.traces.spanevent.is_empty()),
            ("metrics.metric", !self.metrics.metric.is_empty()),
            ("metrics.datapoint", !self.metrics.datapoint.is_empty()),
            ("logs.log_record", !self.logs.log_record.is_empty()),
            ("profiles.profile", !self.profiles.profile.is_empty()),
            ("trace_conditions", !self.trace_conditions.is_empty()),
            ("metric_conditions", !self.metric_conditions.is_empty()),
            (
                "log_conditions",
                !self.log_conditions.is_empty() || !self.profile_conditions.is_empty(),
            ),
        ];
        if let Some((key, _)) = ottl.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{key}: OTTL conditions are not built in ferrotel yet (issue 10); only the legacy include/exclude form of the filter processor is supported"
            ));
        }
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
