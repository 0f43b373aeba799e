pub mod filelog;
pub mod hostmetrics;
pub mod jaeger;
pub mod nop;
pub mod otlp;
pub mod otlp_json_file;
pub mod prometheus;
pub mod zipkin;
