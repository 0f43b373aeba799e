//! Shallow scans over encoded OTLP export requests: validate, count items, split.
//!
//! # Approach
//!
//! An OTLP export request is a protobuf message whose only field (1) is a repeated
//! `ResourceSpans` / `ResourceMetrics` / `ResourceLogs`. Most pipelines only count, merge and
//! split requests, so this module works on the wire bytes directly instead of building prost
//! structs (one allocation per string, attribute and vector):
//!
//! * [`WireReader`] is a tiny cursor over a `&[u8]` that decodes varints, keys and
//!   length-delimited fields with the exact rules prost 0.14 applies (10-byte varint limit with
//!   the overflow check of the 10th byte, keys above `u32::MAX`, wire types 6/7, tag 0, ...).
//! * The OTLP schema is a static table ([`fields`]): for every message type, the kind of each
//!   known field number (varint, fixed32, fixed64, bytes, UTF-8 string, packed varint/fixed64,
//!   or a nested message type). One generic walker ([`walk`]) interprets it. With
//!   `VALIDATE = true` it visits the whole tree: every known field must carry the wire type
//!   prost expects, strings must be UTF-8, nested messages must be well formed, unknown fields
//!   are skipped like `prost::encoding::skip_field` (groups included), and the recursion limit
//!   of prost (100 nested messages) is mirrored, so it accepts exactly what
//!   `prost::Message::decode` accepts. With `VALIDATE = false` it only descends along the
//!   path that leads to the items and skips everything else by length; the split uses that.
//!   Attributes (`KeyValue`/`AnyValue`) are most of the fields of a request, so validation
//!   takes a specialised path for their common shapes ([`validate_key_value`]) and falls back
//!   to the generic walker for anything else.
//! * Items are counted on the way: spans and log records are occurrences of field 2 of
//!   `ScopeSpans` / `ScopeLogs`; metric data points are occurrences of field 1 of the
//!   `Gauge`/`Sum`/`Histogram`/`ExponentialHistogram`/`Summary` message. The `data` oneof of
//!   `Metric` follows prost's merge rule: repeated occurrences of the same variant merge (their
//!   points add up), a different variant replaces the previous one.
//! * [`split_encoded`] cuts the sequence of items into consecutive runs of `max_items`
//!   (every part full except the last, like the Go collector's batch splitting). A
//!   `ResourceX` entry that fits in the current part is copied as one byte range. One that
//!   must be divided is rebuilt: its non-scope fields (resource, schema_url, unknown fields)
//!   are copied, and each scope overlapping the part is either copied whole or rebuilt from
//!   its non-item fields (scope, schema_url) plus the contiguous byte ranges of the items in
//!   the part. Metrics are split at data-point granularity: a divided `Metric` keeps its
//!   name/description/unit/metadata and the non-point fields of its data message
//!   (temporality, monotonic). No message is ever decoded.
//!
//! Profiles requests are validated and counted (samples are their items) but never split.
//!
//! Nothing here allocates except the output buffers of [`split_encoded`].

use bytes::Bytes;

use crate::{PdataError, Request, Signal};

/// prost's default recursion limit (`prost::RECURSION_LIMIT`).
const RECURSION_LIMIT: u32 = 100;

fn err(msg: &'static str) -> PdataError {
    PdataError::Protobuf(msg.to_string())
}

/// Protobuf wire types.
pub mod wire {
    pub const VARINT: u8 = 0;
    pub const FIXED64: u8 = 1;
    pub const LEN: u8 = 2;
    pub const START_GROUP: u8 = 3;
    pub const END_GROUP: u8 = 4;
    pub const FIXED32: u8 = 5;
}

/// One field read by [`WireReader::field`].
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub tag: u32,
    pub wire_type: u8,
    /// Offset of the field key in the reader's buffer.
    pub start: usize,
    /// Offset just past the field.
    pub end: usize,
    /// The payload of a length-delimited field (empty for other wire types).
    pub data: &'a [u8],
}

