//! Helpers for operator tests: build a pipeline from YAML and run entries through it.

use crate::entry::Entry;
use crate::operator::{OperatorConfig, Pipeline};

pub(crate) fn pipeline(yaml: &str) -> Pipeline {
    let cfgs = OperatorConfig::list_from_yaml(yaml).unwrap_or_else(|e| panic!("decode: {e}"));
    Pipeline::build(&cfgs).unwrap_or_else(|e| panic!("build: {e}"))
}

pub(crate) fn build_err(yaml: &str) -> String {
    match OperatorConfig::list_from_yaml(yaml) {
        Err(e) => e,
        Ok(cfgs) => {
            Pipeline::build(&cfgs)
                .expect_err("build should fail")
                .message
        }
    }
}

pub(crate) fn run(p: &mut Pipeline, entries: Vec<Entry>) -> Vec<Entry> {
    let mut out = Vec::new();
    p.process_batch(entries, &mut |e| out.push(e));
    out
}

pub(crate) fn run_one(yaml: &str, e: Entry) -> Vec<Entry> {
    run(&mut pipeline(yaml), vec![e])
}
