//! include/exclude for log records (Go's `filterlog`).

use pdata::proto::common::v1::InstrumentationScope;
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::resource::v1::Resource;

use super::{
    MatchConfig, MatchProperties, PropertiesMatcher, SeverityNumberMatch, StringSet, skip,
};
use crate::attraction::value;

#[derive(Debug, Clone)]
struct LogMatcher {
    properties: PropertiesMatcher,
    bodies: Option<StringSet>,
    severity_texts: Option<StringSet>,
    severity_number: Option<SeverityNumberMatch>,
}

impl LogMatcher {
    fn new(mp: &MatchProperties) -> Result<Self, String> {
        mp.validate_for_logs()?;
        let properties = PropertiesMatcher::new(mp)?;
        let bodies = if mp.log_bodies.is_empty() {
            None
        } else {
            Some(
                mp.string_set(&mp.log_bodies)
                    .map_err(|e| format!("error creating log record body filters: {e}"))?,
            )
        };
        let severity_texts = if mp.log_severity_texts.is_empty() {
            None
        } else {
            Some(
                mp.string_set(&mp.log_severity_texts)
                    .map_err(|e| format!("error creating log record severity text filters: {e}"))?,
            )
        };
        Ok(LogMatcher {
            properties,
            bodies,
            severity_texts,
            severity_number: mp.log_severity_number.clone(),
        })
    }

    fn matches(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        record: &LogRecord,
    ) -> bool {
        if let Some(bodies) = &self.bodies {
            let body = record.body.as_ref().map(value::as_string);
            if !bodies.matches(body.as_deref().unwrap_or("")) {
                return false;
            }
        }
        if let Some(texts) = &self.severity_texts
            && !texts.matches(&record.severity_text)
        {
            return false;
        }
        if let Some(sn) = &self.severity_number {
            let matched = if record.severity_number == 0 {
                sn.match_undefined
            } else {
                record.severity_number >= sn.min
            };
            if !matched {
                return false;
            }
        }
        self.properties.matches(&record.attributes, resource, scope)
    }
}

/// Which log records to leave alone.
#[derive(Debug, Clone)]
pub struct LogSkip {
    include: Option<LogMatcher>,
    exclude: Option<LogMatcher>,
}

impl LogSkip {
    /// Validates and compiles both blocks for logs; `None` when neither is set.
    pub fn new(cfg: &MatchConfig) -> Result<Option<LogSkip>, String> {
        let include = cfg.include.as_ref().map(LogMatcher::new).transpose()?;
        let exclude = cfg.exclude.as_ref().map(LogMatcher::new).transpose()?;
        Ok((include.is_some() || exclude.is_some()).then_some(LogSkip { include, exclude }))
    }

    pub fn skip(
        &self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        record: &LogRecord,
    ) -> bool {
        skip(self.include.as_ref(), self.exclude.as_ref(), |m| {
            m.matches(resource, scope, record)
        })
    }
}
