pub mod filelog;
pub mod hostmetrics;
pub mod nop;
pub mod otlp;
pub mod prometheus;
pub mod zipkin;