/// A cursor over protobuf wire bytes that never reads past its slice.
#[derive(Debug, Clone)]
pub struct WireReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> WireReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        WireReader { buf, pos: 0 }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Decodes a varint with prost's rules (at most 10 bytes; the 10th must be 0 or 1).
    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64, PdataError> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        match rest.first() {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                return Ok(u64::from(b));
            }
            None => return Err(err("invalid varint")),
            _ => {}
        }
        let mut value = 0u64;
        for (i, &b) in rest.iter().take(10).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b >= 0x02 {
                    return Err(err("invalid varint"));
                }
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(err("invalid varint"))
    }

    /// Decodes a field key into (tag, wire type) with prost's checks.
    #[inline(always)]
    pub fn key(&mut self) -> Result<(u32, u8), PdataError> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(err("invalid key value"));
        }
        let wire_type = (key & 7) as u8;
        if wire_type > 5 {
            return Err(err("invalid wire type value"));
        }
        let tag = (key as u32) >> 3;
        if tag == 0 {
            return Err(err("invalid tag value: 0"));
        }
        Ok((tag, wire_type))
    }

    #[inline(always)]
    pub fn skip(&mut self, n: usize) -> Result<(), PdataError> {
        if self.buf.len() - self.pos < n {
            return Err(err("buffer underflow"));
        }
        self.pos += n;
        Ok(())
    }

    /// Reads a length prefix and returns the payload.
    #[inline(always)]
    pub fn len_delimited(&mut self) -> Result<&'a [u8], PdataError> {
        let len = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if len > remaining {
            return Err(err("buffer underflow"));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// Skips a field's value like `prost::encoding::skip_field`, with the recursion budget
    /// `ctx` of the enclosing message.
    pub fn skip_value(&mut self, wire_type: u8, tag: u32, ctx: u32) -> Result<(), PdataError> {
        if ctx == 0 {
            return Err(err("recursion limit reached"));
        }
        match wire_type {
            wire::VARINT => self.varint().map(|_| ()),
            wire::FIXED64 => self.skip(8),
            wire::FIXED32 => self.skip(4),
            wire::LEN => self.len_delimited().map(|_| ()),
            wire::START_GROUP => loop {
                let (inner_tag, inner_wt) = self.key()?;
                if inner_wt == wire::END_GROUP {
                    if inner_tag != tag {
                        return Err(err("unexpected end group tag"));
                    }
                    return Ok(());
                }
                self.skip_value(inner_wt, inner_tag, ctx - 1)?;
            },
            _ => Err(err("unexpected end group tag")),
        }
    }

    /// Reads the next field, skipping its value (groups are skipped whole).
    pub fn field(&mut self) -> Result<Field<'a>, PdataError> {
        let start = self.pos;
        let (tag, wire_type) = self.key()?;
        let data = if wire_type == wire::LEN {
            self.len_delimited()?
        } else {
            self.skip_value(wire_type, tag, RECURSION_LIMIT)?;
            &[]
        };
        Ok(Field {
            tag,
            wire_type,
            start,
            end: self.pos,
            data,
        })
    }
}

/// Message types of the OTLP schema that the walker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    TraceReq,
    ResourceSpans,
    ScopeSpans,
    Span,
    Event,
    Link,
    SpanStatus,
    LogsReq,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    ProfilesReq,
    ResourceProfiles,
    ScopeProfiles,
    Profile,
    Sample,
    MetricsReq,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    Gauge,
    Sum,
    Histogram,
    ExpHistogram,
    Summary,
    NumberDp,
    HistogramDp,
    ExpHistogramDp,
    Buckets,
    SummaryDp,
    ValueAtQuantile,
    Exemplar,
    Resource,
    Scope,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
    EntityRef,
}

/// The protobuf type of a known field.
#[derive(Debug, Clone, Copy)]
enum K {
    Unknown,
    Varint,
    Fixed32,
    Fixed64,
    Bytes,
    Str,
    Msg(M),
    PackedVarint,
    PackedFixed64,
}

/// How a field contributes to the item count of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    None,
    /// Each occurrence is one item.
    Item,
    /// Adds the nested message's count.
    Sum,
    /// A variant of `Metric.data` (prost oneof merge rule).
    MetricData,
}

use K::{Bytes as B, Fixed32 as F32, Fixed64 as F64, Msg, Str as S, Unknown as U, Varint as V};

