//! Minimal OTLP clients on hyper: gRPC over HTTP/2 (with gRPC framing written by hand so bodies
//! can be compressed once, outside the client) and OTLP/HTTP over HTTP/1.1.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use pdata::Signal;
use tokio::net::TcpStream;

/// How one export ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The server answered with a non-OK status: `grpc:<code>` or `http:<status>`.
    Refused(String),
    /// No answer: connection error, timeout, malformed response.
    Error(String),
}

pub fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Profiles => {
            "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
        }
    }
}

pub fn http_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
        Signal::Logs => "/v1/logs",
        Signal::Profiles => "/v1development/profiles",
    }
}

/// Signal of a gRPC or OTLP/HTTP export path.
pub fn signal_of_path(path: &str) -> Option<Signal> {
    Signal::EVERY
        .into_iter()
        .find(|&s| path == grpc_path(s) || path == http_path(s))
}

/// Starts a gRPC frame in `out`: the 5-byte prefix with a zero length, fixed by [`finish_frame`].
pub fn begin_frame(out: &mut Vec<u8>, compressed: bool) {
    out.clear();
    out.extend_from_slice(&[u8::from(compressed), 0, 0, 0, 0]);
}

/// Writes the message length into the prefix written by [`begin_frame`].
pub fn finish_frame(out: &mut [u8]) {
    let len = (out.len() - 5) as u32;
    out[1..5].copy_from_slice(&len.to_be_bytes());
}

async fn tcp(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// One HTTP/2 connection carrying gRPC calls; cheap to clone, calls multiplex.
#[derive(Clone)]
pub struct GrpcConn {
    sender: http2::SendRequest<Full<Bytes>>,
    authority: String,
}

impl GrpcConn {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<GrpcConn> {
        let io = TokioIo::new(tcp(addr).await?);
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(4 << 20)
            .initial_connection_window_size(16 << 20)
            .max_frame_size(1 << 20)
            .handshake(io)
            .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(GrpcConn {
            sender,
            authority: addr.to_string(),
        })
    }

    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends one framed gRPC message (see [`begin_frame`]) and waits for the status.
    pub async fn call(
        &self,
        path: &str,
        frame: Bytes,
        encoding: Option<&str>,
        timeout: Duration,
    ) -> Outcome {
        let mut b = http::Request::post(format!("http://{}{path}", self.authority))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("grpc-accept-encoding", "gzip,zstd")
            .header("grpc-timeout", format!("{}m", timeout.as_millis()));
        if let Some(e) = encoding {
            b = b.header("grpc-encoding", e);
        }
        let req = match b.body(Full::new(frame)) {
            Ok(r) => r,
            Err(e) => return Outcome::Error(e.to_string()),
        };
        let mut sender = self.sender.clone();
        let fut = async move {
            let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
            let (parts, body) = resp.into_parts();
            if parts.status != http::StatusCode::OK {
                return Ok(Outcome::Refused(format!("http:{}", parts.status.as_u16())));
            }
            let header_status = parts.headers.get("grpc-status").cloned();
            let collected = body.collect().await.map_err(|e| e.to_string())?;
            let status = header_status.or_else(|| {
                collected
                    .trailers()
                    .and_then(|t| t.get("grpc-status").cloned())
            });
            Ok::<_, String>(match status.as_ref().map(|v| v.to_str().unwrap_or("?")) {
                Some("0") => Outcome::Ok,
                Some(code) => Outcome::Refused(format!("grpc:{code}")),
                None => Outcome::Error("response without grpc-status".into()),
            })
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => Outcome::Error(e),
            Err(_) => Outcome::Error("timeout".into()),
        }
    }
}

/// One HTTP/1.1 keep-alive connection carrying OTLP/HTTP exports, one at a time.
pub struct HttpConn {
    addr: SocketAddr,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

impl HttpConn {
    pub fn new(addr: SocketAddr) -> HttpConn {
        HttpConn { addr, sender: None }
    }

    async fn sender(&mut self) -> anyhow::Result<&mut http1::SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let io = TokioIo::new(tcp(self.addr).await?);
            let (sender, conn) = http1::handshake(io).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        let s = self.sender.as_mut().expect("set above");
        s.ready().await?;
        Ok(s)
    }

    pub async fn post(
        &mut self,
        path: &str,
        body: Bytes,
        encoding: Option<&str>,
        timeout: Duration,
    ) -> Outcome {
        let mut b = http::Request::post(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/x-protobuf");
        if let Some(e) = encoding {
            b = b.header("content-encoding", e);
        }
        let req = match b.body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => return Outcome::Error(e.to_string()),
        };
        let fut = async {
            let sender = self.sender().await.map_err(|e| e.to_string())?;
            let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            // Drain the body so the connection can be reused.
            let _ = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(if status.is_success() {
                Outcome::Ok
            } else {
                Outcome::Refused(format!("http:{}", status.as_u16()))
            })
        };
        let out = match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => Outcome::Error(e),
            Err(_) => Outcome::Error("timeout".into()),
        };
        if matches!(out, Outcome::Error(_)) {
            self.sender = None;
        }
        out
    }
}
