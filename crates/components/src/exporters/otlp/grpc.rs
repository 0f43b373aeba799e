//! The `otlp_grpc` push: the batch's encoded bytes go out unchanged through a raw-bytes tonic
//! codec on a lazily connected channel; the reply is mapped as the Go exporter does
//! (otelcol.md §3.1).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use pdata::{Batch, Signal};
use runtime::ConsumeError;
use runtime::exporterhelper::Push;
use tokio::net::TcpStream;
use tokio_util::either::Either;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

use super::config::{Config, GrpcCompression};
use crate::otlp_grpc_codec::{RawBytesCodec, export_path, retry_delay_of};

pub(crate) struct GrpcPush {
    channel: Channel,
    signal: Signal,
    compression: Option<CompressionEncoding>,
    metadata: MetadataMap,
    id: Arc<str>,
}

impl GrpcPush {
    /// Builds the channel; it connects on first use, so an endpoint that is down at start is
    /// not a startup error (as in Go).
    pub(crate) fn new(cfg: &Config, signal: Signal, id: &str) -> Result<GrpcPush, String> {
        let target = cfg.target()?;
        let tls = if target.tls {
            let client = cfg.tls.client_config(&[b"h2"])?;
            Some((Arc::new(client), cfg.tls.server_name(&target.host)?))
        } else {
            None
        };
        let authority = target.authority.clone();
        let connector = tower::service_fn(move |_: Uri| {
            let tls = tls.clone();
            let authority = authority.clone();
            async move {
                let tcp = TcpStream::connect(authority.as_str()).await?;
                let _ = tcp.set_nodelay(true);
                let io = match tls {
                    Some((client, name)) => Either::Right(
                        tokio_rustls::TlsConnector::from(client)
                            .connect(name, tcp)
                            .await?,
                    ),
                    None => Either::Left(tcp),
                };
                Ok::<_, std::io::Error>(TokioIo::new(io))
            }
        });
        // TLS is done by the connector above, so tonic always sees an `http` URI.
        let origin = if cfg.authority.is_empty() {
            &target.authority
        } else {
            &cfg.authority
        };
        let mut endpoint = Endpoint::from_shared(format!("http://{}", target.authority))
            .map_err(|e| format!("endpoint {:?}: {e}", cfg.endpoint))?
            .user_agent(format!("ferrotel/{}", env!("CARGO_PKG_VERSION")))
            .map_err(|e| e.to_string())?;
        if !cfg.authority.is_empty() {
            let uri: Uri = format!("http://{origin}")
                .parse()
                .map_err(|e| format!("authority {origin:?}: {e}"))?;
            endpoint = endpoint.origin(uri);
        }
        if !cfg.timeout.0.is_zero() {
            endpoint = endpoint.connect_timeout(cfg.timeout.0);
        }
        if let Some(ka) = &cfg.keepalive {
            if !ka.time.0.is_zero() {
                endpoint = endpoint
                    .http2_keep_alive_interval(ka.time.0)
                    .keep_alive_while_idle(ka.permit_without_stream);
            }
            if !ka.timeout.0.is_zero() {
                endpoint = endpoint.keep_alive_timeout(ka.timeout.0);
            }
        }
        if cfg.write_buffer_size.0 > 0 {
            endpoint = endpoint
                .buffer_size(usize::try_from(cfg.write_buffer_size.0).unwrap_or(usize::MAX));
        }
        let channel = endpoint.connect_with_connector_lazy(connector);
        let compression = match cfg.compression()? {
            GrpcCompression::None => None,
            GrpcCompression::Gzip => Some(CompressionEncoding::Gzip),
            GrpcCompression::Zstd => Some(CompressionEncoding::Zstd),
        };
        let mut metadata = MetadataMap::new();
        for (k, v) in &cfg.headers {
            let key = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("headers: invalid header name {k:?}"))?;
            let value = MetadataValue::try_from(v.as_str())
                .map_err(|_| format!("headers: invalid value for header {k:?}"))?;
            metadata.insert(key, value);
        }
        Ok(GrpcPush {
            channel,
            signal,
            compression,
            metadata,
            id: Arc::from(id),
        })
    }
}

#[async_trait]
impl Push for GrpcPush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .accept_compressed(CompressionEncoding::Gzip);
        if let Some(c) = self.compression {
            grpc = grpc.send_compressed(c);
        }
        grpc.ready().await.map_err(|e| {
            ConsumeError::retryable(format!("rpc error: code = Unavailable desc = {e}"))
        })?;
        let mut request = tonic::Request::new(batch.encoded());
        *request.metadata_mut() = self.metadata.clone();
        let path = http::uri::PathAndQuery::from_static(export_path(self.signal));
        match grpc.unary(request, path, RawBytesCodec).await {
            Ok(response) => {
                let body = response.into_inner();
                let parsed = pdata::json::ExportResponse::from_protobuf(self.signal, &body)
                    .map_err(|e| {
                        ConsumeError::permanent(format!(
                            "failed to decode the export response: {e}"
                        ))
                    })?;
                super::log_partial_success(&self.id, &parsed);
                Ok(())
            }
            Err(status) => Err(error_from_status(&status)),
        }
    }
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
pub(crate) fn error_from_status(status: &Status) -> ConsumeError {
    let message = format!(
        "rpc error: code = {} desc = {}",
        go_code_name(status.code()),
        status.message()
    );
    let delay = retry_delay_of(status);
    let retryable = match status.code() {
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