/// Field kinds indexed by field number (index 0 unused).
fn fields(m: M) -> &'static [K] {
    match m {
        M::TraceReq => &[U, Msg(M::ResourceSpans)],
        M::ResourceSpans => &[U, Msg(M::Resource), Msg(M::ScopeSpans), S],
        M::ScopeSpans => &[U, Msg(M::Scope), Msg(M::Span), S],
        M::Span => &[
            U,
            B,                  // 1 trace_id
            B,                  // 2 span_id
            S,                  // 3 trace_state
            B,                  // 4 parent_span_id
            S,                  // 5 name
            V,                  // 6 kind
            F64,                // 7 start_time_unix_nano
            F64,                // 8 end_time_unix_nano
            Msg(M::KeyValue),   // 9 attributes
            V,                  // 10 dropped_attributes_count
            Msg(M::Event),      // 11 events
            V,                  // 12 dropped_events_count
            Msg(M::Link),       // 13 links
            V,                  // 14 dropped_links_count
            Msg(M::SpanStatus), // 15 status
            F32,                // 16 flags
        ],
        M::Event => &[U, F64, S, Msg(M::KeyValue), V],
        M::Link => &[U, B, B, S, Msg(M::KeyValue), V, F32],
        M::SpanStatus => &[U, U, S, V],
        M::LogsReq => &[U, Msg(M::ResourceLogs)],
        M::ResourceLogs => &[U, Msg(M::Resource), Msg(M::ScopeLogs), S],
        M::ScopeLogs => &[U, Msg(M::Scope), Msg(M::LogRecord), S],
        M::LogRecord => &[
            U,
            F64,              // 1 time_unix_nano
            V,                // 2 severity_number
            S,                // 3 severity_text
            U,                // 4 reserved
            Msg(M::AnyValue), // 5 body
            Msg(M::KeyValue), // 6 attributes
            V,                // 7 dropped_attributes_count
            F32,              // 8 flags
            B,                // 9 trace_id
            B,                // 10 span_id
            F64,              // 11 observed_time_unix_nano
            S,                // 12 event_name
        ],
        // Profiles: only the path to the samples is typed. The profiles schema is still in
        // development and changes between proto releases (the dictionary, the profile's own
        // fields); senders and the Go collector may use another release than ours, so
        // everything off that path is skipped like an unknown field and the bytes travel on
        // unchanged.
        M::ProfilesReq => &[U, Msg(M::ResourceProfiles)],
        M::ResourceProfiles => &[U, Msg(M::Resource), Msg(M::ScopeProfiles), S],
        M::ScopeProfiles => &[U, Msg(M::Scope), Msg(M::Profile), S],
        M::Profile => &[U, U, Msg(M::Sample)],
        M::Sample => &[U],
        M::MetricsReq => &[U, Msg(M::ResourceMetrics)],
        M::ResourceMetrics => &[U, Msg(M::Resource), Msg(M::ScopeMetrics), S],
        M::ScopeMetrics => &[U, Msg(M::Scope), Msg(M::Metric), S],
        M::Metric => &[
            U,
            S,                    // 1 name
            S,                    // 2 description
            S,                    // 3 unit
            U,                    // 4 reserved
            Msg(M::Gauge),        // 5 gauge
            U,                    // 6 reserved
            Msg(M::Sum),          // 7 sum
            U,                    // 8 reserved
            Msg(M::Histogram),    // 9 histogram
            Msg(M::ExpHistogram), // 10 exponential_histogram
            Msg(M::Summary),      // 11 summary
            Msg(M::KeyValue),     // 12 metadata
        ],
        M::Gauge => &[U, Msg(M::NumberDp)],
        M::Sum => &[U, Msg(M::NumberDp), V, V],
        M::Histogram => &[U, Msg(M::HistogramDp), V],
        M::ExpHistogram => &[U, Msg(M::ExpHistogramDp), V],
        M::Summary => &[U, Msg(M::SummaryDp)],
        M::NumberDp => &[
            U,
            U,                // 1 reserved
            F64,              // 2 start_time_unix_nano
            F64,              // 3 time_unix_nano
            F64,              // 4 as_double
            Msg(M::Exemplar), // 5 exemplars
            F64,              // 6 as_int (sfixed64)
            Msg(M::KeyValue), // 7 attributes
            V,                // 8 flags
        ],
        M::HistogramDp => &[
            U,
            U,                // 1 reserved
            F64,              // 2 start_time_unix_nano
            F64,              // 3 time_unix_nano
            F64,              // 4 count
            F64,              // 5 sum
            K::PackedFixed64, // 6 bucket_counts
            K::PackedFixed64, // 7 explicit_bounds
            Msg(M::Exemplar), // 8 exemplars
            Msg(M::KeyValue), // 9 attributes
            V,                // 10 flags
            F64,              // 11 min
            F64,              // 12 max
        ],
        M::ExpHistogramDp => &[
            U,
            Msg(M::KeyValue), // 1 attributes
            F64,              // 2 start_time_unix_nano
            F64,              // 3 time_unix_nano
            F64,              // 4 count
            F64,              // 5 sum
            V,                // 6 scale
            F64,              // 7 zero_count
            Msg(M::Buckets),  // 8 positive
            Msg(M::Buckets),  // 9 negative
            V,                // 10 flags
            Msg(M::Exemplar), // 11 exemplars
            F64,              // 12 min
            F64,              // 13 max
            F64,              // 14 zero_threshold
        ],
        M::Buckets => &[U, V, K::PackedVarint],
        M::SummaryDp => &[
            U,
            U,                       // 1 reserved
            F64,                     // 2 start_time_unix_nano
            F64,                     // 3 time_unix_nano
            F64,                     // 4 count
            F64,                     // 5 sum
            Msg(M::ValueAtQuantile), // 6 quantile_values
            Msg(M::KeyValue),        // 7 attributes
            V,                       // 8 flags
        ],
        M::ValueAtQuantile => &[U, F64, F64],
        M::Exemplar => &[
            U,
            U,                // 1 reserved
            F64,              // 2 time_unix_nano
            F64,              // 3 as_double
            B,                // 4 span_id
            B,                // 5 trace_id
            F64,              // 6 as_int
            Msg(M::KeyValue), // 7 filtered_attributes
        ],
        M::Resource => &[U, Msg(M::KeyValue), V, Msg(M::EntityRef)],
        M::Scope => &[U, S, S, Msg(M::KeyValue), V],
        M::KeyValue => &[U, S, Msg(M::AnyValue), V],
        M::AnyValue => &[
            U,
            S,                  // 1 string_value
            V,                  // 2 bool_value
            V,                  // 3 int_value
            F64,                // 4 double_value
            Msg(M::ArrayValue), // 5 array_value
            Msg(M::KvList),     // 6 kvlist_value
            B,                  // 7 bytes_value
            V,                  // 8 string_value_strindex
        ],
        M::ArrayValue => &[U, Msg(M::AnyValue)],
        M::KvList => &[U, Msg(M::KeyValue)],
        M::EntityRef => &[U, S, S, S, S],
    }
}

