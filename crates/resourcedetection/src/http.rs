//! Metadata requests: one GET or PUT with headers, bounded by the detection deadline and by a
//! body limit. Never proxied: metadata addresses are link-local (or loopback in tests), and a
//! proxy from `HTTP_PROXY` would carry the request off the host.

use std::time::Duration;

use tokio::time::Instant;

/// Metadata documents are small; a larger answer is not a metadata service.
const MAX_BODY: usize = 4 << 20;

pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

#[derive(Clone)]
pub(crate) struct Client {
    inner: reqwest::Client,
}

/// TLS for the Kubernetes API: a CA file (PEM) and/or no verification.
#[derive(Default)]
pub(crate) struct Tls {
    pub ca_pem: Option<Vec<u8>>,
    pub insecure_skip_verify: bool,
}

impl Client {
    pub fn new(timeout: Duration) -> Result<Client, String> {
        Client::with_tls(timeout, Tls::default())
    }

    pub fn with_tls(timeout: Duration, tls: Tls) -> Result<Client, String> {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .user_agent(concat!("ferrotel/", env!("CARGO_PKG_VERSION")));
        if !timeout.is_zero() {
            b = b.timeout(timeout);
        }
        if let Some(pem) = tls.ca_pem {
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("failed to load CA certificate: {e}"))?;
            b = b.add_root_certificate(cert);
        }
        if tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        b.build()
            .map(|inner| Client { inner })
            .map_err(|e| format!("failed to build the metadata HTTP client: {e}"))
    }

    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Answer, String> {
        self.send(reqwest::Method::GET, url, headers, deadline)
            .await
    }

    pub async fn put(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Answer, String> {
        self.send(reqwest::Method::PUT, url, headers, deadline)
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Answer, String> {
        let mut req = self.inner.request(method.clone(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let call = async {
            let mut resp = req.send().await.map_err(|e| error_text(&e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| error_text(&e))? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(format!("response body larger than {MAX_BODY} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answer {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        match tokio::time::timeout_at(deadline, call).await {
            Ok(r) => r.map_err(|e| format!("{method} {url}: {e}")),
            Err(_) => Err(format!("{method} {url}: context deadline exceeded")),
        }
    }
}

/// The error with its causes (reqwest's top-level text alone says little).
fn error_text(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// A GET that must answer 200, as the SDK metadata clients require.
pub(crate) async fn get_ok(
    client: &Client,
    url: &str,
    headers: &[(&str, &str)],
    deadline: Instant,
) -> Result<String, String> {
    let a = client.get(url, headers, deadline).await?;
    if a.status != 200 {
        return Err(format!(
            "GET {url}: status code {}: {}",
            a.status,
            a.body.trim()
        ));
    }
    Ok(a.body)
}
