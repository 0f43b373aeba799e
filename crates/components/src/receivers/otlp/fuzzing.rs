//! Bodies of the OTLP decoder fuzz targets (`/fuzz`), kept here so a plain unit test can run
//! them over seeded random inputs in CI, where cargo-fuzz (nightly) is not available.
//!
//! Each function must never panic on any input; the assertions are the properties checked.

use bytes::Bytes;
use pdata::{Batch, Signal};

use super::http::decode_body;
use crate::compression::Codec;

/// Protobuf export requests: what the wire walker accepts, prost decodes to the same count,
/// and splitting keeps every item.
pub fn otlp_protobuf(data: &[u8]) {
    for signal in Signal::ALL {
        let Ok(batch) = Batch::from_encoded(signal, Bytes::copy_from_slice(data)) else {
            continue;
        };
        let items = batch.item_count();
        let request = batch.request().expect("a body the walker accepts decodes");
        assert_eq!(
            request.item_count(),
            items,
            "walker and prost disagree on the item count"
        );
        for max in [1, 2, 7] {
            let parts = batch.clone().split(max);
            assert_eq!(
                parts.iter().map(Batch::item_count).sum::<usize>(),
                items,
                "split lost items"
            );
        }
    }
}

/// OTLP/JSON export requests.
pub fn otlp_json(data: &[u8]) {
    for signal in Signal::ALL {
        if let Ok(request) = pdata::json::decode(signal, data) {
            let _ = Batch::from_request(request).item_count();
        }
    }
}

/// The largest body [`http_decompress`] lets out.
pub const DECOMPRESS_CAP: usize = 64 * 1024;

/// HTTP body decompression: the first byte picks the encoding; the output never exceeds the cap.
pub fn http_decompress(data: &[u8]) {
    const ENCODINGS: [Option<Codec>; 7] = [
        None,
        Some(Codec::Gzip),
        Some(Codec::Zstd),
        Some(Codec::Zlib),
        Some(Codec::Snappy),
        Some(Codec::SnappyFramed),
        Some(Codec::Lz4),
    ];
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = ENCODINGS[usize::from(selector) % ENCODINGS.len()];
    if let Ok(out) = decode_body(encoding, body.to_vec(), DECOMPRESS_CAP) {
        assert!(
            out.len() <= DECOMPRESS_CAP,
            "{encoding:?} produced {} bytes",
            out.len()
        );
    }
}
