//! Small helpers shared by several components.

pub mod goregex;
pub mod time;
