//! Zipkin v2 protobuf (`zipkin.proto3`, `application/x-protobuf`): the `ListOfSpans`
//! message written here as prost types, and its conversion to and from the model as
//! zipkin-go's `zipkin_proto3` does it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use prost::Message;

use crate::model::{Annotation, Endpoint, Kind, Span, TraceId};

#[derive(Clone, PartialEq, Message)]
pub struct ListOfSpans {
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<ProtoSpan>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ProtoSpan {
    /// 8 or 16 bytes, big-endian.
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub parent_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub id: Vec<u8>,
    /// SPAN_KIND_UNSPECIFIED = 0, CLIENT = 1, SERVER = 2, PRODUCER = 3, CONSUMER = 4.
    #[prost(int32, tag = "4")]
    pub kind: i32,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(fixed64, tag = "6")]
    pub timestamp: u64,
    #[prost(uint64, tag = "7")]
    pub duration: u64,
    #[prost(message, optional, tag = "8")]
    pub local_endpoint: Option<ProtoEndpoint>,
    #[prost(message, optional, tag = "9")]
    pub remote_endpoint: Option<ProtoEndpoint>,
    #[prost(message, repeated, tag = "10")]
    pub annotations: Vec<ProtoAnnotation>,
    #[prost(btree_map = "string, string", tag = "11")]
    pub tags: BTreeMap<String, String>,
    #[prost(bool, tag = "12")]
    pub debug: bool,
    #[prost(bool, tag = "13")]
    pub shared: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct ProtoEndpoint {
    #[prost(string, tag = "1")]
    pub service_name: String,
    /// 4 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub ipv4: Vec<u8>,
    /// 16 bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub ipv6: Vec<u8>,
    #[prost(int32, tag = "4")]
    pub port: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct ProtoAnnotation {
    #[prost(fixed64, tag = "1")]
    pub timestamp: u64,
    #[prost(string, tag = "2")]
    pub value: String,
}

fn kind_to_proto(k: Kind) -> i32 {
    match k {
        Kind::Undetermined => 0,
        Kind::Client => 1,
        Kind::Server => 2,
        Kind::Producer => 3,
        Kind::Consumer => 4,
    }
}

fn kind_from_proto(k: i32) -> Kind {
    match k {
        1 => Kind::Client,
        2 => Kind::Server,
        3 => Kind::Producer,
        4 => Kind::Consumer,
        _ => Kind::Undetermined,
    }
}

fn endpoint_to_proto(e: &Option<Endpoint>) -> Option<ProtoEndpoint> {
    let e = e.as_ref().filter(|e| !e.is_empty())?;
    let v4 = |ip: &Option<IpAddr>| match ip {
        Some(IpAddr::V4(a)) => a.octets().to_vec(),
        Some(IpAddr::V6(a)) => a
            .to_ipv4_mapped()
            .map(|a| a.octets().to_vec())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let v6 = |ip: &Option<IpAddr>| match ip {
        Some(IpAddr::V6(a)) => a.octets().to_vec(),
        Some(IpAddr::V4(a)) => a.to_ipv6_mapped().octets().to_vec(),
        None => Vec::new(),
    };
    Some(ProtoEndpoint {
        service_name: e.service_name.clone(),
        ipv4: v4(&e.ipv4),
        ipv6: v6(&e.ipv6),
        port: i32::from(e.port),
    })
}

fn endpoint_from_proto(e: Option<ProtoEndpoint>) -> Result<Option<Endpoint>, String> {
    let Some(e) = e else { return Ok(None) };
    let ipv4 = match e.ipv4.len() {
        0 => None,
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            e.ipv4[0], e.ipv4[1], e.ipv4[2], e.ipv4[3],
        ))),
        n => return Err(format!("invalid endpoint ipv4: has length {n}")),
    };
    let ipv6 = match e.ipv6.len() {
        0 => None,
        16 => {
            let b: [u8; 16] = e.ipv6.as_slice().try_into().expect("16 bytes");
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        n => return Err(format!("invalid endpoint ipv6: has length {n}")),
    };
    let ep = Endpoint {
        service_name: e.service_name,
        ipv4,
        ipv6,
        port: u16::try_from(e.port).unwrap_or(0),
    };
    Ok((!ep.is_empty()).then_some(ep))
}

/// The spans as a `ListOfSpans` message.
pub fn encode(spans: &[Span]) -> Vec<u8> {
    ListOfSpans {
        spans: spans
            .iter()
            .map(|s| ProtoSpan {
                trace_id: if s.trace_id.high == 0 {
                    s.trace_id.low.to_be_bytes().to_vec()
                } else {
                    s.trace_id.to_bytes().to_vec()
                },
                parent_id: s
                    .parent_id
                    .map(|p| p.to_be_bytes().to_vec())
                    .unwrap_or_default(),
                id: s.id.to_be_bytes().to_vec(),
                kind: kind_to_proto(s.kind),
                name: s.name.clone(),
                timestamp: s.timestamp,
                duration: s.duration,
                local_endpoint: endpoint_to_proto(&s.local_endpoint),
                remote_endpoint: endpoint_to_proto(&s.remote_endpoint),
                annotations: s
                    .annotations
                    .iter()
                    .map(|a| ProtoAnnotation {
                        timestamp: a.timestamp,
                        value: a.value.clone(),
                    })
                    .collect(),
                tags: s.tags.clone(),
                debug: s.debug,
                shared: s.shared,
            })
            .collect(),
    }
    .encode_to_vec()
}

fn id_from(b: &[u8], what: &str) -> Result<u64, String> {
    let arr: [u8; 8] = b
        .try_into()
        .map_err(|_| format!("invalid {what}: has length {}", b.len()))?;
    Ok(u64::from_be_bytes(arr))
}

/// A `ListOfSpans` message; `debug` marks every span debug (the `X-B3-Flags: 1` header).
pub fn decode(body: &[u8], debug: bool) -> Result<Vec<Span>, String> {
    let list = ListOfSpans::decode(body).map_err(|e| e.to_string())?;
    list.spans
        .into_iter()
        .map(|p| {
            let trace_id = match p.trace_id.len() {
                8 => TraceId {
                    high: 0,
                    low: id_from(&p.trace_id, "TraceID")?,
                },
                16 => TraceId::from_bytes(p.trace_id.as_slice().try_into().expect("16 bytes")),
                n => return Err(format!("invalid TraceID: has length {n}")),
            };
            let id = id_from(&p.id, "SpanID")?;
            let parent_id = if p.parent_id.is_empty() {
                None
            } else {
                Some(id_from(&p.parent_id, "ParentID")?)
            };
            Ok(Span {
                trace_id,
                id,
                parent_id,
                debug: p.debug || debug,
                name: p.name,
                kind: kind_from_proto(p.kind),
                timestamp: p.timestamp,
                duration: p.duration,
                shared: p.shared,
                local_endpoint: endpoint_from_proto(p.local_endpoint)?,
                remote_endpoint: endpoint_from_proto(p.remote_endpoint)?,
                annotations: p
                    .annotations
                    .into_iter()
                    .map(|a| Annotation {
                        timestamp: a.timestamp,
                        value: a.value,
                    })
                    .collect(),
                tags: p.tags,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let span = Span {
            trace_id: TraceId { high: 1, low: 2 },
            id: 3,
            parent_id: Some(4),
            debug: true,
            name: "get".into(),
            kind: Kind::Producer,
            timestamp: 1_700_000_000_000_000,
            duration: 15,
            shared: true,
            local_endpoint: Some(Endpoint {
                service_name: "svc".into(),
                ipv4: Some("10.0.0.1".parse().unwrap()),
                ipv6: Some("::1".parse().unwrap()),
                port: 8080,
            }),
            remote_endpoint: None,
            annotations: vec![Annotation {
                timestamp: 1_700_000_000_000_005,
                value: "wr".into(),
            }],
            tags: [("a".to_string(), "b".to_string())].into(),
        };
        assert_eq!(
            decode(&encode(std::slice::from_ref(&span)), false).unwrap(),
            vec![span]
        );
    }

    #[test]
    fn rejects_ids_of_wrong_length() {
        let mut list = ListOfSpans {
            spans: vec![ProtoSpan {
                trace_id: vec![1; 5],
                id: vec![1; 8],
                ..Default::default()
            }],
        };
        assert_eq!(
            decode(&list.encode_to_vec(), false).unwrap_err(),
            "invalid TraceID: has length 5"
        );
        list.spans[0].trace_id = vec![1; 8];
        list.spans[0].id = vec![1; 3];
        assert!(
            decode(&list.encode_to_vec(), false)
                .unwrap_err()
                .contains("SpanID")
        );
        list.spans[0].id = vec![1; 8];
        let spans = decode(&list.encode_to_vec(), true).unwrap();
        assert!(spans[0].debug, "X-B3-Flags: 1 marks spans debug");
        assert!(decode(b"\xff\xff", false).is_err());
    }
}
