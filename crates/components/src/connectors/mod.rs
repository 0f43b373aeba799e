pub mod forward;
pub mod spanmetrics;
#[cfg(test)]
pub(crate) mod story;
