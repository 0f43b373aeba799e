//! [`Batch`]: encoded or decoded OTLP export request for one signal.

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use prost::Message;

use crate::lazy::LazyLogs;
use crate::proto::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    profiles::v1development::ExportProfilesServiceRequest, trace::v1::ExportTraceServiceRequest,
};
use crate::{ClientInfo, PdataError, Signal, scan};

/// A decoded OTLP export request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
    /// Decoded with this build's profiles schema: fields of another release are lost, so the
    /// pipeline keeps profiles encoded and decodes only to look (the debug exporter).
    Profiles(ExportProfilesServiceRequest),
}

impl Request {
    pub fn signal(&self) -> Signal {
        match self {
            Request::Traces(_) => Signal::Traces,
            Request::Metrics(_) => Signal::Metrics,
            Request::Logs(_) => Signal::Logs,
            Request::Profiles(_) => Signal::Profiles,
        }
    }

    pub fn decode(signal: Signal, bytes: &[u8]) -> Result<Request, PdataError> {
        let err = |e: prost::DecodeError| PdataError::Protobuf(e.to_string());
        Ok(match signal {
            Signal::Traces => {
                Request::Traces(ExportTraceServiceRequest::decode(bytes).map_err(err)?)
            }
            Signal::Metrics => {
                Request::Metrics(ExportMetricsServiceRequest::decode(bytes).map_err(err)?)
            }
            Signal::Logs => Request::Logs(ExportLogsServiceRequest::decode(bytes).map_err(err)?),
            Signal::Profiles => {
                Request::Profiles(ExportProfilesServiceRequest::decode(bytes).map_err(err)?)
            }
        })
    }

    pub fn encode_to_vec(&self) -> Vec<u8> {
        match self {
            Request::Traces(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
            Request::Logs(r) => r.encode_to_vec(),
            Request::Profiles(r) => r.encode_to_vec(),
        }
    }

    /// Spans, metric data points or log records in this request.
    pub fn item_count(&self) -> usize {
        scan::count_decoded(self)
    }
}

/// A batch of telemetry for one signal. Cloning is cheap (reference counts); the decoded
/// form is copied only when a clone is mutated ([`Batch::request_mut`]).
///
/// Both forms are computed at most once and shared by the clones that hold the same data:
/// the decoded form by [`Batch::request`], the encoding by [`Batch::encoded`] (so two
/// exporters of a batch that a processor changed encode it once). [`Batch::request_mut`]
/// detaches the batch from its clones first: they keep the old data and its encoding.
#[derive(Debug, Clone)]
pub struct Batch {
    signal: Signal,
    items: usize,
    /// Invariant: at least one of `encoded` and `decoded` is set, and when both are they hold
    /// the same request; or neither is, and `lazy` holds the logs.
    encoded: Arc<OnceLock<Bytes>>,
    decoded: Arc<OnceLock<Arc<Request>>>,
    /// Logs not converted to OTLP yet ([`Batch::from_lazy_logs`]); taken (and `decoded`
    /// set, under the lock) the first time the request is needed.
    lazy: Option<Arc<Mutex<Option<LazyLogs>>>>,
    /// Who sent it, when a receiver keeps that (`include_metadata`); `None` costs nothing.
    client: Option<Arc<ClientInfo>>,
}

fn cell_with<T>(value: T) -> Arc<OnceLock<T>> {
    Arc::new(OnceLock::from(value))
}

impl Batch {
    /// Wraps an encoded export request after checking its structure and counting its items.
    pub fn from_encoded(signal: Signal, bytes: Bytes) -> Result<Batch, PdataError> {
        let items = scan::validate_and_count(signal, &bytes)?;
        Ok(Batch {
            signal,
            items,
            encoded: cell_with(bytes),
            decoded: Arc::new(OnceLock::new()),
            lazy: None,
            client: None,
        })
    }

    pub fn from_request(request: Request) -> Batch {
        Batch {
            signal: request.signal(),
            items: request.item_count(),
            encoded: Arc::new(OnceLock::new()),
            decoded: cell_with(Arc::new(request)),
            lazy: None,
            client: None,
        }
    }

