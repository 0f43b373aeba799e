pub mod attributes;
pub mod batch;
pub mod filter;
pub mod group_by_attrs;
pub mod memory_limiter;
pub mod redaction;
pub mod resource;
#[cfg(test)]
pub(crate) mod testing;
