//! The `loki` push: translate a batch into one Loki push request per tenant, POST each
//! (protobuf + snappy; requests already queued together go as one, see
//! [`LokiPush::merge_prepared`]), and classify the answers as Go's `lokiexporter.sendPushRequest`
//! does: 2xx is success, 4xx other than 429 is permanent, everything else (429, 5xx, no
//! answer) is retryable; `Retry-After` is honoured as the minimum wait.
//!
//! Accounting, decided here (Go drops or re-sends whole batches): records that cannot be
//! converted or have no label are counted as failed and the rest is sent; when some
//! tenants' requests fail permanently and the others are accepted, the failed tenants'
//! records are counted as failed (a partial success) and nothing is sent again.
//! A retryable failure of any tenant retries the batch; the factory splits batches by
//! tenant before the queue so that a retry re-sends only that tenant's records.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use pdata::{Batch, Request};
use runtime::exporterhelper::{MergeLimit, Prepared, Push};
use runtime::{ConsumeError, telemetry::Counter};

use super::config::{Config, DefaultLabels};
use super::proto;
use super::{entries, translate};
use crate::compression;
use crate::util::http_client::{self, Chunks, HttpCompression, error_chain};

/// Go reads at most this much of an error answer, and uses its first line.
const MAX_ERR_MSG_LEN: usize = 1024;

pub(crate) struct LokiPush {
    client: reqwest::Client,
    url: String,
    /// `url` parsed once (reqwest would parse the text on every request); `None` when it
    /// does not parse, and then sending reports reqwest's error as before.
    target: Option<reqwest::Url>,
    headers: HeaderMap,
    auth: http_client::ClientAuth,
    compression: HttpCompression,
    level: Option<i32>,
    defaults: DefaultLabels,
    id: Arc<str>,
    missing_labels: Counter,
}

impl LokiPush {
    pub(crate) fn new(cfg: &Config, id: &str, missing_labels: Counter) -> Result<LokiPush, String> {
        Ok(LokiPush {
            client: http_client::build_client(&cfg.client_settings(), &cfg.client.endpoint)?,
            url: cfg.client.endpoint.clone(),
            target: reqwest::Url::parse(&cfg.client.endpoint).ok(),
            headers: http_client::header_map(&cfg.client.headers)?,
            auth: http_client::ClientAuth::new(cfg.client.auth.as_ref()),
            compression: cfg.compression()?,
            level: cfg.client.compression_params.level,
            defaults: cfg.default_labels(),
            id: Arc::from(id),
            missing_labels,
        })
    }

    /// The body to POST: the push body, compressed again as configured (`compression`,
    /// off by default), once per request.
    fn wire_body(&self, part: &Part) -> Result<reqwest::Body, ConsumeError> {
        let Some(codec) = self.compression.codec() else {
            return Ok(part.body.body());
        };
        if let Some(b) = part.wire.get() {
            return Ok(b.clone().into());
        }
        let body =
            compression::compress(codec, self.level, &part.body.contiguous()).map_err(|e| {
                ConsumeError::permanent(format!("failed to compress the request body: {e}"))
            })?;
        Ok(part.wire.get_or_init(|| body).clone().into())
    }

