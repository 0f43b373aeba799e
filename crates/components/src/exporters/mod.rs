pub mod debug;
pub mod otlp;
pub mod otlphttp;
