pub mod attributes;
pub mod batch;
pub mod filter;
pub mod memory_limiter;
pub mod resource;
pub mod resourcedetection;
#[cfg(test)]
pub(crate) mod testing;
