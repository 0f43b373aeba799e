pub mod attributes;
pub mod batch;
pub mod cumulative_to_delta;
pub mod delta_to_cumulative;
pub mod filter;
pub mod group_by_attrs;
pub mod memory_limiter;
pub mod metrics_transform;
pub mod probabilistic_sampler;
pub mod redaction;
pub mod resource;
pub mod resourcedetection;
pub mod tail_sampling;
#[cfg(test)]
pub(crate) mod testing;
pub mod transform;
