pub(crate) mod expo;
pub mod forward;
pub mod routing;
pub mod servicegraph;
pub mod spanmetrics;
#[cfg(test)]
pub(crate) mod story;
