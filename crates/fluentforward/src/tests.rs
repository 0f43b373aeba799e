//! Events built with rmp's encoder in each mode; expected records are what Go's
//! fluentforwardreceiver makes of them (its conversion_test.go cases where noted).

use std::io::Write;

use pdata::proto::common::v1::any_value::Value as V;
use rmp::encode as enc;

use super::*;

fn s(out: &mut Vec<u8>, v: &str) {
    enc::write_str(out, v).unwrap();
}

fn event_time(out: &mut Vec<u8>, secs: u32, nanos: u32) {
    enc::write_ext_meta(out, 8, 0).unwrap();
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(&nanos.to_be_bytes());
}

/// `{"a": 1, "log": "line", "b": "x"}` as a record.
fn rec(out: &mut Vec<u8>) {
    enc::write_map_len(out, 3).unwrap();
    s(out, "a");
    enc::write_uint(out, 1).unwrap();
    s(out, "log");
    s(out, "line");
    s(out, "b");
    s(out, "x");
}

fn attrs(lr: &LogRecord) -> Vec<(String, String)> {
    lr.attributes
        .iter()
        .map(|kv| (kv.key.clone(), show(kv.value.as_ref())))
        .collect()
}

fn show(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => "<empty>".into(),
        Some(V::StringValue(s)) => format!("{s:?}"),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => format!("{d}"),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::ArrayValue(a)) => format!(
            "[{}]",
            a.values
                .iter()
                .map(|x| show(Some(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Some(V::KvlistValue(m)) => format!(
            "{{{}}}",
            m.values
                .iter()
                .map(|kv| format!("{}:{}", kv.key, show(kv.value.as_ref())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Some(other) => format!("{other:?}"),
    }
}

fn whole(buf: &[u8]) -> Event {
    let end = Scanner::default().scan(buf, 1 << 20).unwrap().unwrap();
    assert_eq!(end, buf.len());
    decode_event(buf).unwrap()
}

#[test]
fn message_mode_puts_the_tag_first_and_log_in_the_body() {
    let mut b = Vec::new();
    enc::write_array_len(&mut b, 3).unwrap();
    s(&mut b, "my.tag");
    enc::write_uint(&mut b, 5000).unwrap();
    rec(&mut b);
    let e = whole(&b);
    assert_eq!(e.mode, Mode::Message);
    assert_eq!(e.chunk, None);
    let lr = &e.records[0];
    assert_eq!(lr.time_unix_nano, 5_000_000_000_000);
    assert_eq!(lr.observed_time_unix_nano, 0);
    assert_eq!(show(lr.body.as_ref()), "\"line\"");
    assert_eq!(
        attrs(lr),
        [
            ("fluent.tag".into(), "\"my.tag\"".into()),
            ("a".into(), "1".into()),
            ("b".into(), "\"x\"".into())
        ]
    );
}

#[test]
fn forward_mode_with_event_time_and_chunk_option() {
    let mut b = Vec::new();
    enc::write_array_len(&mut b, 3).unwrap();
    s(&mut b, "fwd");
    enc::write_array_len(&mut b, 2).unwrap();
    for i in 0..2u32 {
        enc::write_array_len(&mut b, 2).unwrap();
        event_time(&mut b, 1_700_000_000 + i, 123_456_789);
        enc::write_map_len(&mut b, 1).unwrap();
        s(&mut b, "message");
        s(&mut b, &format!("m{i}"));
    }
    enc::write_map_len(&mut b, 2).unwrap();
    s(&mut b, "chunk");
    s(&mut b, "p8n9gmxTQVC8/nh2wlKKeQ==");
    s(&mut b, "size");
    enc::write_uint(&mut b, 2).unwrap();
    let e = whole(&b);
    assert_eq!(e.mode, Mode::Forward);
    assert_eq!(e.chunk.as_deref(), Some("p8n9gmxTQVC8/nh2wlKKeQ=="));
    assert_eq!(e.records.len(), 2);
    assert_eq!(e.records[1].time_unix_nano, 1_700_000_001_123_456_789);
    assert_eq!(show(e.records[1].body.as_ref()), "\"m1\"");
    // the tag comes after the record's keys in forward mode
    assert_eq!(
        attrs(&e.records[0]),
        [("fluent.tag".into(), "\"fwd\"".into())]
    );
}

fn packed_entries() -> Vec<u8> {
    let mut entries = Vec::new();
    for i in 0..3u64 {
        enc::write_array_len(&mut entries, 2).unwrap();
        enc::write_uint(&mut entries, 1_600_000_000 + i).unwrap();
        rec(&mut entries);
    }
    entries
}

#[test]
fn packed_forward_as_bin_and_as_str() {
    for as_str in [false, true] {
        let entries = packed_entries();
        let mut b = Vec::new();
        enc::write_array_len(&mut b, 2).unwrap();
        s(&mut b, "packed");
        if as_str {
            enc::write_str_len(&mut b, entries.len() as u32).unwrap();
        } else {
            enc::write_bin_len(&mut b, entries.len() as u32).unwrap();
        }
        b.extend_from_slice(&entries);
        let e = whole(&b);
        assert_eq!(e.mode, Mode::PackedForward);
        assert_eq!(e.records.len(), 3);
        assert_eq!(e.records[2].time_unix_nano, 1_600_000_002_000_000_000);
        assert_eq!(
            attrs(&e.records[0]),
            [
                ("a".into(), "1".into()),
                ("b".into(), "\"x\"".into()),
                ("fluent.tag".into(), "\"packed\"".into())
            ]
        );
    }
}

#[test]
fn compressed_packed_forward_gunzips_every_member() {
    let entries = packed_entries();
    let mut gz = Vec::new();
    // two gzip members, as a client appending to a chunk writes them
    for part in [&entries[..entries.len() / 3], &entries[entries.len() / 3..]] {
        let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        w.write_all(part).unwrap();
        gz.extend(w.finish().unwrap());
    }
    let mut b = Vec::new();
    enc::write_array_len(&mut b, 3).unwrap();
    s(&mut b, "gz");
    enc::write_bin_len(&mut b, gz.len() as u32).unwrap();
    b.extend_from_slice(&gz);
    enc::write_map_len(&mut b, 2).unwrap();
    s(&mut b, "compressed");
    s(&mut b, "gzip");
    s(&mut b, "chunk");
    s(&mut b, "abc");
    let e = whole(&b);
    assert_eq!(e.records.len(), 3);
    assert_eq!(e.chunk.as_deref(), Some("abc"));
}

#[test]
fn value_types_convert_as_go_does() {
    let mut b = Vec::new();
    enc::write_array_len(&mut b, 3).unwrap();
    s(&mut b, "t");
    enc::write_sint(&mut b, -5).unwrap();
    enc::write_map_len(&mut b, 9).unwrap();
    s(&mut b, "big");
    enc::write_u64(&mut b, u64::MAX).unwrap();
    s(&mut b, "neg");
    enc::write_sint(&mut b, -300).unwrap();
    s(&mut b, "f32");
    enc::write_f32(&mut b, 1.5).unwrap();
    s(&mut b, "bin");
    enc::write_bin(&mut b, b"bytes").unwrap();
    s(&mut b, "nil");
    enc::write_nil(&mut b).unwrap();
    s(&mut b, "ok");
    enc::write_bool(&mut b, true).unwrap();
    s(&mut b, "arr");
    enc::write_array_len(&mut b, 2).unwrap();
    enc::write_uint(&mut b, 1).unwrap();
    s(&mut b, "two");
    s(&mut b, "map");
    enc::write_map_len(&mut b, 1).unwrap();
    s(&mut b, "k");
    s(&mut b, "v");
    // a binary key (some clients)
    enc::write_bin(&mut b, b"binkey").unwrap();
    s(&mut b, "v");
    let e = whole(&b);
    let lr = &e.records[0];
    assert_eq!(lr.time_unix_nano, (-5_000_000_000i64) as u64);
    assert_eq!(lr.body, None);
    assert_eq!(
        attrs(lr)[1..],
        [
            ("big".into(), "\"18446744073709551615\"".into()),
            ("neg".into(), "-300".into()),
            ("f32".into(), "1.5".into()),
            ("bin".into(), "\"bytes\"".into()),
            ("nil".into(), "<empty>".into()),
            ("ok".into(), "true".into()),
            ("arr".into(), "[1,\"two\"]".into()),
            ("map".into(), "{k:\"v\"}".into()),
            ("binkey".into(), "\"v\"".into()),
        ]
    );
}

#[test]
fn scanner_resumes_across_reads_and_bounds_the_event() {
    let entries = packed_entries();
    let mut b = Vec::new();
    enc::write_array_len(&mut b, 2).unwrap();
    s(&mut b, "x");
    enc::write_bin_len(&mut b, entries.len() as u32).unwrap();
    b.extend_from_slice(&entries);
    let mut next = b.clone();
    next.extend_from_slice(&b);
    let mut sc = Scanner::default();
    for cut in 0..b.len() {
        assert_eq!(sc.scan(&next[..cut], 1 << 20).unwrap(), None, "at {cut}");
    }
    assert_eq!(sc.scan(&next, 1 << 20).unwrap(), Some(b.len()));
    sc.reset();
    assert_eq!(sc.scan(&next[b.len()..], 1 << 20).unwrap(), Some(b.len()));
    // a declared 4 GiB string is refused at its header, not buffered
    let huge = [0x92, 0xa1, b'x', 0xdb, 0xff, 0xff, 0xff, 0xff];
    let e = Scanner::default().scan(&huge, 1 << 20).unwrap_err();
    assert!(e.0.contains("larger than"), "{e}");
}

#[test]
fn malformed_events_fail_like_go() {
    // a tag that is not a string
    let e = decode_event(&[0x93, 0x01, 0x01, 0x80]).unwrap_err();
    assert_eq!(e.0, "malformed tag field");
    // a second element that names no mode
    let e = decode_event(&[0x92, 0xa1, b't', 0xc3]).unwrap_err();
    assert!(
        e.0.starts_with("unable to determine next event mode"),
        "{e}"
    );
    // message mode with a time that is not a time
    let mut b = Vec::new();
    enc::write_array_len(&mut b, 3).unwrap();
    s(&mut b, "t");
    enc::write_ext_meta(&mut b, 4, 5).unwrap();
    b.extend_from_slice(&[0, 0, 0, 0]);
    enc::write_map_len(&mut b, 0).unwrap();
    let e = decode_event(&b).unwrap_err();
    assert!(
        e.0.starts_with("failed to parse message mode event: Time"),
        "{e}"
    );
    assert!(Scanner::default().scan(&[0xc1], 10).is_err());
}

#[test]
fn ack_is_a_msgpack_map() {
    assert_eq!(ack("ab"), [0x81, 0xa3, b'a', b'c', b'k', 0xa2, b'a', b'b']);
}
