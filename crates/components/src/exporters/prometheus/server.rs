//! The pull side: the accumulated state behind a mutex, fed by the push, and the HTTP server
//! that renders it on `GET /metrics` (gzip when the scraper accepts it).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use pdata::{Batch, Request};
use promtranslate::accumulator::Accumulator;
use promtranslate::exposition;
use runtime::exporterhelper::Push;
use runtime::{ConsumeError, Host};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::compression::{self, Codec};
use crate::receivers::otlp::config::bind_address;
use crate::util::http_server;

/// What a scrape needs.
pub(crate) struct State {
    pub(crate) acc: Mutex<Accumulator>,
    pub(crate) settings: exposition::Settings,
    pub(crate) expiration: Duration,
    pub(crate) open_metrics: bool,
    /// confighttp's `response_headers`, on every answer.
    pub(crate) response_headers: http::HeaderMap,
}

impl State {
    /// The body and content type of a scrape.
    pub(crate) fn scrape(&self, accept: Option<&str>) -> (Vec<u8>, &'static str) {
        let format = exposition::negotiate(accept, self.open_metrics);
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        acc.expire(Instant::now(), self.expiration);
        // Rendered under the lock: a push waits for at most one scrape's rendering.
        let body = exposition::render(acc.series(), &self.settings, format);
        drop(acc);
        (body, format.content_type())
    }
}

/// The push side: each batch goes into the accumulator.
pub(crate) struct PromPush {
    pub(crate) state: Arc<State>,
    pub(crate) endpoint: String,
    /// `tls`: `/metrics` over HTTPS.
    pub(crate) tls: Option<crate::util::tls::TlsServerConfig>,
    running: Mutex<Option<(CancellationToken, JoinHandle<()>, SocketAddr)>>,
}

impl PromPush {
    pub(crate) fn new(state: Arc<State>, endpoint: String) -> PromPush {
        PromPush {
            state,
            endpoint,
            tls: None,
            running: Mutex::new(None),
        }
    }
}

#[async_trait]
impl Push for PromPush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let req = batch.request().map_err(|e| {
            ConsumeError::permanent(format!("failed to decode the metrics batch: {e}"))
        })?;
        let Request::Metrics(m) = &*req else {
            return Err(ConsumeError::permanent(
                "the prometheus exporter takes metrics only",
            ));
        };
        self.state
            .acc
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .accumulate(m, Instant::now());
        Ok(())
    }

    async fn start(&self, _host: &Host) -> Result<(), String> {
        let tls = match &self.tls {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_HTTP1)?),
            None => None,
        };
        let listener = TcpListener::bind(bind_address(&self.endpoint))
            .await
            .map_err(|e| format!("listen tcp {}: {e}", self.endpoint))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("listen tcp {}: {e}", self.endpoint))?;
        let stop = CancellationToken::new();
        let task = serve(self.state.clone(), tls, listener, stop.clone());
        if let Some((old, _, _)) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace((stop, task, addr))
        {
            old.cancel();
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, task, _)) = running {
            stop.cancel();
            let _ = task.await;
        }
        Ok(())
    }
}

fn serve(
    state: Arc<State>,
    tls: Option<crate::util::tls::ServerTls>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let options = http_server::ServerOptions::default();
    http_server::serve_tls(
        "prometheus exporter",
        options,
        tls,
        listener,
        stop,
        move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(&state, req)) }
        },
    )
}

fn handle<B>(state: &State, req: http::Request<B>) -> Response<Full<Bytes>> {
    let mut resp = answer(state, req);
    for (k, v) in &state.response_headers {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

fn answer<B>(state: &State, req: http::Request<B>) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return simple(StatusCode::NOT_FOUND, "404 page not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return simple(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let (body, ct) = state.scrape(accept);
    let gzip = req
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| e.split(';').next().map(str::trim) == Some("gzip"));
    let mut resp = Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, HeaderValue::from_static(ct));
    let body = if gzip {
        match compression::compress(Codec::Gzip, None, &body) {
            Ok(b) => {
                resp = resp.header(CONTENT_ENCODING, "gzip");
                b
            }
            Err(_) => Bytes::from(body),
        }
    } else {
        Bytes::from(body)
    };
    resp.body(Full::new(body))
        .unwrap_or_else(|_| simple(StatusCode::INTERNAL_SERVER_ERROR, "response error\n"))
}

fn simple(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