    /// Logs a receiver made in its own record form (see [`crate::lazy`]).
    pub fn from_lazy_logs(logs: LazyLogs) -> Batch {
        Batch {
            signal: Signal::Logs,
            items: logs.item_count(),
            encoded: Arc::new(OnceLock::new()),
            decoded: Arc::new(OnceLock::new()),
            lazy: Some(Arc::new(Mutex::new(Some(logs)))),
            client: None,
        }
    }

    /// Runs `f` on the logs in their receiver's form, while the batch still holds them so
    /// (no component asked for the OTLP request yet); `None` otherwise.
    pub fn with_lazy_logs<R>(&self, f: impl FnOnce(&LazyLogs) -> R) -> Option<R> {
        let cell = self.lazy.as_ref()?;
        let guard = cell.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(f)
    }

    /// The logs in their receiver's form, to change in place: only while the batch holds
    /// them so and shares them with no clone.
    pub fn lazy_logs_mut(&mut self) -> Option<&mut LazyLogs> {
        let cell = Arc::get_mut(self.lazy.as_mut()?)?;
        cell.get_mut().unwrap_or_else(|p| p.into_inner()).as_mut()
    }

    /// Converts lazy logs into the decoded request (once, for every clone).
    fn materialize(&self) {
        if self.decoded.get().is_some() {
            return;
        }
        let Some(cell) = &self.lazy else { return };
        // Converted under the lock: a clone that finds the logs gone finds `decoded` set.
        let mut guard = cell.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(logs) = guard.take() {
            let _ = self
                .decoded
                .set(Arc::new(Request::Logs(logs.into_request())));
        }
    }