#[inline]
fn role(m: M, tag: u32) -> Role {
    match (m, tag) {
        (M::TraceReq | M::LogsReq | M::MetricsReq | M::ProfilesReq, 1) => Role::Sum,
        (M::ResourceSpans | M::ResourceLogs | M::ResourceMetrics | M::ResourceProfiles, 2) => {
            Role::Sum
        }
        (M::ScopeSpans | M::ScopeLogs, 2) => Role::Item,
        (M::ScopeProfiles, 2) => Role::Sum,
        (M::Profile, 2) => Role::Item,
        (M::ScopeMetrics, 2) => Role::Sum,
        (M::Metric, 5 | 7 | 9 | 10 | 11) => Role::MetricData,
        (M::Gauge | M::Sum | M::Histogram | M::ExpHistogram | M::Summary, 1) => Role::Item,
        _ => Role::None,
    }
}

#[inline]
fn check_wt(actual: u8, expected: u8) -> Result<(), PdataError> {
    if actual != expected {
        return Err(err("invalid wire type"));
    }
    Ok(())
}

/// Walks one message of type `m` (its payload `buf`) and returns its item count.
/// `ctx` is prost's recursion budget for the fields of this message.
fn walk<const VALIDATE: bool>(m: M, buf: &[u8], ctx: u32) -> Result<u64, PdataError> {
    let table = fields(m);
    let mut r = WireReader::new(buf);
    let mut count = 0u64;
    let mut data_tag = 0u32;
    while !r.is_empty() {
        let (tag, wt) = r.key()?;
        let kind = table.get(tag as usize).copied().unwrap_or(K::Unknown);
        if !VALIDATE && role(m, tag) == Role::None {
            r.skip_value(wt, tag, ctx)?;
            continue;
        }
        match kind {
            K::Unknown => r.skip_value(wt, tag, ctx)?,
            K::Varint => {
                check_wt(wt, wire::VARINT)?;
                r.varint()?;
            }
            K::Fixed32 => {
                check_wt(wt, wire::FIXED32)?;
                r.skip(4)?;
            }
            K::Fixed64 => {
                check_wt(wt, wire::FIXED64)?;
                r.skip(8)?;
            }
            K::Bytes => {
                check_wt(wt, wire::LEN)?;
                r.len_delimited()?;
            }
            K::Str => {
                check_wt(wt, wire::LEN)?;
                check_utf8(r.len_delimited()?)?;
            }
            K::PackedVarint => {
                if wt == wire::LEN {
                    let mut packed = WireReader::new(r.len_delimited()?);
                    while !packed.is_empty() {
                        packed.varint()?;
                    }
                } else {
                    check_wt(wt, wire::VARINT)?;
                    r.varint()?;
                }
            }
            K::PackedFixed64 => {
                if wt == wire::LEN {
                    if !r.len_delimited()?.len().is_multiple_of(8) {
                        return Err(err("buffer underflow"));
                    }
                } else {
                    check_wt(wt, wire::FIXED64)?;
                    r.skip(8)?;
                }
            }
            K::Msg(sub) => {
                check_wt(wt, wire::LEN)?;
                if ctx == 0 {
                    return Err(err("recursion limit reached"));
                }
                let payload = r.len_delimited()?;
                if VALIDATE && sub == M::KeyValue {
                    validate_key_value(payload, ctx - 1)?;
                    continue;
                }
                let role = role(m, tag);
                let n = if VALIDATE || role != Role::Item {
                    walk::<VALIDATE>(sub, payload, ctx - 1)?
                } else {
                    0
                };
                match role {
                    Role::None => {}
                    Role::Item => count += 1,
                    Role::Sum => count += n,
                    Role::MetricData => {
                        if tag == data_tag {
                            count += n;
                        } else {
                            data_tag = tag;
                            count = n;
                        }
                    }
                }
            }
        }
    }
    Ok(count)
}

