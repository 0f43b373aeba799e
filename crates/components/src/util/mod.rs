//! Small helpers shared by several components.

pub mod goregex;
pub mod http_client;
pub mod time;