    /// Translates a batch into the push bodies to send, logging and counting the records
    /// that cannot be sent. Fails (permanently) when no record can be sent at all.
    fn build(&self, batch: &Batch) -> Result<LokiRequest, ConsumeError> {
        // A receiver's entries, written without converting them when the shortcut covers
        // them (super::entries); otherwise the OTLP request.
        let direct = batch
            .with_lazy_logs(|logs| entries::entries_to_loki(logs, self.defaults, &now_nanos))
            .flatten();
        let tenants = match direct {
            Some(t) => t,
            None => {
                let req = batch.request().map_err(|e| {
                    ConsumeError::permanent(format!("failed to decode the logs batch: {e}"))
                })?;
                let Request::Logs(logs) = &*req else {
                    return Err(ConsumeError::permanent("the loki exporter takes logs only"));
                };
                translate::logs_to_loki(logs, self.defaults, &now_nanos)
            }
        };
        let mut unsent = 0usize;
        let mut missing = 0usize;
        for t in &tenants {
            missing += t.missing_labels;
            unsent += t.dropped + t.missing_labels;
            if t.dropped > 0 || t.missing_labels > 0 {
                tracing::info!(
                    otelcol.component.id = %self.id,
                    otelcol.component.kind = "exporter",
                    otelcol.signal = "logs",
                    dropped = t.dropped + t.missing_labels,
                    submitted = t.submitted,
                    error = t.first_error.as_deref().unwrap_or("no label left for the record"),
                    "not all log entries were converted to Loki"
                );
            }
        }
        self.missing_labels.add(missing as u64);
        let mut parts = Vec::with_capacity(tenants.len());
        for t in &tenants {
            let body = if t.written.streams() > 0 {
                t.written.encode()
            } else if !t.request.streams.is_empty() {
                proto::encode(&t.request)
            } else {
                continue;
            };
            parts.push(Part {
                body: body
                    .map_err(|e| ConsumeError::permanent(e.to_string()))?
                    .into(),
                wire: OnceLock::new(),
                tenant: t.tenant.clone(),
                submitted: t.submitted,
            });
        }
        if parts.is_empty() {
            return Err(ConsumeError::permanent(
                "failed to transform logs into Loki log streams",
            ));
        }
        Ok(LokiRequest {
            parts,
            unsent,
            total: batch.item_count(),
            client: batch.client_info().cloned(),
        })
    }

    /// Sends every tenant's part and accounts for the outcome (see the module docs).
    async fn send_request(&self, r: &LokiRequest) -> Result<(), ConsumeError> {
        let results =
            futures::future::join_all(r.parts.iter().map(|p| self.send(p, r.client.as_deref())))
                .await;
        let mut errors = Vec::new();
        let mut rejected = r.unsent;
        let mut retry = false;
        for (p, res) in r.parts.iter().zip(results) {
            if let Err(e) = res {
                retry |= e.is_retryable();
                rejected += p.submitted;
                errors.push(e);
            }
        }
        if retry {
            // Retryable wins (ConsumeError::combine): the sender tries again.
            return Err(ConsumeError::combine(errors).expect("at least one error"));
        }
        if rejected == 0 {
            return Ok(());
        }
        if rejected >= r.total && !errors.is_empty() {
            return Err(ConsumeError::combine(errors).expect("at least one error"));
        }
        let message = match ConsumeError::combine(errors) {
            Some(e) => e.message,
            None => format!("{rejected} log records could not be converted to Loki entries"),
        };
        Err(ConsumeError::partial(rejected as u64, message))
    }

    /// POSTs `body` to the push endpoint.
    async fn post(
        &self,
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, ConsumeError> {
        let post = match &self.target {
            Some(url) => self.client.post(url.clone()),
            None => self.client.post(&self.url),
        };
        post.headers(headers).body(body).send().await.map_err(|e| {
            ConsumeError::retryable(format!("Post {:?}: {}", self.url, error_chain(&e)))
        })
    }

    /// Sends one tenant's request.
    async fn send(&self, t: &Part, client: Option<&pdata::ClientInfo>) -> Result<(), ConsumeError> {
        let body = self.wire_body(t)?;
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 3);
        self.auth.apply(&mut headers, client)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if !t.tenant.is_empty() {
            let v = HeaderValue::try_from(t.tenant.as_str()).map_err(|_| {
                ConsumeError::permanent(format!("invalid tenant {:?} for X-Scope-OrgID", t.tenant))
            })?;
            headers.insert("x-scope-orgid", v);
        }
        if let Some(enc) = self.compression.content_encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
        // confighttp sets the configured headers last, in its round tripper: they win.
        for (k, v) in &self.headers {
            headers.insert(k.clone(), v.clone());
        }
        let chunked = self.compression.codec().is_none() && t.body.chunks().len() > 1;
        let again = chunked.then(|| headers.clone());
        let mut resp = self.post(headers, body).await?;
        // The client follows a redirect of a POST (307, 308: a proxy sending http on to
        // https, say) only with a body it can send again, which a body in chunks is not; Go's
        // client sends the body again. Sent again here in one piece, which it follows.
        if let Some(headers) = again
            && matches!(resp.status().as_u16(), 307 | 308)
        {
            resp = self.post(headers, t.body.contiguous().into()).await?;
        }
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = http_client::retry_after(&resp);
        let (body, _) = http_client::read_body(&mut resp, MAX_ERR_MSG_LEN).await;
        let code = status.as_u16();
        let message = format!("HTTP {code} {:?}: {}", status_text(code), first_line(&body));
        if (400..500).contains(&code) && code != 429 {
            return Err(ConsumeError::permanent(message));
        }
        Err(match retry_after {
            Some(d) => ConsumeError::throttled(message, d),
            None => ConsumeError::retryable(message),
        })
    }
}