#[inline]
fn check_utf8(s: &[u8]) -> Result<(), PdataError> {
    if !s.is_ascii() && std::str::from_utf8(s).is_err() {
        return Err(err("invalid string value: data is not UTF-8 encoded"));
    }
    Ok(())
}

/// [`walk`] of a `KeyValue` for validation, specialised for the common shapes: attributes are
/// most of the fields of a request. Fields are recognised by their one-byte key (tag and wire
/// type); anything else (unknown fields, other wire types, nested arrays and lists) makes it
/// validate the whole message again with the generic walker, so both accept the same input.
#[inline]
fn validate_key_value(buf: &[u8], ctx: u32) -> Result<(), PdataError> {
    let mut r = WireReader::new(buf);
    while let Some(&key) = buf.get(r.pos) {
        r.pos += 1;
        match key {
            0x0a => check_utf8(r.len_delimited()?)?, // 1 key, LEN
            0x12 if ctx > 0 => validate_any_value(r.len_delimited()?, ctx - 1)?, // 2 value, LEN
            0x18 => {
                r.varint()?; // 3 key_strindex, VARINT
            }
            _ => return walk::<true>(M::KeyValue, buf, ctx).map(drop),
        }
    }
    Ok(())
}

/// [`validate_key_value`] for the scalar variants of an `AnyValue`.
#[inline]
fn validate_any_value(buf: &[u8], ctx: u32) -> Result<(), PdataError> {
    let mut r = WireReader::new(buf);
    while let Some(&key) = buf.get(r.pos) {
        r.pos += 1;
        match key {
            0x0a => check_utf8(r.len_delimited()?)?, // 1 string_value, LEN
            0x10 | 0x18 | 0x40 => {
                r.varint()?; // 2 bool, 3 int, 8 strindex, VARINT
            }
            0x21 => r.skip(8)?, // 4 double_value, FIXED64
            0x3a => {
                r.len_delimited()?; // 7 bytes_value, LEN
            }
            _ => return walk::<true>(M::AnyValue, buf, ctx).map(drop),
        }
    }
    Ok(())
}

fn request_type(signal: Signal) -> M {
    match signal {
        Signal::Traces => M::TraceReq,
        Signal::Metrics => M::MetricsReq,
        Signal::Logs => M::LogsReq,
        Signal::Profiles => M::ProfilesReq,
    }
}

/// Checks that `bytes` is a well-formed export request of `signal` (accepting exactly what
/// `prost::Message::decode` accepts) and counts its items, without allocating.
pub fn validate_and_count(signal: Signal, bytes: &[u8]) -> Result<usize, PdataError> {
    walk::<true>(request_type(signal), bytes, RECURSION_LIMIT).map(|n| n as usize)
}

