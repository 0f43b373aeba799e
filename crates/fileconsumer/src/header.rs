//! `header`: lines at the top of a file that match `header.pattern` become file
//! attributes (via the receiver's [`crate::HeaderParser`]) and are never emitted; the first
//! line that does not match ends the header.

use regex::Regex;

use crate::config::HeaderConfig;

/// Go's `header.NewConfig` checks that this crate can make.
pub(crate) fn validate(h: &HeaderConfig) -> Result<Regex, String> {
    if h.metadata_operators.is_empty() {
        return Err("at least one operator must be specified for `metadata_operators`".into());
    }
    Regex::new(&h.pattern).map_err(|e| format!("failed to compile `pattern`: {e}"))
}
