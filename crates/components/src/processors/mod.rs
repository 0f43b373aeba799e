pub mod batch;
pub mod memory_limiter;
