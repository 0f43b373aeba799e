//! Go's `filterset`: a set of strings to match against, by exact equality (`strict`) or by
//! unanchored Go regular expressions (`regexp`), matching when any entry matches. Used by
//! the legacy include/exclude blocks of processors and by the host metrics scrapers'
//! device, interface, mount point and process name filters.

use std::collections::HashSet;

use regex::RegexSet;

/// Compiled `strict` or `regexp` entries.
#[derive(Debug, Clone)]
pub enum StringSet {
    /// Few entries: a scan beats hashing.
    StrictFew(Vec<String>),
    StrictMany(HashSet<String>),
    Regexp(RegexSet),
}

/// Above this many entries a strict set hashes instead of scanning.
const SCAN_LIMIT: usize = 8;

impl StringSet {
    /// Go's `filterset.CreateFilterSet`: `match_type` must be `strict` or `regexp`, every
    /// pattern must compile (duplicates are dropped).
    pub fn new(patterns: &[String], match_type: &str) -> Result<StringSet, String> {
        let mut unique: Vec<&String> = Vec::with_capacity(patterns.len());
        for p in patterns {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        match match_type {
            "strict" if unique.len() <= SCAN_LIMIT => {
                Ok(StringSet::StrictFew(unique.into_iter().cloned().collect()))
            }
            "strict" => Ok(StringSet::StrictMany(unique.into_iter().cloned().collect())),
            "regexp" => {
                let mut translated = Vec::with_capacity(unique.len());
                for p in unique {
                    // Compiled alone first so that a bad pattern is reported on its own.
                    crate::compile(p)?;
                    translated.push(crate::translate(p));
                }
                RegexSet::new(&translated)
                    .map(StringSet::Regexp)
                    .map_err(|e| e.to_string())
            }
            other => Err(unrecognized_match_type(other)),
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            StringSet::StrictFew(v) => v.iter().any(|p| p == s),
            StringSet::StrictMany(set) => set.contains(s),
            StringSet::Regexp(set) => set.is_match(s),
        }
    }
}

/// Go's `NewUnrecognizedMatchTypeError`.
pub fn unrecognized_match_type(match_type: &str) -> String {
    format!("unrecognized match_type: '{match_type}', valid types are: [regexp strict]")
}
