//! The HTTP/1.1 accept loop every server component shares (the otlp receiver's HTTP side, the
//! zipkin receiver, the prometheus exporter's `/metrics`): keep-alive and header-read timeout
//! as confighttp sets them, no Nagle, a short back-off when accept fails (out of file
//! descriptors and the like) instead of spinning, and a graceful stop that lets requests in
//! flight finish; over TLS with [`serve_tls`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::util::tls::ServerTls as TlsAcceptor;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The connection settings of a server (confighttp's `keep_alives_enabled` and
/// `read_header_timeout`; `None` = no timeout).
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    pub keep_alive: bool,
    pub read_header_timeout: Option<Duration>,
}

/// hyper's own defaults (keep-alive on, 30 s to read the headers).
impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            keep_alive: true,
            read_header_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Serves `handle` on `listener` until `stop`; `what` names the server in its logs.
pub fn serve<F, Fut>(
    what: &'static str,
    options: ServerOptions,
    listener: TcpListener,
    stop: CancellationToken,
    handle: F,
) -> JoinHandle<()>
where
    F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    serve_tls(what, options, None, listener, stop, handle)
}

/// [`serve`], over TLS when `tls` is given (confighttp's `tls` block, see
/// [`crate::util::tls::TlsServerConfig::acceptor`]): each connection's handshake runs in its
/// own task, bounded by [`crate::util::tls::HANDSHAKE_TIMEOUT`], so a slow client does not
/// hold up the accept loop.
pub fn serve_tls<F, Fut>(
    what: &'static str,
    options: ServerOptions,
    tls: Option<TlsAcceptor>,
    listener: TcpListener,
    stop: CancellationToken,
    handle: F,
) -> JoinHandle<()>
where
    F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(options.keep_alive)
        .header_read_timeout(options.read_header_timeout);
    tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let handler = hyper::service::service_fn(handle.clone());
                        match &tls {
                            None => {
                                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), handler));
                                tokio::spawn(async move {
                                    if let Err(e) = conn.await {
                                        tracing::debug!(error = %e, "{what} connection ended with an error");
                                    }
                                });
                            }
                            Some(acceptor) => {
                                let watcher = graceful.watcher();
                                let acceptor = acceptor.clone();
                                let builder = builder.clone();
                                tokio::spawn(async move {
                                    let Some(stream) = acceptor.accept(stream, what, peer).await else {
                                        return;
                                    };
                                    let conn = watcher.watch(builder.serve_connection(TokioIo::new(stream), handler));
                                    if let Err(e) = conn.await {
                                        tracing::debug!(error = %e, "{what} connection ended with an error");
                                    }
                                });
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "{what} accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = stop.cancelled() => break,
            }
        }
        drop(listener);
        graceful.shutdown().await;
    })
}

/// Binds a Go-style listen address, preferring IPv4 for names such as `localhost` as Go
/// does; an empty host (`:1777`) is every interface, an empty address a free port on every
/// interface (Go's `net.Listen("tcp", "")`).
pub async fn bind(endpoint: &str) -> Result<tokio::net::TcpListener, String> {
    let addr = if endpoint.is_empty() {
        "0.0.0.0:0".to_string()
    } else if endpoint.starts_with(':') {
        format!("0.0.0.0{endpoint}")
    } else {
        endpoint.to_string()
    };
    let mut candidates: Vec<SocketAddr> = tokio::net::lookup_host(&addr)
        .await
        .map_err(|e| format!("listen tcp {endpoint}: {e}"))?
        .collect();
    candidates.sort_by_key(|a| !a.is_ipv4());
    let mut last = format!("listen tcp {endpoint}: no address");
    for a in candidates {
        match tokio::net::TcpListener::bind(a).await {
            Ok(l) => return Ok(l),
            Err(e) => last = format!("listen tcp {a}: {e}"),
        }
    }
    Err(last)
}
