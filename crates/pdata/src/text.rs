//! Byte-string equality that never calls `memcmp` with an empty slice.
//!
//! `==` on two strings or byte slices calls `memcmp(a, b, len)` (as `bcmp`) once the lengths
//! agree, even when they are 0. An empty `String` or `Vec` points at a dangling address
//! (`0x1`), and glibc's AVX-512 `memcmp` (`__memcmp_evex_movbe`) compares short inputs with a
//! masked load from that address: with an empty mask nothing is read, but the address is in
//! an unmapped page and the CPU takes a fault-suppression assist. On this project's machines
//! (AMD EPYC) that is ~80 ns per call, against ~2.5 ns for a short comparison of real bytes
//! (`gcc -O2` loop over `memcmp((void*)1, (void*)1, 0)`, 2026-12-04). `memset` of an empty
//! dangling slice does the same (~70 ns); `memcpy`, `memmove` and `memchr` do not.
//!
//! Per-record comparisons of fields that are usually empty (scope names, tenants, schema
//! URLs) go through [`same`] / [`same_str`]: the node agent's grouping of entries by scope
//! name alone was 5 % of its CPU.

/// `a == b`, without a `memcmp` call when both are empty.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// [`same`] for strings.
#[inline]
pub fn same_str(a: &str, b: &str) -> bool {
    same(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_is_equality() {
        let empty = String::new();
        for (a, b) in [
            ("", ""),
            ("", "a"),
            ("a", ""),
            ("a", "a"),
            ("ab", "ac"),
            ("abc", "ab"),
        ] {
            assert_eq!(same_str(a, b), a == b, "{a:?} {b:?}");
            assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b);
        }
        assert!(same_str(&empty, ""));
        assert!(same(&[], &Vec::<u8>::new()));
    }
}