    fn decoded_request(&self) -> &Request {
        self.materialize();
        self.decoded.get().expect("decoded when not encoded")
    }

    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Spans, metric data points or log records.
    pub fn item_count(&self) -> usize {
        self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// True while the batch holds its encoded form (received encoded, or encoded since the
    /// last change).
    pub fn is_encoded(&self) -> bool {
        self.encoded.get().is_some()
    }

    /// The protobuf encoding. A batch that exists only decoded is encoded once; the bytes
    /// are kept and shared with the clones that hold the same data.
    pub fn encoded(&self) -> Bytes {
        self.encoded
            .get_or_init(|| Bytes::from(self.decoded_request().encode_to_vec()))
            .clone()
    }

    /// Size in bytes of the encoded form, used for memory accounting and byte sizers.
    pub fn encoded_len(&self) -> usize {
        match self.encoded.get() {
            Some(b) => b.len(),
            None => match self.decoded_request() {
                Request::Traces(r) => r.encoded_len(),
                Request::Metrics(r) => r.encoded_len(),
                Request::Logs(r) => r.encoded_len(),
                Request::Profiles(r) => r.encoded_len(),
            },
        }
    }

    /// The decoded request, decoding at most once (shared by clones made before the call).
    pub fn request(&self) -> Result<Arc<Request>, PdataError> {
        self.materialize();
        if let Some(r) = self.decoded.get() {
            return Ok(r.clone());
        }
        let bytes = self.encoded.get().expect("encoded when not decoded");
        let req = Arc::new(Request::decode(self.signal, bytes)?);
        Ok(self.decoded.get_or_init(|| req).clone())
    }

    /// Mutable access to the decoded request. Drops the encoded form; copies the decoded form
    /// only if another clone still shares it. Clones made before the call keep the old data
    /// and its encoding; clones made after it share the new encoding once it is made.
    pub fn request_mut(&mut self) -> Result<&mut Request, PdataError> {
        let shared = self.request()?;
        self.lazy = None;
        match Arc::get_mut(&mut self.encoded) {
            Some(cell) => drop(cell.take()),
            None => self.encoded = Arc::new(OnceLock::new()),
        }
        drop(shared);
        let cell = Arc::make_mut(&mut self.decoded);
        let arc = cell.get_mut().expect("decoded above");
        let req = Arc::make_mut(arc);
        Ok(req)
    }

    /// Recounts items after a mutation through [`Batch::request_mut`].
    pub fn recount(&mut self) {
        if let Some(r) = self.decoded.get() {
            self.items = r.item_count();
        }
    }

    /// Consumes the batch and returns the owned decoded request.
    pub fn into_request(self) -> Result<Request, PdataError> {
        let arc = self.request()?;
        drop(self);
        Ok(Arc::try_unwrap(arc).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// Joins batches of one signal into one. Encoded batches are concatenated: an OTLP export
    /// request is a single repeated field, so the concatenation of encodings is the encoding of
    /// the merged request.
    pub fn concat(mut batches: Vec<Batch>) -> Batch {
        if batches.len() == 1
            && let Some(b) = batches.pop()
        {
            return b;
        }
        debug_assert!(batches.windows(2).all(|w| w[0].signal == w[1].signal));
        let signal = batches.first().map(|b| b.signal).unwrap_or(Signal::Traces);
        // The client info survives only when every part came from the same client (the
        // batch processor groups by `metadata_keys` before joining).
        let client = batches.first().and_then(|b| b.client.clone()).filter(|c| {
            batches.iter().all(|b| {
                b.client
                    .as_ref()
                    .is_some_and(|o| Arc::ptr_eq(o, c) || **o == **c)
            })
        });
        let items = batches.iter().map(|b| b.items).sum();
        let total: usize = batches.iter().map(|b| b.encoded_len()).sum();
        let mut buf = Vec::with_capacity(total);
        for b in &batches {
            buf.extend_from_slice(&b.encoded());
        }
        Batch {
            signal,
            items,
            encoded: cell_with(Bytes::from(buf)),
            decoded: Arc::new(OnceLock::new()),
            lazy: None,
            client,
        }
    }

    /// The client that sent this batch, when a receiver kept it (`include_metadata`).
    pub fn client_info(&self) -> Option<&Arc<ClientInfo>> {
        self.client.as_ref()
    }

    /// Sets (or clears) the client info that travels with this batch.
    pub fn set_client_info(&mut self, client: Option<Arc<ClientInfo>>) {
        self.client = client;
    }

    pub fn with_client_info(mut self, client: Option<Arc<ClientInfo>>) -> Batch {
        self.client = client;
        self
    }

    /// Splits into batches of at most `max_items` items (0 = no limit), every one full but
    /// the last, in order. Works on the encoded form ([`scan::split_encoded`]): resources that
    /// fit are copied as byte ranges, the others are cut at scope/item (data point) boundaries.
    pub fn split(self, max_items: usize) -> Vec<Batch> {
        if max_items == 0 || self.items <= max_items {
            return vec![self];
        }
        let signal = self.signal;
        let client = self.client.clone();
        scan::split_encoded(signal, &self.encoded(), max_items)
            .into_iter()
            .map(|(bytes, items)| Batch {
                signal,
                items,
                encoded: cell_with(bytes),
                decoded: Arc::new(OnceLock::new()),
                lazy: None,
                client: client.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn split_then_concat_round_trips() {
        for signal in Signal::ALL {
            let req = testdata::request(signal, 3, 17, 11);
            let bytes = Bytes::from(req.encode_to_vec());
            let batch = Batch::from_encoded(signal, bytes).unwrap();
            assert_eq!(batch.item_count(), req.item_count());
            let parts = batch.clone().split(10);
            assert_eq!(parts.len(), req.item_count().div_ceil(10));
            assert!(parts.iter().all(|p| p.is_encoded() && p.item_count() <= 10));
            let joined = Batch::concat(parts);
            assert_eq!(joined.item_count(), req.item_count());
            assert_eq!(joined.request().unwrap().item_count(), req.item_count());
            // Decoded batches split through their encoding too.
            let decoded = Batch::from_request(req.clone());
            let parts = decoded.split(7);
            assert_eq!(
                parts.iter().map(Batch::item_count).sum::<usize>(),
                req.item_count()
            );
        }
    }

    #[test]
    fn client_info_survives_split_and_concat_of_one_client_only() {
        let info = |t: &str| {
            let mut c = ClientInfo::default();
            c.push("X-Tenant", t.to_string());
            Some(Arc::new(c))
        };
        let req = testdata::request(Signal::Traces, 2, 10, 1);
        let batch = Batch::from_request(req).with_client_info(info("a"));
        let parts = batch.split(7);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.client_info() == info("a").as_ref()));
        let joined = Batch::concat(parts.clone());
        assert_eq!(joined.client_info().unwrap().get("x-tenant"), ["a"]);
        let mut mixed = parts;
        mixed.push(
            Batch::from_request(testdata::request(Signal::Traces, 1, 1, 2))
                .with_client_info(info("b")),
        );
        assert!(Batch::concat(mixed).client_info().is_none());
        let plain = Batch::from_request(testdata::request(Signal::Traces, 1, 1, 3));
        assert!(plain.client_info().is_none());
    }

    fn rename_first_span(batch: &mut Batch, name: &str) {
        let Request::Traces(t) = batch.request_mut().unwrap() else {
            unreachable!()
        };
        t.resource_spans[0].scope_spans[0].spans[0].name = name.to_string();
    }

    fn first_span_name(bytes: &[u8]) -> String {
        let Request::Traces(t) = Request::decode(Signal::Traces, bytes).unwrap() else {
            unreachable!()
        };
        t.resource_spans[0].scope_spans[0].spans[0].name.clone()
    }

    #[test]
    fn decoded_batch_is_encoded_once_across_clones() {
        let req = testdata::request(Signal::Traces, 2, 5, 1);
        let batch = Batch::from_request(req.clone());
        assert!(!batch.is_encoded());
        let (a, b) = (batch.clone(), batch.clone());
        let first = a.encoded();
        // The same buffer, not an equal re-encoding.
        assert_eq!(b.encoded().as_ptr(), first.as_ptr());
        assert_eq!(batch.encoded().as_ptr(), first.as_ptr());
        assert_eq!(a.encoded().as_ptr(), first.as_ptr());
        assert!(batch.is_encoded() && b.is_encoded());
        assert_eq!(first, Bytes::from(req.encode_to_vec()));
        assert_eq!(batch.encoded_len(), first.len());
    }

    #[test]
    fn mutation_after_clone_does_not_affect_the_clone() {
        let req = testdata::request(Signal::Traces, 2, 5, 2);
        let bytes = Bytes::from(req.encode_to_vec());
        let old_name = first_span_name(&bytes);
        // Received encoded, decoded by one clone, encoded once while decoded-only: in every
        // state a clone taken before request_mut keeps the old data and the old encoding.
        let received = Batch::from_encoded(Signal::Traces, bytes.clone()).unwrap();
        let decoded_shared = received.clone();
        decoded_shared.request().unwrap();
        let decoded_only = Batch::from_request(req.clone());
        let encoded_before = decoded_only.clone();
        let old_encoding = encoded_before.encoded();
        for mut batch in [received, decoded_shared, decoded_only] {
            let clone = batch.clone();
            let clone_encoding = clone.is_encoded().then(|| clone.encoded());
            rename_first_span(&mut batch, "changed");
            assert!(!batch.is_encoded());
            assert_eq!(first_span_name(&batch.encoded()), "changed");
            assert_eq!(first_span_name(&clone.encoded()), old_name);
            assert_eq!(clone.encoded(), bytes);
            if let Some(e) = clone_encoding {
                assert_eq!(clone.encoded().as_ptr(), e.as_ptr());
            }
            assert_eq!(*clone.request().unwrap(), req);
        }
        assert_eq!(encoded_before.encoded().as_ptr(), old_encoding.as_ptr());
        assert_eq!(*encoded_before.request().unwrap(), req);
    }

    #[test]
    fn encoded_after_request_mut_reflects_the_change() {
        let req = testdata::request(Signal::Traces, 1, 3, 3);
        let mut batch = Batch::from_request(req);
        let before = batch.encoded();
        rename_first_span(&mut batch, "first change");
        let after_first = batch.encoded();
        assert_ne!(after_first, before);
        assert_eq!(first_span_name(&after_first), "first change");
        assert_eq!(batch.encoded_len(), after_first.len());
        // Clones made after the change share its encoding; a second change resets it again.
        let clone = batch.clone();
        assert_eq!(clone.encoded().as_ptr(), after_first.as_ptr());
        rename_first_span(&mut batch, "second change");
        assert_eq!(first_span_name(&batch.encoded()), "second change");
        assert_eq!(first_span_name(&clone.encoded()), "first change");
        assert_eq!(batch.request().unwrap().encode_to_vec(), batch.encoded());
    }

    #[test]
    fn from_encoded_rejects_garbage() {
        assert!(
            Batch::from_encoded(Signal::Traces, Bytes::from_static(&[0x0a, 0x05, 0x01])).is_err()
        );
    }
}
