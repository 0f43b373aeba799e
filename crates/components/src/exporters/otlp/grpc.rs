//! The `otlp_grpc` push: the batch's encoded bytes, compressed once, go out as one gRPC
//! message on the shared HTTP/2 connection of [`super::client`]; the reply (trailers-only or
//! message + trailers) is mapped as the Go exporter does (otelcol.md §3.1).

use crate::util::http_client::ClientAuth;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::{Buf, Bytes};
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, TE, USER_AGENT};
use http::{Method, Uri, Version};
use http_body_util::BodyExt;
use pdata::json::RpcStatus;
use pdata::{Batch, Signal};
use prost::Message;
use runtime::ConsumeError;
use runtime::exporterhelper::Push;
use tonic::Code;

use super::client::{GrpcBody, H2Client, SendError};
use super::config::{Config, GrpcCompression};
use crate::compression::{self, Codec};
use crate::otlp_grpc_codec::{export_path, retry_delay};

/// grpc-go's default maximum received message size.
const MAX_RESPONSE_MESSAGE: usize = 4 << 20;

pub(crate) struct GrpcPush {
    client: H2Client,
    uri: Uri,
    /// Everything but `grpc-timeout`, which follows the attempt's deadline.
    headers: HeaderMap,
    auth: ClientAuth,
    codec: Option<Codec>,
    level: Option<i32>,
    signal: Signal,
    id: Arc<str>,
}

impl GrpcPush {
    /// Sets the client up; it connects on first use, so an endpoint that is down at start is
    /// not a startup error (as in Go).
    pub(crate) fn new(cfg: &Config, signal: Signal, id: &str) -> Result<GrpcPush, String> {
        let target = cfg.target()?;
        let tls = if target.tls {
            let client = cfg.tls.client_config(&[b"h2"])?;
            Some((Arc::new(client), cfg.tls.server_name(&target.host)?))
        } else {
            None
        };
        let origin = if cfg.authority.is_empty() {
            &target.authority
        } else {
            &cfg.authority
        };
        let scheme = if target.tls { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{origin}{}", export_path(signal))
            .parse()
            .map_err(|e| format!("authority {origin:?}: {e}"))?;
        let connect_timeout = (!cfg.timeout.0.is_zero()).then_some(cfg.timeout.0);
        let client = H2Client::new(
            target.authority.clone(),
            tls,
            connect_timeout,
            cfg.keepalive.clone(),
        );

        let codec = match cfg.compression()? {
            GrpcCompression::None => None,
            GrpcCompression::Gzip => Some(Codec::Gzip),
            GrpcCompression::Zstd => Some(Codec::Zstd),
        };
        let mut headers = HeaderMap::new();
        // Custom headers first, so they cannot replace the protocol's own.
        for (k, v) in &cfg.headers {
            let name = HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("headers: invalid header name {k:?}"))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|_| format!("headers: invalid value for header {k:?}"))?;
            headers.insert(name, value);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        if let Some(codec) = codec {
            headers.insert("grpc-encoding", HeaderValue::from_static(codec.name()));
        }
        headers.insert(
            "grpc-accept-encoding",
            HeaderValue::from_static("gzip,zstd,identity"),
        );
        let agent = format!("ferrotel/{} grpc", env!("CARGO_PKG_VERSION"));
        headers.insert(
            USER_AGENT,
            HeaderValue::try_from(agent).map_err(|e| e.to_string())?,
        );
        if let Some(t) = connect_timeout {
            headers.insert("grpc-timeout", grpc_timeout(t));
        }
        Ok(GrpcPush {
            client,
            uri,
            headers,
            auth: ClientAuth::new_grpc(cfg.auth.as_ref()),
            codec,
            level: cfg.compression_params.level,
            signal,
            id: Arc::from(id),
        })
    }

    /// The request body: the 5-byte gRPC message header, then the message, compressed once.
    fn body(&self, batch: &Batch) -> Result<GrpcBody, ConsumeError> {
        let message = batch.encoded();
        let Some(codec) = self.codec else {
            let header = frame_header(false, message.len())?;
            return Ok(GrpcBody::new(
                Bytes::copy_from_slice(&header),
                Some(message),
            ));
        };
        let mut frame = Vec::with_capacity(5);
        frame.extend_from_slice(&[0; 5]);
        let n = compression::compress_into(codec, self.level, &message, &mut frame)
            .map_err(|e| ConsumeError::permanent(format!("grpc: error while compressing: {e}")))?;
        frame[..5].copy_from_slice(&frame_header(true, n)?);
        Ok(GrpcBody::new(Bytes::from(frame), None))
    }
}

