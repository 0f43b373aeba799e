//! The Zipkin v2 span model (what `openzipkin/zipkin-go`'s `model.SpanModel` holds), in
//! Zipkin's own units: microseconds since the epoch and microsecond durations.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// A span's kind; `Undetermined` is Zipkin's absent kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Undetermined,
    Client,
    Server,
    Producer,
    Consumer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Undetermined => "",
            Kind::Client => "CLIENT",
            Kind::Server => "SERVER",
            Kind::Producer => "PRODUCER",
            Kind::Consumer => "CONSUMER",
        }
    }

    /// Zipkin accepts any string; anything but the four kinds is undetermined.
    pub fn parse(s: &str) -> Kind {
        match s {
            "CLIENT" => Kind::Client,
            "SERVER" => Kind::Server,
            "PRODUCER" => Kind::Producer,
            "CONSUMER" => Kind::Consumer,
            _ => Kind::Undetermined,
        }
    }
}

/// A 128-bit trace id as Zipkin's (high, low) pair; `high == 0` is a 64-bit id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct TraceId {
    pub high: u64,
    pub low: u64,
}

impl TraceId {
    pub fn from_bytes(b: [u8; 16]) -> TraceId {
        TraceId {
            high: u64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            low: u64::from_be_bytes(b[8..16].try_into().expect("8 bytes")),
        }
    }

    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0..8].copy_from_slice(&self.high.to_be_bytes());
        out[8..16].copy_from_slice(&self.low.to_be_bytes());
        out
    }

    pub fn is_empty(self) -> bool {
        self.high == 0 && self.low == 0
    }

    /// zipkin-go's text: 16 hex digits for a 64-bit id, else 32.
    pub fn to_hex(self) -> String {
        if self.high == 0 {
            format!("{:016x}", self.low)
        } else {
            format!("{:016x}{:016x}", self.high, self.low)
        }
    }

    /// zipkin-go's `TraceIDFromHex`: at most 32 hex digits; the last 16 are the low half.
    pub fn from_hex(s: &str) -> Result<TraceId, String> {
        if s.len() > 32 {
            return Err(format!("TraceID exceeds maximum length of 128 bit: {s:?}"));
        }
        if s.is_empty() {
            return Err("valid traceId required".into());
        }
        let split = s.len().saturating_sub(16);
        let high = if split > 0 {
            parse_hex_u64(&s[..split])?
        } else {
            0
        };
        let low = parse_hex_u64(&s[split..])?;
        Ok(TraceId { high, low })
    }
}

/// `strconv.ParseUint(s, 16, 64)` of a Zipkin id.
pub fn parse_hex_u64(s: &str) -> Result<u64, String> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("invalid hex id {s:?}"));
    }
    u64::from_str_radix(s, 16).map_err(|e| format!("invalid hex id {s:?}: {e}"))
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    pub service_name: String,
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
    pub port: u16,
}

impl Endpoint {
    /// zipkin-go's `Endpoint.Empty`: nothing set.
    pub fn is_empty(&self) -> bool {
        self.service_name.is_empty() && self.ipv4.is_none() && self.ipv6.is_none() && self.port == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotation {
    /// Microseconds since the epoch.
    pub timestamp: u64,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Span {
    pub trace_id: TraceId,
    pub id: u64,
    pub parent_id: Option<u64>,
    pub debug: bool,
    pub name: String,
    pub kind: Kind,
    /// Microseconds since the epoch; 0 = absent.
    pub timestamp: u64,
    /// Microseconds; 0 = absent.
    pub duration: u64,
    pub shared: bool,
    pub local_endpoint: Option<Endpoint>,
    pub remote_endpoint: Option<Endpoint>,
    pub annotations: Vec<Annotation>,
    pub tags: BTreeMap<String, String>,
}
