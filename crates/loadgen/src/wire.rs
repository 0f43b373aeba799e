//! Reading protobuf without message structs: the sinks walk request bodies field by field
//! (`fields`), so that counting what arrived costs no allocation per item and a malformed body
//! is an error, never a panic.

/// Wire type of length-delimited fields (messages, strings, packed repeats).
pub const LEN: u64 = 2;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for shift in 0..10 {
        let Some(&b) = buf.get(*pos) else {
            return Err(WireError("truncated varint".into()));
        };
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * shift);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError("varint longer than 10 bytes".into()))
}

/// Iterates over the fields of one message: `(field number, wire type, payload)`, where the
/// payload of a LEN field is its bytes and of the other types is empty.
pub fn fields<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u64, u64, &'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut pos = 0;
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                read_varint(buf, &mut pos)?;
                f(field, wire, &[])?;
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                pos = pos
                    .checked_add(n)
                    .filter(|&p| p <= buf.len())
                    .ok_or_else(|| WireError("truncated fixed-width field".into()))?;
                f(field, wire, &[])?;
            }
            2 => {
                let len = read_varint(buf, &mut pos)? as usize;
                let end = pos
                    .checked_add(len)
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| WireError(format!("field {field} runs past the end")))?;
                f(field, wire, &buf[pos..end])?;
                pos = end;
            }
            w => return Err(WireError(format!("unsupported wire type {w}"))),
        }
    }
    Ok(())
}