fn frame_header(compressed: bool, len: usize) -> Result<[u8; 5], ConsumeError> {
    let len = u32::try_from(len).map_err(|_| {
        ConsumeError::permanent(format!(
            "rpc error: code = ResourceExhausted desc = grpc: message too large ({len} bytes)"
        ))
    })?;
    let mut h = [0u8; 5];
    h[0] = u8::from(compressed);
    h[1..].copy_from_slice(&len.to_be_bytes());
    Ok(h)
}

/// `grpc-timeout`: at most 8 digits, in the finest unit that fits.
fn grpc_timeout(t: Duration) -> HeaderValue {
    let ms = t.as_millis();
    let value = if ms <= 99_999_999 {
        format!("{ms}m")
    } else if t.as_secs() <= 99_999_999 {
        format!("{}S", t.as_secs())
    } else {
        format!("{}H", (t.as_secs() / 3600).min(99_999_999))
    };
    HeaderValue::try_from(value).unwrap_or(HeaderValue::from_static("99999999H"))
}

#[async_trait]
impl Push for GrpcPush {
    async fn start(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let mut request = http::Request::new(self.body(batch)?);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = Version::HTTP_2;
        let mut headers = self.headers.clone();
        if self.auth.is_configured() {
            // Per-RPC credentials are metadata: they cannot replace the protocol's headers.
            let mut creds = HeaderMap::new();
            self.auth
                .apply(&mut creds, batch.client_info().map(|c| &**c))?;
            let mut last = None;
            for (k, v) in creds {
                let k = match k {
                    Some(k) => {
                        last = Some(k.clone());
                        k
                    }
                    None => match &last {
                        Some(k) => k.clone(),
                        None => continue,
                    },
                };
                if !is_protocol_header(&k) {
                    headers.append(k, v);
                }
            }
        }
        *request.headers_mut() = headers;
        let response = self.client.send(request).await.map_err(|e| match e {
            SendError::Connect(e) => ConsumeError::retryable(format!(
                "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: {e}\""
            )),
            SendError::Request(e) => transport_error(&e),
        })?;
        let message = read_reply(response).await?;
        let parsed =
            pdata::json::ExportResponse::from_protobuf(self.signal, &message).map_err(|e| {
                ConsumeError::permanent(format!("failed to decode the export response: {e}"))
            })?;
        super::log_partial_success(&self.id, &parsed);
        Ok(())
    }
}

/// Headers of the gRPC protocol itself, which credentials must not change.
fn is_protocol_header(name: &http::HeaderName) -> bool {
    let n = name.as_str();
    n == "content-type" || n == "te" || n == "user-agent" || n.starts_with("grpc-")
}

/// A request or response that broke on the wire: the data may not have arrived, so retry.
fn transport_error(e: &hyper::Error) -> ConsumeError {
    let mut desc = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        desc = format!("{desc}: {s}");
        source = s.source();
    }
    ConsumeError::retryable(format!("rpc error: code = Unavailable desc = {desc}"))
}

/// The reply's message, or the error its status maps to.
async fn read_reply(
    response: http::Response<hyper::body::Incoming>,
) -> Result<Bytes, ConsumeError> {
    let (parts, body) = response.into_parts();
    // Trailers-only: the status is in the headers and there is no message.
    if let Some(status) = GrpcStatus::from_headers(&parts.headers) {
        return Err(status.into_error());
    }
    if parts.status != http::StatusCode::OK {
        return Err(GrpcStatus::from_http(parts.status).into_error());
    }
    let collected = body.collect().await.map_err(|e| transport_error(&e))?;
    let status = collected
        .trailers()
        .and_then(GrpcStatus::from_headers)
        .unwrap_or_else(|| GrpcStatus {
            code: Code::Internal,
            message: "server closed the stream without sending trailers".into(),
            details: None,
        });
    if status.code != Code::Ok {
        return Err(status.into_error());
    }
    let mut data = collected.to_bytes();
    if data.len() < 5 {
        return Err(GrpcStatus::internal("missing response message").into_error());
    }
    let compressed = data[0] == 1;
    let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    data.advance(5);
    if data.len() < len {
        return Err(GrpcStatus::internal("truncated response message").into_error());
    }
    let message = data.split_to(len);
    if !compressed {
        return Ok(message);
    }
    let encoding = parts
        .headers
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let codec = Codec::parse(encoding).ok_or_else(|| {
        GrpcStatus::internal(format!(
            "grpc: Decompressor is not installed for grpc-encoding {encoding:?}"
        ))
        .into_error()
    })?;
    compression::decompress(codec, &message, MAX_RESPONSE_MESSAGE)
        .map(Bytes::from)
        .map_err(|e| {
            GrpcStatus::internal(format!(
                "grpc: failed to decompress the received message: {e}"
            ))
            .into_error()
        })
}

