//! A set of strings to match against (Go's `filterset`): lives in [`goregex::filterset`],
//! shared with the host metrics scrapers' filters.

pub use goregex::filterset::{StringSet, unrecognized_match_type};
