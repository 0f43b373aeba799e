//! A lean HTTP/2 client for gRPC unary calls on hyper 1: one connection, opened on first use,
//! shared by all of the exporter's concurrent requests (HTTP/2 streams), and replaced by a new
//! one when it breaks. TLS is rustls through the config of [`crate::util::tls`].

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_util::either::Either;

use super::config::KeepaliveSettings;

/// A request body of at most two chunks: the gRPC frame header and the message, or one buffer
/// holding both. Sent as is, without copying.
pub(crate) struct GrpcBody {
    chunks: [Option<Bytes>; 2],
}

impl GrpcBody {
    pub(crate) fn new(first: Bytes, second: Option<Bytes>) -> GrpcBody {
        GrpcBody {
            chunks: [Some(first), second],
        }
    }

    fn remaining(&self) -> u64 {
        self.chunks.iter().flatten().map(|c| c.len() as u64).sum()
    }
}

impl Body for GrpcBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.chunks.iter_mut().find_map(Option::take);
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.iter().all(Option::is_none)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The connection could not be opened (dial, TLS or HTTP/2 handshake).
    Connect(String),
    /// The request failed on an open connection (reset, connection lost).
    Request(hyper::Error),
}

pub(crate) struct H2Client {
    /// `host:port` to dial.
    dial: String,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    connect_timeout: Option<Duration>,
    keepalive: Option<KeepaliveSettings>,
    current: Mutex<Option<SendRequest<GrpcBody>>>,
    /// Held while connecting, so concurrent requests wait for one new connection.
    connecting: tokio::sync::Mutex<()>,
}

impl H2Client {
    pub(crate) fn new(
        dial: String,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
        connect_timeout: Option<Duration>,
        keepalive: Option<KeepaliveSettings>,
    ) -> H2Client {
        H2Client {
            dial,
            tls,
            connect_timeout,
            keepalive,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) async fn send(
        &self,
        request: http::Request<GrpcBody>,
    ) -> Result<http::Response<Incoming>, SendError> {
        let mut sender = self.sender().await?;
        if let Err(e) = sender.ready().await {
            self.forget_if_closed(&sender);
            return Err(SendError::Request(e));
        }
        let result = sender.send_request(request).await;
        if result.is_err() {
            self.forget_if_closed(&sender);
        }
        result.map_err(SendError::Request)
    }

    /// Drops the connection (ours or a newer one's: both checks are cheap) once it is closed.
    fn forget_if_closed(&self, sender: &SendRequest<GrpcBody>) {
        if sender.is_closed() {
            let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
            if current.as_ref().is_some_and(SendRequest::is_closed) {
                *current = None;
            }
        }
    }

    fn open_sender(&self) -> Option<SendRequest<GrpcBody>> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().filter(|s| !s.is_closed()).cloned()
    }

    async fn sender(&self) -> Result<SendRequest<GrpcBody>, SendError> {
        if let Some(s) = self.open_sender() {
            return Ok(s);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(s) = self.open_sender() {
            return Ok(s);
        }
        let connect = self.connect();
        let sender = match self.connect_timeout {
            Some(t) => tokio::time::timeout(t, connect).await.map_err(|_| {
                SendError::Connect(format!("dial tcp {}: i/o timeout", self.dial))
            })??,
            None => connect.await?,
        };
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender.clone());
        Ok(sender)
    }

    async fn connect(&self) -> Result<SendRequest<GrpcBody>, SendError> {
        let dial_error =
            |e: std::io::Error| SendError::Connect(format!("dial tcp {}: {e}", self.dial));
        let tcp = TcpStream::connect(self.dial.as_str())
            .await
            .map_err(dial_error)?;
        let _ = tcp.set_nodelay(true);
        let io = match &self.tls {
            Some((client, name)) => Either::Right(
                tokio_rustls::TlsConnector::from(client.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| {
                        SendError::Connect(format!("tls handshake with {}: {e}", self.dial))
                    })?,
            ),
            None => Either::Left(tcp),
        };
        let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
        builder.timer(TokioTimer::new());
        if let Some(ka) = &self.keepalive {
            if !ka.time.0.is_zero() {
                builder
                    .keep_alive_interval(ka.time.0)
                    .keep_alive_while_idle(ka.permit_without_stream);
            }
            if !ka.timeout.0.is_zero() {
                builder.keep_alive_timeout(ka.timeout.0);
            }
        }
        let (sender, connection) = builder
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| SendError::Connect(format!("http2 handshake with {}: {e}", self.dial)))?;
        let dial = self.dial.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(endpoint = %dial, error = %e, "gRPC connection closed");
            }
        });
        Ok(sender)
    }
}
