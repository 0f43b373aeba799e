pub mod basicauth;
pub mod bearertokenauth;
pub mod embedded_store;
pub mod file_storage;
pub mod headers_setter;
pub mod health_check;
pub mod healthcheckv2;
pub mod pprof;
pub mod zpages;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::util::http_server::{self, ServerOptions};
use crate::util::tls::ServerTls as TlsAcceptor;

pub(crate) type HttpResponse = http::Response<Full<Bytes>>;

/// The HTTP server of an extension (pprof, zpages, healthcheckv2): bound at start, stopped
/// gracefully at shutdown, its address known for tests that bind port 0.
#[derive(Default)]
pub(crate) struct ExtensionServer {
    running: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
    addr: Mutex<Option<SocketAddr>>,
}

impl ExtensionServer {
    pub async fn start<F, Fut>(
        &self,
        what: &'static str,
        endpoint: &str,
        handle: F,
    ) -> Result<SocketAddr, String>
    where
        F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HttpResponse, Infallible>> + Send + 'static,
    {
        self.start_tls(what, endpoint, None, handle).await
    }

    /// [`ExtensionServer::start`] over TLS when given the acceptor of the confighttp `tls`
    /// block ([`crate::util::tls::TlsServerConfig::acceptor`]).
    pub async fn start_tls<F, Fut>(
        &self,
        what: &'static str,
        endpoint: &str,
        tls: Option<TlsAcceptor>,
        handle: F,
    ) -> Result<SocketAddr, String>
    where
        F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HttpResponse, Infallible>> + Send + 'static,
    {
        let listener = http_server::bind(endpoint).await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let stop = CancellationToken::new();
        let task = http_server::serve_tls(
            what,
            ServerOptions::default(),
            tls,
            listener,
            stop.clone(),
            handle,
        );
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, task));
        Ok(addr)
    }

    pub async fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, task)) = running {
            stop.cancel();
            let _ = task.await;
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A response with a body and content type.
pub(crate) fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
    let mut r = http::Response::new(Full::new(body.into()));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

/// Go's `http.NotFound`.
pub(crate) fn not_found() -> HttpResponse {
    let mut r = respond(404, "text/plain; charset=utf-8", "404 page not found\n");
    r.headers_mut().insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    r
}

/// Escapes text for HTML.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The value of query parameter `key`, percent-decoded, if present.
pub(crate) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    let q = query?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A host whose extensions are built from `(id, yaml)` through the registry and started,
/// for tests of components that resolve extensions (authenticators) at start.
#[cfg(test)]
pub(crate) async fn test_host(extensions: &[(&str, &str)]) -> runtime::Host {
    use runtime::registry::Lookup;
    let r = crate::registry();
    let mut host = runtime::Host::default();
    for (id, yaml) in extensions {
        let id = ::config::ComponentId::parse(id).expect("test id");
        let Lookup::Found(f) = r.lookup_extension(&id.type_) else {
            panic!("{id} is not registered");
        };
        let cfg = f
            .parse_config(&::config::Value::from_yaml_str(yaml).unwrap(), "test")
            .unwrap_or_else(|e| panic!("{e}"));
        let set = runtime::factory::Settings {
            id: id.clone(),
            kind: runtime::Kind::Extension,
            telemetry: runtime::Telemetry::default(),
        };
        let ext = f.create(set, &cfg).expect("create extension");
        ext.start(&host).await.expect("start extension");
        host.extensions.insert(id, ext);
    }
    host
}

#[cfg(test)]
mod tests {
    use runtime::factory::Settings;
    use runtime::registry::Lookup;
    use runtime::{Kind, Telemetry};

    /// Each new extension is registered under Go's type name and builds from its default
    /// config through the registry's factory.
    #[test]
    fn registry_builds_pprof_zpages_and_healthcheckv2_from_their_defaults() {
        let r = crate::registry();
        for (ty, stability) in [
            ("pprof", "Beta"),
            ("zpages", "Beta"),
            ("healthcheckv2", "Development"),
        ] {
            let Lookup::Found(f) = r.lookup_extension(ty) else {
                panic!("{ty} is not registered");
            };
            assert_eq!(f.type_name(), ty);
            assert_eq!(f.stability().as_str(), stability);
            let cfg = f
                .parse_config(&::config::Value::Null, &format!("extensions::{ty}"))
                .unwrap();
            let set = Settings {
                id: ::config::ComponentId::parse(ty).unwrap(),
                kind: Kind::Extension,
                telemetry: Telemetry::default(),
            };
            let ext = f.create(set, &cfg).unwrap();
            let any = ext.as_any();
            let right_type = match ty {
                "pprof" => any.is::<super::pprof::Pprof>(),
                "zpages" => any.is::<super::zpages::ZPages>(),
                _ => any.is::<super::healthcheckv2::HealthCheckV2>(),
            };
            assert!(right_type, "{ty}");
        }
    }
    #[test]
    fn query_params_are_found_and_percent_decoded() {
        let q = Some("seconds=5&pipeline=traces%2Fout&verbose&x=a+b&bad=%zz&tail=%4");
        for (key, want) in [
            ("seconds", Some("5")),
            ("pipeline", Some("traces/out")),
            ("verbose", Some("")),
            ("x", Some("a b")),
            ("bad", Some("%zz")),
            ("tail", Some("%4")),
            ("missing", None),
        ] {
            assert_eq!(super::query_param(q, key).as_deref(), want, "{key}");
        }
        assert_eq!(super::query_param(None, "seconds"), None);
        assert_eq!(
            super::html_escape("<a href=\"x\">&'"),
            "&lt;a href=&#34;x&#34;&gt;&amp;&#39;"
        );
    }
}
