//! Zipkin v2 JSON (`POST /api/v2/spans` with `application/json`): a list of spans, written
//! and read as `openzipkin/zipkin-go`'s `SpanModel` JSON does.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{Annotation, Endpoint, Kind, Span, TraceId, parse_hex_u64};

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireSpan {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    timestamp: u64,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    duration: u64,
    #[serde(default, deserialize_with = "nullable")]
    trace_id: String,
    #[serde(default, deserialize_with = "nullable")]
    id: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    parent_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    debug: bool,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    name: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    kind: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    shared: bool,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    local_endpoint: Option<WireEndpoint>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    remote_endpoint: Option<WireEndpoint>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    annotations: Vec<WireAnnotation>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    tags: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireEndpoint {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    service_name: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    ipv4: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    ipv6: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_u16"
    )]
    port: u16,
}

#[derive(Serialize, Deserialize, Default)]
struct WireAnnotation {
    #[serde(default, deserialize_with = "nullable")]
    timestamp: u64,
    #[serde(default, deserialize_with = "nullable")]
    value: String,
}

/// Go's `encoding/json` leaves a field alone on `null`; here it is the field's default.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

fn endpoint_to_wire(e: &Option<Endpoint>) -> Option<WireEndpoint> {
    let e = e.as_ref().filter(|e| !e.is_empty())?;
    Some(WireEndpoint {
        service_name: e.service_name.clone(),
        ipv4: e.ipv4.map(|ip| ip.to_string()),
        ipv6: e.ipv6.map(|ip| ip.to_string()),
        port: e.port,
    })
}

/// Go's `net.ParseIP` of an endpoint address (an empty one is absent).
fn parse_ip(s: Option<String>) -> Result<Option<IpAddr>, String> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<IpAddr>()
            .map(Some)
            .map_err(|_| format!("ParseAddr({text:?}): invalid IP address")),
    }
}

fn endpoint_from_wire(e: Option<WireEndpoint>) -> Result<Option<Endpoint>, String> {
    let Some(e) = e else { return Ok(None) };
    let ep = Endpoint {
        service_name: e.service_name,
        ipv4: parse_ip(e.ipv4)?,
        ipv6: parse_ip(e.ipv6)?,
        port: e.port,
    };
    Ok((!ep.is_empty()).then_some(ep))
}

/// The spans as a JSON array (zipkin-go's `JSONSerializer`).
pub fn encode(spans: &[Span]) -> Vec<u8> {
    let wire: Vec<WireSpan> = spans
        .iter()
        .map(|s| WireSpan {
            timestamp: s.timestamp,
            duration: s.duration,
            trace_id: s.trace_id.to_hex(),
            id: format!("{:016x}", s.id),
            parent_id: s.parent_id.map(|p| format!("{p:016x}")),
            debug: s.debug,
            name: s.name.clone(),
            kind: s.kind.as_str().to_string(),
            shared: s.shared,
            local_endpoint: endpoint_to_wire(&s.local_endpoint),
            remote_endpoint: endpoint_to_wire(&s.remote_endpoint),
            annotations: s
                .annotations
                .iter()
                .map(|a| WireAnnotation {
                    timestamp: a.timestamp,
                    value: a.value.clone(),
                })
                .collect(),
            tags: s.tags.clone(),
        })
        .collect();
    // Only strings, integers and maps of strings: serialising cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// A JSON array of v2 spans; an error names what is wrong (the receiver answers 400 with it).
pub fn decode(body: &[u8]) -> Result<Vec<Span>, String> {
    let wire: Vec<WireSpan> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    wire.into_iter().map(span_from_wire).collect()
}

fn span_from_wire(w: WireSpan) -> Result<Span, String> {
    let trace_id = TraceId::from_hex(&w.trace_id)?;
    if trace_id.is_empty() {
        return Err("valid traceId required".into());
    }
    if w.id.is_empty() {
        return Err("valid span id required".into());
    }
    let id = parse_hex_u64(&w.id)?;
    let parent_id = match w.parent_id.as_deref() {
        None | Some("") => None,
        Some(p) => Some(parse_hex_u64(p)?),
    };
    Ok(Span {
        trace_id,
        id,
        parent_id,
        debug: w.debug,
        name: w.name,
        kind: Kind::parse(&w.kind),
        timestamp: w.timestamp,
        duration: w.duration,
        shared: w.shared,
        local_endpoint: endpoint_from_wire(w.local_endpoint)?,
        remote_endpoint: endpoint_from_wire(w.remote_endpoint)?,
        annotations: w
            .annotations
            .into_iter()
            .map(|a| Annotation {
                timestamp: a.timestamp,
                value: a.value,
            })
            .collect(),
        tags: w.tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zipkins_example_and_writes_it_back() {
        let body = br#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2","kind":"SERVER","name":"get /api","timestamp":1556604172355737,"duration":1431,"localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},"remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},"tags":{"http.method":"GET","http.path":"/api"},"annotations":[{"timestamp":1556604172355800,"value":"wr"}],"shared":true}]"#;
        let spans = decode(body).unwrap();
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(
            s.trace_id,
            TraceId {
                high: 0,
                low: 0x5af7183fb1d4cf5f
            }
        );
        assert_eq!(s.parent_id, Some(0x6b221d5bc9e6496c));
        assert_eq!(s.kind, Kind::Server);
        assert_eq!((s.timestamp, s.duration), (1556604172355737, 1431));
        assert!(s.shared);
        let le = s.local_endpoint.as_ref().unwrap();
        assert_eq!(le.service_name, "backend");
        assert_eq!(le.port, 3306);
        assert_eq!(
            s.remote_endpoint
                .as_ref()
                .unwrap()
                .ipv4
                .unwrap()
                .to_string(),
            "172.19.0.2"
        );
        assert_eq!(decode(&encode(&spans)).unwrap(), spans);
        let text = String::from_utf8(encode(&spans)).unwrap();
        assert!(text.starts_with(r#"[{"timestamp":1556604172355737,"duration":1431,"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","parentId":"6b221d5bc9e6496c","name":"get /api","kind":"SERVER","shared":true,"#), "{text}");
    }

    #[test]
    fn null_fields_are_absent_as_in_go() {
        // What the OpenTelemetry Python SDK sends for an INTERNAL span: `"kind": null`.
        let s = &decode(br#"[{"traceId":"1","id":"2","kind":null,"name":null,"parentId":null,"tags":null,"localEndpoint":{"serviceName":"a","port":null}}]"#).unwrap()[0];
        assert_eq!(s.kind, Kind::Undetermined);
        assert_eq!(s.parent_id, None);
        assert_eq!(s.local_endpoint.as_ref().unwrap().service_name, "a");
    }

    #[test]
    fn rejects_bad_ids_and_values() {
        assert!(decode(b"{}").is_err());
        assert!(decode(br#"[{"id":"1"}]"#).unwrap_err().contains("traceId"));
        assert!(decode(br#"[{"traceId":"1","id":"zz"}]"#).is_err());
        assert!(decode(br#"[{"traceId":"1","id":"1","tags":{"a":1}}]"#).is_err());
        assert!(decode(br#"[{"traceId":"1","id":"1","localEndpoint":{"ipv4":"nope"}}]"#).is_err());
        assert!(decode(br#"[{"traceId":"123456789012345678901234567890123","id":"1"}]"#).is_err());
        let s =
            &decode(br#"[{"traceId":"0123456789abcdef0123456789abcdef","id":"1"}]"#).unwrap()[0];
        assert_eq!(s.trace_id.to_hex(), "0123456789abcdef0123456789abcdef");
    }
}
