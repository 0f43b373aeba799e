//! [`Batch`]: encoded or decoded OTLP export request for one signal.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use prost::Message;

use crate::proto::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};
use crate::{PdataError, Signal, scan};

/// A decoded OTLP export request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

impl Request {
    pub fn signal(&self) -> Signal {
        match self {
            Request::Traces(_) => Signal::Traces,
            Request::Metrics(_) => Signal::Metrics,
            Request::Logs(_) => Signal::Logs,
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
        })
    }

    pub fn encode_to_vec(&self) -> Vec<u8> {
        match self {
            Request::Traces(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
            Request::Logs(r) => r.encode_to_vec(),
        }
    }

    /// Spans, metric data points or log records in this request.
    pub fn item_count(&self) -> usize {
        scan::count_decoded(self)
    }
}

/// A batch of telemetry for one signal. Cloning is cheap (reference counts); the decoded
/// form is copied only when a clone is mutated ([`Batch::request_mut`]).
#[derive(Debug, Clone)]
pub struct Batch {
    signal: Signal,
    items: usize,
    encoded: Option<Bytes>,
    decoded: Arc<OnceLock<Arc<Request>>>,
}

impl Batch {
    /// Wraps an encoded export request after checking its structure and counting its items.
    pub fn from_encoded(signal: Signal, bytes: Bytes) -> Result<Batch, PdataError> {
        let items = scan::validate_and_count(signal, &bytes)?;
        Ok(Batch {
            signal,
            items,
            encoded: Some(bytes),
            decoded: Arc::new(OnceLock::new()),
        })
    }

    pub fn from_request(request: Request) -> Batch {
        let cell = OnceLock::new();
        let signal = request.signal();
        let items = request.item_count();
        let _ = cell.set(Arc::new(request));
        Batch {
            signal,
            items,
            encoded: None,
            decoded: Arc::new(cell),
        }
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

    /// True while the batch still holds its encoded form.
    pub fn is_encoded(&self) -> bool {
        self.encoded.is_some()
    }

    /// The protobuf encoding (encodes once if the batch was decoded and changed).
    pub fn encoded(&self) -> Bytes {
        match &self.encoded {
            Some(b) => b.clone(),
            None => Bytes::from(
                self.decoded
                    .get()
                    .expect("decoded when not encoded")
                    .encode_to_vec(),
            ),
        }
    }

    /// Size in bytes of the encoded form, used for memory accounting and byte sizers.
    pub fn encoded_len(&self) -> usize {
        match &self.encoded {
            Some(b) => b.len(),
            None => match &**self.decoded.get().expect("decoded when not encoded") {
                Request::Traces(r) => r.encoded_len(),
                Request::Metrics(r) => r.encoded_len(),
                Request::Logs(r) => r.encoded_len(),
            },
        }
    }

    /// The decoded request, decoding at most once (shared by clones made before the call).
    pub fn request(&self) -> Result<Arc<Request>, PdataError> {
        if let Some(r) = self.decoded.get() {
            return Ok(r.clone());
        }
        let bytes = self.encoded.as_ref().expect("encoded when not decoded");
        let req = Arc::new(Request::decode(self.signal, bytes)?);
        Ok(self.decoded.get_or_init(|| req).clone())
    }

    /// Mutable access to the decoded request. Drops the encoded form; copies the decoded form
    /// only if another clone still shares it.
    pub fn request_mut(&mut self) -> Result<&mut Request, PdataError> {
        let shared = self.request()?;
        self.encoded = None;
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
        let items = batches.iter().map(|b| b.items).sum();
        let total: usize = batches.iter().map(|b| b.encoded_len()).sum();
        let mut buf = Vec::with_capacity(total);
        for b in &batches {
            buf.extend_from_slice(&b.encoded());
        }
        Batch {
            signal,
            items,
            encoded: Some(Bytes::from(buf)),
            decoded: Arc::new(OnceLock::new()),
        }
    }

    /// Splits into batches of at most `max_items` items (0 = no limit), every one full but
    /// the last, in order. Works on the encoded form ([`scan::split_encoded`]): resources that
    /// fit are copied as byte ranges, the others are cut at scope/item (data point) boundaries.
    pub fn split(self, max_items: usize) -> Vec<Batch> {
        if max_items == 0 || self.items <= max_items {
            return vec![self];
        }
        let signal = self.signal;
        scan::split_encoded(signal, &self.encoded(), max_items)
            .into_iter()
            .map(|(bytes, items)| Batch {
                signal,
                items,
                encoded: Some(bytes),
                decoded: Arc::new(OnceLock::new()),
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
    fn from_encoded_rejects_garbage() {
        assert!(
            Batch::from_encoded(Signal::Traces, Bytes::from_static(&[0x0a, 0x05, 0x01])).is_err()
        );
    }
}
