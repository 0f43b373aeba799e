//! The operators, one module per family; each has a `Config` (its keys, decoded by serde
//! with Go's defaults) whose `build` makes the running operator.

pub(crate) mod assign_keys;
pub(crate) mod container;
pub(crate) mod json;
pub(crate) mod json_array;
pub(crate) mod recombine;
pub(crate) mod regex;
pub(crate) mod regex_replace;
pub(crate) mod router;
pub(crate) mod standalone;
pub(crate) mod syslog;
pub(crate) mod text;
pub(crate) mod transform;
pub(crate) mod uri;

#[cfg(test)]
pub(crate) mod testutil;
