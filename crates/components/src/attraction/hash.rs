//! The `hash` action: SHA-256 of the value's Go byte encoding, as lower-case hex, so that a
//! value pseudonymised here equals the one the Go collector produces for the same input.

use aws_lc_rs::digest::{SHA256, digest};
use pdata::proto::common::v1::{AnyValue, any_value::Value};

/// Replaces `v` with the hex SHA-256 of its bytes: a string's UTF-8, a bool's single byte
/// (1 or 0), an int's or double's 8 little-endian bytes (two's complement, IEEE 754). Any
/// other value, and the empty string (Go hashes only a non-empty byte slice), becomes `""`.
pub fn hash_value(v: &mut AnyValue) {
    let hashed = match &v.value {
        Some(Value::StringValue(s)) => hex_sha256(s.as_bytes()),
        Some(Value::BoolValue(b)) => hex_sha256(&[u8::from(*b)]),
        Some(Value::IntValue(i)) => hex_sha256(&i.to_le_bytes()),
        Some(Value::DoubleValue(d)) => hex_sha256(&d.to_bits().to_le_bytes()),
        _ => String::new(),
    };
    v.value = Some(Value::StringValue(hashed));
}

fn hex_sha256(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if bytes.is_empty() {
        return String::new();
    }
    let sum = digest(&SHA256, bytes);
    let mut out = String::with_capacity(64);
    for b in sum.as_ref() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}
