//! `ottl_condition`: samples a trace when any span (or span event) satisfies one of the
//! OTTL conditions. It needs the OTTL engine (the `ottl` crate, being built in parallel), so
//! for now its config is parsed and validated like the others and the processor refuses to
//! start with it. Wiring it is this file: compile `span`/`spanevent` conditions with
//! `error_mode`, and return an [`Evaluator`] that is `Sampled` on the first match and an
//! error on an evaluation error (counted by the processor).

use super::super::config::PolicyConfig;
use super::Evaluator;

pub fn build(_cfg: &PolicyConfig) -> Result<Box<dyn Evaluator>, String> {
    Err("the \"ottl_condition\" policy type is not built into ferrotel yet (it needs OTTL, which this build lacks); use the other policy types for now".to_string())
}
