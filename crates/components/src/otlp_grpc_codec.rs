//! OTLP over gRPC without prost-generated services: a tonic codec that moves messages as raw
//! `Bytes`, the three service paths, and the `google.rpc.Status` / `RetryInfo` messages that
//! carry a throttling delay.
//!
//! The receiver hands the bytes straight to [`pdata::Batch::from_encoded`] (validate and count
//! without decoding); the exporter and the load generator send [`pdata::Batch::encoded`] as is.
//!
//! ```no_run
//! # async fn send(channel: tonic::transport::Channel, body: bytes::Bytes) -> Result<(), tonic::Status> {
//! use components::otlp_grpc_codec::{RawBytesCodec, export_path};
//! let mut client = tonic::client::Grpc::new(channel);
//! client.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
//! let path = http::uri::PathAndQuery::from_static(export_path(pdata::Signal::Traces));
//! let response: tonic::Response<bytes::Bytes> =
//!     client.unary(tonic::Request::new(body), path, RawBytesCodec).await?;
//! # let _ = response; Ok(()) }
//! ```

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use pdata::Signal;
pub use pdata::json::{Any as ProtoAny, RpcStatus};
use prost::Message;
use runtime::ConsumeError;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// The gRPC service names of OTLP.
pub const TRACE_SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
pub const METRICS_SERVICE: &str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
pub const LOGS_SERVICE: &str = "opentelemetry.proto.collector.logs.v1.LogsService";
pub const PROFILES_SERVICE: &str =
    "opentelemetry.proto.collector.profiles.v1development.ProfilesService";

/// The gRPC service name for a signal.
pub fn service_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => TRACE_SERVICE,
        Signal::Metrics => METRICS_SERVICE,
        Signal::Logs => LOGS_SERVICE,
        Signal::Profiles => PROFILES_SERVICE,
    }
}

/// The `/<service>/Export` path of a signal's export method.
pub fn export_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Profiles => {
            "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
        }
    }
}

/// A tonic codec whose messages are already-encoded protobuf bytes, both ways. Decoding takes
/// the message out of tonic's buffer without copying.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytesCodec;

#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytesEncoder;

#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytesDecoder;

impl Codec for RawBytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawBytesEncoder;
    type Decoder = RawBytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawBytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawBytesDecoder
    }
}

impl Encoder for RawBytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawBytesDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// A `google.rpc.Status` with a `RetryInfo` detail when `retry_after` is given.
pub fn rpc_status(
    code: i32,
    message: impl Into<String>,
    retry_after: Option<Duration>,
) -> RpcStatus {
    let details = retry_after
        .map(|d| {
            let info = RetryInfo {
                retry_delay: Some(ProtoDuration {
                    seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    nanos: d.subsec_nanos() as i32,
                }),
            };
            vec![ProtoAny {
                type_url: RETRY_INFO_TYPE_URL.into(),
                value: info.encode_to_vec(),
            }]
        })
        .unwrap_or_default();
    RpcStatus {
        code,
        message: message.into(),
        details,
    }
}

/// The delay of a status's first `RetryInfo` detail, if any.
pub fn retry_delay(status: &RpcStatus) -> Option<Duration> {
    status
        .details
        .iter()
        .filter(|d| d.type_url == RETRY_INFO_TYPE_URL)
        .find_map(|d| {
            let d = RetryInfo::decode(d.value.as_slice()).ok()?.retry_delay?;
            let secs = u64::try_from(d.seconds).ok()?;
            let nanos = u32::try_from(d.nanos).ok()?;
            Some(Duration::new(secs, nanos))
        })
}

/// The OTLP/JSON form of a status, as protojson writes it:
/// `{"code":8,"message":"...","details":[{"@type":"...RetryInfo","retryDelay":"2.5s"}]}`.
pub fn rpc_status_json(status: &RpcStatus) -> Vec<u8> {
    let details: Vec<serde_json::Value> = retry_delay(status)
        .map(|d| serde_json::json!({ "@type": RETRY_INFO_TYPE_URL, "retryDelay": format!("{}s", d.as_secs_f64()) }))
        .into_iter()
        .collect();
    let v =
        serde_json::json!({ "code": status.code, "message": status.message, "details": details });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The gRPC status a receiver answers a refused batch with (otelcol.md §4): the error's code,
/// plus a `RetryInfo` detail when it carries a delay.
pub fn status_from_consume_error(err: &ConsumeError) -> Status {
    let code = err.grpc_status_code();
    match err.retry_after {
        Some(delay) => {
            let details = rpc_status(code, err.message.clone(), Some(delay)).encode_to_vec();
            Status::with_details(
                Code::from_i32(code),
                err.message.clone(),
                Bytes::from(details),
            )
        }
        None => Status::new(Code::from_i32(code), err.message.clone()),
    }
}

/// The delay of a status's `RetryInfo` detail (for clients: the otlp exporter's throttling).
pub fn retry_delay_of(status: &Status) -> Option<Duration> {
    if status.details().is_empty() {
        return None;
    }
    retry_delay(&RpcStatus::decode(status.details()).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_error_becomes_resource_exhausted_with_retry_info() {
        let err = ConsumeError::throttled("slow down", Duration::from_millis(2500));
        let status = status_from_consume_error(&err);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "slow down");
        assert_eq!(retry_delay_of(&status), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn retryable_error_without_delay_is_unavailable_without_details() {
        let status = status_from_consume_error(&ConsumeError::retryable("queue full"));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.details().is_empty());
    }

    #[test]
    fn status_json_names_retry_delay_like_protojson() {
        let json = rpc_status_json(&rpc_status(8, "x", Some(Duration::from_secs(3))));
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["code"], 8);
        assert_eq!(v["details"][0]["@type"], RETRY_INFO_TYPE_URL);
        assert_eq!(v["details"][0]["retryDelay"], "3s");
    }
}
