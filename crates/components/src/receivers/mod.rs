pub mod filelog;
pub mod hostmetrics;
pub mod jaeger;
pub mod otlp;
pub mod prometheus;
pub mod zipkin;
