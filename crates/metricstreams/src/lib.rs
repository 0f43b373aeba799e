//! `metricstreams` owns what the temporality processors share: the identity of an OTLP
//! metric stream ([`identity`]: resource, scope, metric and point attributes hashed to a
//! 128-bit key), a bounded map of per-stream state that forgets streams not seen for a while
//! ([`map::StreamMap`]), and the two conversions on data points: cumulative to delta
//! ([`to_delta`], Go's `cumulativetodelta` tracker) and delta to cumulative
//! ([`to_cumulative`], Go's `deltatocumulative` aggregation), with the exponential-histogram
//! bucket arithmetic both need ([`expo`]).
//!
//! The processors in `ferrotel-components` are thin adapters: they walk a request, ask this
//! crate what to do with each point and count what was dropped.

pub mod expo;
pub mod identity;
pub mod map;
pub mod to_cumulative;
pub mod to_delta;

pub use identity::{StreamHasher, StreamId};
pub use map::{Full, StreamMap};

/// The data point flag "no recorded value" (OTLP `DataPointFlags`).
pub const FLAG_NO_RECORDED_VALUE: u32 = 1;
