pub mod filelog;
pub mod otlp;
pub mod zipkin;