/// A gRPC status as read from headers or trailers.
struct GrpcStatus {
    code: Code,
    message: String,
    details: Option<RpcStatus>,
}

impl GrpcStatus {
    fn internal(message: impl Into<String>) -> GrpcStatus {
        GrpcStatus {
            code: Code::Internal,
            message: message.into(),
            details: None,
        }
    }

    fn from_headers(headers: &HeaderMap) -> Option<GrpcStatus> {
        let code = headers.get("grpc-status")?;
        let code = code
            .to_str()
            .ok()
            .and_then(|c| c.trim().parse::<i32>().ok())
            .map(Code::from_i32)
            .unwrap_or(Code::Unknown);
        let message = headers
            .get("grpc-message")
            .map(|m| percent_decode(m.as_bytes()))
            .unwrap_or_default();
        let details = headers
            .get("grpc-status-details-bin")
            .and_then(|v| BASE64.decode(v.as_bytes()).ok())
            .and_then(|b| RpcStatus::decode(b.as_slice()).ok());
        Some(GrpcStatus {
            code,
            message,
            details,
        })
    }

    /// gRPC's HTTP-to-status mapping for a reply without `grpc-status`.
    fn from_http(status: http::StatusCode) -> GrpcStatus {
        let code = match status.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        };
        GrpcStatus {
            code,
            message: format!(
                "unexpected HTTP status code received from server: {} ({})",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
            details: None,
        }
    }

    fn into_error(self) -> ConsumeError {
        let delay = self.details.as_ref().and_then(retry_delay);
        error_from_status(self.code, &self.message, delay)
    }
}

/// Base64 as gRPC's `-bin` headers carry it: standard alphabet, padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// `grpc-message` is percent-encoded UTF-8.
fn percent_decode(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `codes.Code.String()`.
fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// The Go exporter's `processError`: a few codes are retryable, RESOURCE_EXHAUSTED only with
/// a `RetryInfo` (whose delay becomes a throttle), everything else is permanent.
pub(crate) fn error_from_status(
    code: Code,
    message: &str,
    delay: Option<Duration>,
) -> ConsumeError {
    let message = format!("rpc error: code = {} desc = {message}", go_code_name(code));
    let retryable = match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => delay.is_some(),
        _ => false,
    };
    match (retryable, delay) {
        (false, _) => ConsumeError::permanent(message),
        (true, Some(d)) if d > Duration::ZERO => ConsumeError::throttled(message, d),
        (true, _) => ConsumeError::retryable(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_message_is_percent_decoded() {
        assert_eq!(
            percent_decode(b"bad%20data%3A%20%E2%9C%93"),
            "bad data: \u{2713}"
        );
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz"), "%zz");
    }

    #[test]
    fn grpc_timeout_uses_at_most_eight_digits() {
        assert_eq!(grpc_timeout(Duration::from_secs(5)), "5000m");
        assert_eq!(grpc_timeout(Duration::from_secs(200_000)), "200000S");
        assert_eq!(grpc_timeout(Duration::from_secs(u64::MAX)), "99999999H");
    }

    #[test]
    fn http_status_without_grpc_status_maps_like_grpc_go() {
        let e = GrpcStatus::from_http(http::StatusCode::SERVICE_UNAVAILABLE).into_error();
        assert!(e.is_retryable(), "{e}");
        assert_eq!(
            e.message,
            "rpc error: code = Unavailable desc = unexpected HTTP status code received from server: 503 (Service Unavailable)"
        );
        assert!(
            GrpcStatus::from_http(http::StatusCode::NOT_FOUND)
                .into_error()
                .is_permanent()
        );
    }
}