/// Counts the items of an encoded request without validating the fields that do not lead to
/// items (faster than [`validate_and_count`]; for bytes already validated).
pub fn count_encoded(signal: Signal, bytes: &[u8]) -> Result<usize, PdataError> {
    walk::<false>(request_type(signal), bytes, RECURSION_LIMIT).map(|n| n as usize)
}

/// Counts spans, data points or log records in a decoded request.
pub fn count_decoded(req: &Request) -> usize {
    match req {
        Request::Traces(r) => r
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum(),
        Request::Logs(r) => r
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .map(|sl| sl.log_records.len())
            .sum(),
        Request::Profiles(r) => r
            .resource_profiles
            .iter()
            .flat_map(|rp| &rp.scope_profiles)
            .flat_map(|sp| &sp.profiles)
            .map(|p| p.samples.len())
            .sum(),
        Request::Metrics(r) => r
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(crate::tree::data_point_count)
            .sum(),
    }
}

// ---------------------------------------------------------------------------------------------
// Split
// ---------------------------------------------------------------------------------------------

/// Appends `v` as a varint (LEB128), the bytes [`WireReader::varint`] reads back. Pushed
/// straight onto the vector: prost's `encode_varint` goes through `BufMut` a byte at a
/// time, which showed at 5 % of the remote-write path.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len_field(out: &mut Vec<u8>, tag: u32, payload: &[u8]) {
    put_varint(out, (u64::from(tag) << 3) | 2);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

fn count_of(m: M, payload: &[u8]) -> Result<u64, PdataError> {
    walk::<false>(m, payload, RECURSION_LIMIT)
}

/// The message type of the children (field 2) of a resource or scope container, or `None`
/// when the children are items.
fn child_type(m: M) -> Option<M> {
    match m {
        M::ResourceSpans => Some(M::ScopeSpans),
        M::ResourceLogs => Some(M::ScopeLogs),
        M::ResourceMetrics => Some(M::ScopeMetrics),
        M::ScopeMetrics => Some(M::Metric),
        _ => None,
    }
}

/// Rebuilds a container message (`ResourceX` or `ScopeX`) keeping only the items in
/// `[a, b)` of its `total` items, and appends it to `out` as field `out_tag`.
fn rebuild(
    m: M,
    payload: &[u8],
    a: u64,
    b: u64,
    total: u64,
    out_tag: u32,
    out: &mut Vec<u8>,
) -> Result<(), PdataError> {
    if m == M::Metric {
        return rebuild_metric(payload, a, b, out_tag, out);
    }
    let child = child_type(m);
    let mut scratch = Vec::with_capacity(payload.len());
    let mut r = WireReader::new(payload);
    let mut idx = 0u64;
    while !r.is_empty() {
        let f = r.field()?;
        let raw = &payload[f.start..f.end];
        if f.tag != 2 || f.wire_type != wire::LEN {
            scratch.extend_from_slice(raw);
            continue;
        }
        let c = match child {
            Some(ct) => count_of(ct, f.data)?,
            None => 1,
        };
        if c == 0 {
            if (idx >= a && idx < b) || (idx == b && b == total) {
                scratch.extend_from_slice(raw);
            }
        } else if idx >= a && idx + c <= b {
            scratch.extend_from_slice(raw);
        } else if idx < b && idx + c > a {
            let lo = a.max(idx) - idx;
            let hi = b.min(idx + c) - idx;
            if let Some(ct) = child {
                rebuild(ct, f.data, lo, hi, c, 2, &mut scratch)?;
            }
        }
        idx += c;
    }
    put_len_field(out, out_tag, &scratch);
    Ok(())
}

