//! Lines to requests: each token is one OTLP/JSON export request, decoded for every signal
//! the receiver serves, given the file's attributes, and consumed synchronously from the
//! reading thread (one request per line, as Go does).

use std::sync::Arc;

use fileconsumer::{Body, Emit, EmitError, Token};
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::{Batch, Request, Signal};
use runtime::factory::ReceiverOutputs;
use runtime::telemetry::ReceiverMetrics;

pub(super) struct Persister(pub Arc<dyn runtime::storage::StorageClient>);

impl fileconsumer::Persister for Persister {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.get(key).map_err(|e| e.to_string())
    }
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), String> {
        self.0.set(key, value).map_err(|e| e.to_string())
    }
}

pub(super) struct JsonLines {
    pub outputs: ReceiverOutputs,
    pub handle: tokio::runtime::Handle,
    pub metrics: ReceiverMetrics,
    pub id: String,
}

/// The top-level key of each signal's request, in both spellings the decoder accepts: a
/// line without it cannot hold data of that signal, so it is not decoded for it.
fn mentions(line: &[u8], signal: Signal) -> bool {
    let keys: [&[u8]; 2] = match signal {
        Signal::Traces => [b"resourceSpans", b"resource_spans"],
        Signal::Metrics => [b"resourceMetrics", b"resource_metrics"],
        Signal::Logs => [b"resourceLogs", b"resource_logs"],
        Signal::Profiles => return false,
    };
    keys.iter().any(|k| line.windows(k.len()).any(|w| w == *k))
}

impl Emit for JsonLines {
    fn emit(&mut self, batch: &mut Vec<Token>) -> Result<(), EmitError> {
        for token in batch.drain(..) {
            let line: &[u8] = match &token.body {
                Body::Text(s) => s.as_bytes(),
                Body::Bytes(b) => b,
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let attrs = file_attributes(&token);
            for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
                if self.outputs.get(signal).is_none() || !mentions(line, signal) {
                    continue;
                }
                self.deliver(signal, line, &attrs);
            }
        }
        Ok(())
    }
}

impl JsonLines {
    fn deliver(&self, signal: Signal, line: &[u8], attrs: &[KeyValue]) {
        let Some(consumer) = self.outputs.get(signal) else {
            return;
        };
        let mut req = match pdata::json::decode(signal, line) {
            Ok(r) => r,
            Err(e) => {
                self.metrics.refused(signal, 0);
                tracing::error!(receiver = %self.id, error = %e, "failed to decode an OTLP/JSON line; skipping it");
                return;
            }
        };
        let n = req.item_count();
        let empty = match &req {
            Request::Traces(t) => t.resource_spans.is_empty(),
            Request::Metrics(m) => m.resource_metrics.is_empty(),
            Request::Logs(l) => l.resource_logs.is_empty(),
            Request::Profiles(p) => p.resource_profiles.is_empty(),
        };
        if empty {
            return;
        }
        add_attributes(&mut req, attrs);
        match self
            .handle
            .block_on(consumer.consume(Batch::from_request(req)))
        {
            Ok(()) => self.metrics.accepted(signal, n),
            Err(e) => {
                let rejected = match e.kind {
                    runtime::ErrorKind::Partial { rejected } => rejected as usize,
                    _ => n,
                };
                self.metrics.accepted(signal, n.saturating_sub(rejected));
                self.metrics.refused(signal, rejected);
                tracing::error!(receiver = %self.id, error = %e, dropped_items = rejected, "Failed to send {} downstream; dropping them", signal.as_str());
            }
        }
    }
}

/// The token's attributes as OTLP values (strings, integers, doubles and booleans, the
/// types Go copies). Go's `log.file.record_number`/`record_offset` are int64 values its
/// type switch does not copy, so they are left out here too.
fn file_attributes(token: &Token) -> Vec<KeyValue> {
    token
        .attributes
        .iter()
        .filter_map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => any_value::Value::StringValue(s.clone()),
                serde_json::Value::Bool(b) => any_value::Value::BoolValue(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => any_value::Value::IntValue(i),
                    None => any_value::Value::DoubleValue(n.as_f64()?),
                },
                _ => return None,
            };
            Some(KeyValue {
                key: k.clone(),
                value: Some(AnyValue { value: Some(value) }),
                ..Default::default()
            })
        })
        .collect()
}

/// `PutStr` and friends: an existing key's value is replaced, a new key appended.
fn put_all(target: &mut Vec<KeyValue>, attrs: &[KeyValue]) {
    for kv in attrs {
        match target.iter_mut().find(|t| t.key == kv.key) {
            Some(t) => t.value = kv.value.clone(),
            None => target.push(kv.clone()),
        }
    }
}

fn add_attributes(req: &mut Request, attrs: &[KeyValue]) {
    if attrs.is_empty() {
        return;
    }
    match req {
        Request::Profiles(_) => {}
        Request::Traces(t) => t
            .resource_spans
            .iter_mut()
            .flat_map(|r| r.scope_spans.iter_mut())
            .flat_map(|s| s.spans.iter_mut())
            .for_each(|s| put_all(&mut s.attributes, attrs)),
        Request::Metrics(m) => m
            .resource_metrics
            .iter_mut()
            .flat_map(|r| r.scope_metrics.iter_mut())
            .flat_map(|s| s.metrics.iter_mut())
            .for_each(|m| put_all(&mut m.metadata, attrs)),
        Request::Logs(l) => l
            .resource_logs
            .iter_mut()
            .flat_map(|r| r.scope_logs.iter_mut())
            .flat_map(|s| s.log_records.iter_mut())
            .for_each(|r| put_all(&mut r.attributes, attrs)),
    }
}
