//! `ottl_condition`: samples a trace when any of its spans satisfies one of the `span`
//! conditions, or any span event one of the `spanevent` conditions (Go's
//! `internal/sampling/ottl.go`), compiled once with the `ottl` crate. A condition failing
//! at run time is an evaluation error of the policy in `propagate` (counted by the processor,
//! the policy's vote ignored), and counts as not matched in `ignore` and `silent`.

use ottl::contexts::SchemaUrls;
use ottl::contexts::span::{SpanContext, SpanData};
use ottl::contexts::spanevent::{SpanEventContext, SpanEventData};
use ottl::{ConditionSequence, Context, ErrorMode, Functions, Parser};
use pdata::tree::{Branch, Tree};

use super::super::config::PolicyConfig;
use super::{Decision, Evaluator, TraceData, TraceId};

struct OttlCondition {
    span: Option<ConditionSequence<SpanContext>>,
    spanevent: Option<ConditionSequence<SpanEventContext>>,
}

fn sequence<C: Context>(
    conditions: &[String],
    mode: ErrorMode,
) -> Result<Option<ConditionSequence<C>>, String> {
    if conditions.is_empty() {
        return Ok(None);
    }
    let functions: Functions<C> = ottl::functions::standard().converters_only();
    let parsed = Parser::new(functions)
        .parse_conditions(conditions)
        .map_err(|e| e.to_string())?;
    Ok(Some(ConditionSequence::new(parsed, mode)))
}

pub fn build(cfg: &PolicyConfig) -> Result<Box<dyn Evaluator>, String> {
    let c = &cfg.ottl_condition;
    let mode = match c.error_mode.as_str() {
        "" => ErrorMode::Propagate,
        m => ErrorMode::parse(m)?,
    };
    Ok(Box::new(OttlCondition {
        span: sequence(&c.span, mode)?,
        spanevent: sequence(&c.spanevent, mode)?,
    }))
}

impl Evaluator for OttlCondition {
    fn evaluate(
        &mut self,
        _: &TraceId,
        trace: &mut TraceData,
        _: tokio::time::Instant,
    ) -> Result<Decision, String> {
        if self.span.is_none() && self.spanevent.is_none() {
            return Ok(Decision::NotSampled);
        }
        for rs in &mut trace.batches {
            let (res_opt, res_url, scopes) = rs.parts();
            let had = res_opt.is_some();
            let mut res = res_opt.take().unwrap_or_default();
            let found = (|| -> Result<bool, String> {
                for ss in scopes.iter_mut() {
                    let (sc_opt, sc_url, spans) = ss.parts();
                    let had_scope = sc_opt.is_some();
                    let mut sc = sc_opt.take().unwrap_or_default();
                    let found = (|| -> Result<bool, String> {
                        for span in spans.iter_mut() {
                            if let Some(seq) = &self.span {
                                let urls = SchemaUrls::new(&mut *res_url, Some(&mut *sc_url));
                                let d =
                                    SpanData::new(span, &mut sc, &mut res).with_schema_urls(urls);
                                if seq.eval(&d)? {
                                    return Ok(true);
                                }
                            }
                            if let Some(seq) = &self.spanevent {
                                for i in 0..span.events.len() {
                                    let urls = SchemaUrls::new(&mut *res_url, Some(&mut *sc_url));
                                    let d = SpanEventData::new(span, i, &mut sc, &mut res)
                                        .with_schema_urls(urls);
                                    if seq.eval(&d)? {
                                        return Ok(true);
                                    }
                                }
                            }
                        }
                        Ok(false)
                    })();
                    if had_scope {
                        *sc_opt = Some(sc);
                    }
                    if found? {
                        return Ok(true);
                    }
                }
                Ok(false)
            })();
            if had {
                *res_opt = Some(res);
            }
            if found? {
                return Ok(Decision::Sampled);
            }
        }
        Ok(Decision::NotSampled)
    }
}