/// Rebuilds a `Metric` keeping data points `[a, b)` of its effective data variant.
fn rebuild_metric(
    payload: &[u8],
    a: u64,
    b: u64,
    out_tag: u32,
    out: &mut Vec<u8>,
) -> Result<(), PdataError> {
    let is_data = |tag: u32| matches!(tag, 5 | 7 | 9 | 10 | 11);
    // The effective variant is the last one; its run starts where the variant last changed.
    let mut r = WireReader::new(payload);
    let (mut data_tag, mut run_start) = (0u32, 0usize);
    while !r.is_empty() {
        let f = r.field()?;
        if is_data(f.tag) && f.tag != data_tag {
            data_tag = f.tag;
            run_start = f.start;
        }
    }
    let mut scratch = Vec::with_capacity(payload.len());
    let mut data = Vec::with_capacity(payload.len());
    let mut r = WireReader::new(payload);
    let mut idx = 0u64;
    while !r.is_empty() {
        let f = r.field()?;
        if !is_data(f.tag) {
            scratch.extend_from_slice(&payload[f.start..f.end]);
            continue;
        }
        if f.start < run_start || f.wire_type != wire::LEN {
            continue;
        }
        let mut dr = WireReader::new(f.data);
        while !dr.is_empty() {
            let df = dr.field()?;
            let raw = &f.data[df.start..df.end];
            if df.tag == 1 {
                if idx >= a && idx < b {
                    data.extend_from_slice(raw);
                }
                idx += 1;
            } else {
                data.extend_from_slice(raw);
            }
        }
    }
    if data_tag != 0 {
        put_len_field(&mut scratch, data_tag, &data);
    }
    put_len_field(out, out_tag, &scratch);
    Ok(())
}

fn resource_type(signal: Signal) -> M {
    match signal {
        Signal::Traces => M::ResourceSpans,
        Signal::Metrics => M::ResourceMetrics,
        Signal::Logs => M::ResourceLogs,
        Signal::Profiles => M::ResourceProfiles,
    }
}

fn try_split(signal: Signal, bytes: &[u8], max: u64) -> Result<Vec<(Bytes, usize)>, PdataError> {
    if signal == Signal::Profiles {
        // A profiles request's samples index into the request's one dictionary: a part would
        // need its own copy, re-indexed. Profiles requests travel whole.
        return Err(err("profiles requests are not split"));
    }
    let rtype = resource_type(signal);
    let total = count_encoded(signal, bytes)? as u64;
    let est = (bytes.len() as u64 * max / total.max(1)) as usize + 256;
    let mut parts = Vec::with_capacity(total.div_ceil(max) as usize);
    let mut cur: Vec<u8> = Vec::with_capacity(est);
    let mut cur_n = 0u64;
    let mut r = WireReader::new(bytes);
    while !r.is_empty() {
        let f = r.field()?;
        if f.tag != 1 || f.wire_type != wire::LEN {
            continue; // unknown top-level fields are dropped, as prost does
        }
        let c = count_of(rtype, f.data)?;
        let raw = &bytes[f.start..f.end];
        if c == 0 {
            cur.extend_from_slice(raw);
            continue;
        }
        let mut done = 0u64;
        while done < c {
            if cur_n == max {
                parts.push((
                    Bytes::from(std::mem::replace(&mut cur, Vec::with_capacity(est))),
                    cur_n as usize,
                ));
                cur_n = 0;
            }
            let room = max - cur_n;
            if done == 0 && c <= room {
                cur.extend_from_slice(raw);
                cur_n += c;
                done = c;
            } else {
                let take = room.min(c - done);
                rebuild(rtype, f.data, done, done + take, c, 1, &mut cur)?;
                cur_n += take;
                done += take;
            }
        }
    }
    if !cur.is_empty() || parts.is_empty() {
        parts.push((Bytes::from(cur), cur_n as usize));
    }
    Ok(parts)
}

/// Splits an encoded request into encoded requests of at most `max_items` items each
/// (0 = no limit), preserving order. Every part but the last holds exactly `max_items`.
/// Malformed input is returned unsplit.
pub fn split_encoded(signal: Signal, bytes: &[u8], max_items: usize) -> Vec<(Bytes, usize)> {
    let whole = || {
        let n = count_encoded(signal, bytes).unwrap_or(0);
        vec![(Bytes::copy_from_slice(bytes), n)]
    };
    if max_items == 0 {
        return whole();
    }
    try_split(signal, bytes, max_items as u64).unwrap_or_else(|_| whole())
}

/// Like [`split_encoded`] but takes `Bytes` and returns it without copying when no split is
/// needed.
pub fn split_bytes(signal: Signal, bytes: Bytes, max_items: usize) -> Vec<(Bytes, usize)> {
    let n = match count_encoded(signal, &bytes) {
        Ok(n) => n,
        Err(_) => return vec![(bytes, 0)],
    };
    if max_items == 0 || n <= max_items {
        return vec![(bytes, n)];
    }
    try_split(signal, &bytes, max_items as u64).unwrap_or_else(|_| vec![(bytes, n)])
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