/// Go's `http.StatusText` (which differs from the `http` crate's reasons in a few places).
fn status_text(code: u16) -> &'static str {
    match code {
        413 => "Request Entity Too Large",
        416 => "Requested Range Not Satisfiable",
        c => http::StatusCode::from_u16(c)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    }
}

/// The first line of an answer, as `bufio.Scanner` gives it.
fn first_line(body: &[u8]) -> String {
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = &body[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl Push for LokiPush {
    async fn start(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let r = self.build(batch)?;
        self.send_request(&r).await
    }

    /// The queue holds the compressed push bodies: a fraction of the decoded batch's memory,
    /// translated once however often they are retried.
    fn prepare(&self, batch: &Batch) -> Option<Result<Prepared, ConsumeError>> {
        Some(self.build(batch).map(|r| Prepared {
            items: batch.item_count(),
            bytes: r.parts.iter().map(|p| p.body.len()).sum(),
            request: Box::new(r),
        }))
    }

    async fn push_prepared(&self, request: &Prepared) -> Result<(), ConsumeError> {
        self.send_request(request.get::<LokiRequest>()?).await
    }

    /// Requests of up to [`MERGE_BYTES`], gathered for up to [`MERGE_WAIT`]. A node agent
    /// reading a backlog hands over a request per 100 lines (Go's batch of file tokens).
    fn merge_limit(&self) -> MergeLimit {
        MergeLimit {
            bytes: MERGE_BYTES,
            wait: MERGE_WAIT,
        }
    }

    /// Requests taken together from the queue go as one push per tenant, with nothing
    /// translated or compressed again: the protobuf encodings of `PushRequest`s
    /// concatenated are the `PushRequest` of all their streams (a repeated field's
    /// encodings add up), and snappy bodies join without decompressing
    /// ([`pdata::snappy::concat_parts`]). Requests of another client (its auth headers) are not
    /// merged.
    fn merge_prepared(&self, requests: Vec<Prepared>) -> Vec<Prepared> {
        merge(requests)
    }
}

/// Compressed bytes of push requests merged into one (see [`LokiPush::merge_prepared`]).
pub(crate) const MERGE_BYTES: usize = 256 << 10;
/// How long a queue worker waits for more requests to merge.
pub(crate) const MERGE_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// [`LokiPush::merge_prepared`]: consecutive requests of one client merged, each tenant's
/// bodies concatenated in order.
fn merge(requests: Vec<Prepared>) -> Vec<Prepared> {
    struct Group {
        client: Option<Arc<pdata::ClientInfo>>,
        /// Each tenant's bodies with their record counts, in order.
        tenants: Vec<(String, Vec<(Chunks, usize)>)>,
        unsent: usize,
        total: usize,
        items: usize,
    }
    let same_client =
        |a: &Option<Arc<pdata::ClientInfo>>, b: &Option<Arc<pdata::ClientInfo>>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
    let mut out: Vec<Prepared> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for p in requests {
        let items = p.items;
        let r = match p.request.downcast::<LokiRequest>() {
            Ok(r) => *r,
            Err(other) => {
                out.push(Prepared {
                    items,
                    bytes: p.bytes,
                    request: other,
                });
                continue;
            }
        };
        let g = match groups
            .last_mut()
            .filter(|g| same_client(&g.client, &r.client))
        {
            Some(g) => g,
            None => {
                groups.push(Group {
                    client: r.client.clone(),
                    tenants: Vec::new(),
                    unsent: 0,
                    total: 0,
                    items: 0,
                });
                groups.last_mut().expect("pushed above")
            }
        };
        g.unsent += r.unsent;
        g.total += r.total;
        g.items += items;
        for part in r.parts {
            match g.tenants.iter_mut().find(|(t, _)| *t == part.tenant) {
                Some((_, bodies)) => bodies.push((part.body, part.submitted)),
                None => g
                    .tenants
                    .push((part.tenant, vec![(part.body, part.submitted)])),
            }
        }
    }
    for g in groups {
        let parts: Vec<Part> = g
            .tenants
            .into_iter()
            .flat_map(|(tenant, bodies)| match join(&bodies) {
                Some(body) => vec![Part {
                    body,
                    wire: OnceLock::new(),
                    tenant,
                    submitted: bodies.iter().map(|(_, n)| n).sum(),
                }],
                // Not snappy bodies (ours always are): sent one by one.
                None => bodies
                    .into_iter()
                    .map(|(body, submitted)| Part {
                        body,
                        wire: OnceLock::new(),
                        tenant: tenant.clone(),
                        submitted,
                    })
                    .collect(),
            })
            .collect();
        out.push(Prepared {
            items: g.items,
            bytes: parts.iter().map(|p| p.body.len()).sum(),
            request: Box::new(LokiRequest {
                parts,
                unsent: g.unsent,
                total: g.total,
                client: g.client,
            }),
        });
    }
    out
}

/// One snappy body for several, sent as chunks: the joined length header, then each body's
/// elements ([`pdata::snappy::concat_parts`]), nothing copied. A body that is itself joined
/// starts with its own length header chunk, which the joined one replaces.
fn join(bodies: &[(Chunks, usize)]) -> Option<Chunks> {
    if let [(one, _)] = bodies {
        return Some(one.clone());
    }
    let firsts: Vec<&[u8]> = bodies
        .iter()
        .map(|(b, _)| b.chunks().first().map_or(&[][..], |c| &c[..]))
        .collect();
    let (header, starts) = pdata::snappy::concat_parts(&firsts)?;
    let mut chunks = vec![Bytes::from(header)];
    for ((b, _), start) in bodies.iter().zip(starts) {
        let (first, rest) = b.chunks().split_first()?;
        chunks.push(first.slice(start..));
        chunks.extend(rest.iter().cloned());
    }
    Some(Chunks::new(chunks))
}

/// A batch translated for Loki: one compressed push body per tenant.
struct LokiRequest {
    parts: Vec<Part>,
    /// Records that could not be converted (counted as failed when the rest is sent).
    unsent: usize,
    /// Records of the batch.
    total: usize,
    client: Option<std::sync::Arc<pdata::ClientInfo>>,
}

struct Part {
    tenant: String,
    /// The `PushRequest`, protobuf and snappy (in chunks when joined).
    body: Chunks,
    /// `body` compressed as configured, once made ([`LokiPush::wire_body`]).
    wire: OnceLock<Bytes>,
    /// Records in `body`.
    submitted: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A prepared one-part request of `n` records in one stream named `labels`.
    fn prepared(labels: &str, n: usize, client: Option<Arc<pdata::ClientInfo>>) -> Prepared {
        let request = proto::PushRequest {
            streams: vec![proto::Stream {
                labels: labels.into(),
                entries: (0..n)
                    .map(|i| proto::Entry {
                        timestamp: proto::Timestamp::from_unix_nanos(i as i64),
                        line: format!("{labels} {i}"),
                        structured_metadata: Vec::new(),
                    })
                    .collect(),
                hash: 0,
            }],
        };
        let body = proto::encode(&request).unwrap();
        Prepared {
            items: n,
            bytes: body.len(),
            request: Box::new(LokiRequest {
                parts: vec![Part {
                    tenant: String::new(),
                    body: body.into(),
                    wire: OnceLock::new(),
                    submitted: n,
                }],
                unsent: 0,
                total: n,
                client,
            }),
        }
    }

    /// Consecutive requests of one client become one push whose body Loki reads as all
    /// their streams, counted as their records; another client's request stays apart.
    #[test]
    fn merged_requests_are_one_push_per_client_in_order() {
        let other = Some(Arc::new(pdata::ClientInfo::default()));
        let merged = merge(vec![
            prepared("{a=\"1\"}", 2, None),
            prepared("{a=\"2\"}", 3, None),
            prepared("{a=\"3\"}", 1, other.clone()),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged.iter().map(|p| p.items).collect::<Vec<_>>(), [5, 1]);
        let first = merged[0].get::<LokiRequest>().unwrap();
        assert_eq!((first.parts.len(), first.total), (1, 5));
        assert_eq!(first.parts[0].submitted, 5);
        // Joined without a copy: the joined length, then each body's elements.
        assert_eq!(first.parts[0].body.chunks().len(), 3);
        assert_eq!(
            lines_of(&first.parts[0].body),
            [
                "{a=\"1\"} 0",
                "{a=\"1\"} 1",
                "{a=\"2\"} 0",
                "{a=\"2\"} 1",
                "{a=\"2\"} 2"
            ]
        );
        let second = merged[1].get::<LokiRequest>().unwrap();
        assert!(second.client.is_some());
        assert_eq!(second.total, 1);
    }

    fn lines_of(body: &Chunks) -> Vec<String> {
        proto::decode(&body.contiguous())
            .unwrap()
            .streams
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.line.clone()))
            .collect()
    }

    /// A joined body joined again (a merged request merged with another): its own length
    /// header gives way to the new one, and the push still reads as every line in order.
    #[test]
    fn a_merged_request_merges_again() {
        let once = merge(vec![
            prepared("{a=\"1\"}", 2, None),
            prepared("{a=\"2\"}", 1, None),
        ]);
        let twice = merge(
            once.into_iter()
                .chain([prepared("{a=\"3\"}", 2, None)])
                .chain(merge(vec![
                    prepared("{a=\"4\"}", 1, None),
                    prepared("{a=\"5\"}", 1, None),
                ]))
                .collect(),
        );
        assert_eq!(twice.len(), 1);
        let r = twice[0].get::<LokiRequest>().unwrap();
        assert_eq!((r.parts.len(), r.total, r.parts[0].submitted), (1, 7, 7));
        assert_eq!(
            r.parts[0].body.chunks().len(),
            1 + 5,
            "one header, five bodies' elements"
        );
        assert_eq!(
            lines_of(&r.parts[0].body),
            [
                "{a=\"1\"} 0",
                "{a=\"1\"} 1",
                "{a=\"2\"} 0",
                "{a=\"3\"} 0",
                "{a=\"3\"} 1",
                "{a=\"4\"} 0",
                "{a=\"5\"} 0"
            ]
        );
    }

    #[test]
    fn error_text_is_gos() {
        assert_eq!(status_text(400), "Bad Request");
        assert_eq!(status_text(429), "Too Many Requests");
        assert_eq!(status_text(413), "Request Entity Too Large");
        assert_eq!(status_text(599), "");
        assert_eq!(
            first_line(b"entry too far behind\r\nsecond"),
            "entry too far behind"
        );
    }
}
