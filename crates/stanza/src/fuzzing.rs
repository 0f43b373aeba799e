//! Bodies of the stanza fuzz targets (`/fuzz`), kept here so that a unit test can run them
//! over seeded random and mutated inputs on stable, where cargo-fuzz (nightly) is not
//! available. Each function must never panic on any input; the assertions are the
//! properties checked.

use std::cell::RefCell;

use crate::entry::Entry;
use crate::expr::{Expr, ExprString};
use crate::field::{Field, RootableField};
use crate::operator::{OperatorConfig, Pipeline};
use crate::time::TimeParser;
use crate::value::{Map, Value};

/// The parser chains [`parsers`] picks from with the input's first byte: each real-config
/// parser with its embedded timestamp / severity blocks, so that what a parser lets out
/// reaches the next stage.
const PARSER_CHAINS: [&str; 10] = [
    // containerd / CRI-O lines, as the seed agent configs parse them
    r#"
- type: regex_parser
  regex: '^(?P<time>[^ ]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'
  timestamp:
    parse_from: attributes.time
    layout_type: gotime
    layout: '2006-01-02T15:04:05.999999999Z07:00'
- type: regex_parser
  parse_from: attributes.log
  regex: '(?P<level>[A-Za-z]+)?.*trace_id=(?P<trace_id>[0-9a-f]+)?'
  on_error: send_quiet
  severity:
    parse_from: attributes.level
  trace:
    trace_id:
      parse_from: attributes.trace_id
"#,
    r#"
- type: json_parser
  timestamp:
    parse_from: attributes.time
    layout: '%Y-%m-%dT%H:%M:%S.%fZ'
  severity:
    parse_from: attributes.level
- type: flatten
  field: attributes.nested
  on_error: send_quiet
"#,
    r#"
- type: key_value_parser
  severity:
    parse_from: attributes.lvl
    mapping:
      warn: [w, warning]
      error: 500-599
"#,
    r#"
- type: key_value_parser
  delimiter: ':'
  pair_delimiter: ';'
- type: unquote
  field: attributes.a
  on_error: drop_quiet
"#,
    r#"
- type: csv_parser
  header: 'a,b,c'
  lazy_quotes: true
- type: time_parser
  parse_from: attributes.a
  layout_type: epoch
  layout: s.ms
  on_error: send_quiet
"#,
    r#"
- type: container
  add_metadata_from_filepath: false
- type: json_parser
  parse_from: body
  if: 'body matches "^\\{"'
"#,
    r#"
- type: regex_replace
  regex_name: ansi_control_sequences
  field: body
- type: json_array_parser
  parse_to: body
  on_error: send_quiet
- type: assign_keys
  field: body
  keys: [a, b, c]
  on_error: send_quiet
"#,
    r#"
- type: uri_parser
  on_error: send_quiet
- type: regex_replace
  regex: '(?P<x>[a-z]+)=(\d)'
  replace_with: '$2:${x}'
  field: attributes.path
"#,
    r#"
- type: syslog_parser
  protocol: rfc5424
  enable_octet_counting: true
  on_error: send_quiet
"#,
    r#"
- type: syslog_parser
  protocol: rfc3164
  location: America/New_York
  allow_skip_pri_header: true
  on_error: drop_quiet
"#,
];

thread_local! {
    /// Built once per thread: compiling the regexes on every input would be most of the work.
    static PIPELINES: RefCell<Vec<Pipeline>> = RefCell::new(
        PARSER_CHAINS
            .iter()
            .map(|yaml| {
                let cfgs = OperatorConfig::list_from_yaml(yaml)
                    .unwrap_or_else(|e| panic!("fuzz chain decodes: {e}"));
                Pipeline::build(&cfgs).unwrap_or_else(|e| panic!("fuzz chain builds: {e}"))
            })
            .collect(),
    );
}

/// The first byte picks a parser chain and whether the body is text or bytes; the rest is
/// one or more lines (split at `\n`) run through it. No entry is made from nothing, and
/// what comes out is bounded by what went in.
pub fn parsers(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let as_bytes = selector & 0x80 != 0;
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let n = lines.len();
    let entries = lines
        .into_iter()
        .map(|l| {
            let body = if as_bytes {
                Value::Bytes(l.to_vec())
            } else {
                Value::from(String::from_utf8_lossy(l).into_owned())
            };
            let mut e = Entry::with_body(body, 1);
            e.attributes.insert(
                "log.file.path",
                Value::Str("/var/log/pods/a/b/0.log".into()),
            );
            e
        })
        .collect();
    PIPELINES.with(|p| {
        let mut pipelines = p.borrow_mut();
        let pipeline = &mut pipelines[usize::from(selector & 0x7f) % PARSER_CHAINS.len()];
        let mut out = Vec::new();
        pipeline.process_batch(entries, &mut |e| out.push(e));
        pipeline.flush_all(&mut |e| out.push(e));
        assert!(out.len() <= n, "{} entries out of {n}", out.len());
        // Bounded: an entry is its input re-arranged (plus a few fixed-size fields and a
        // fixed number of keys), never a multiple of it.
        let limit = 4 * rest.len() + 1024 * n;
        let size: usize = out.iter().map(entry_size).sum();
        assert!(size <= limit, "{size} bytes out of {} in", rest.len());
    });
}

/// Bytes an entry holds, roughly as the record would encode (8 per scalar, keys counted).
fn entry_size(e: &Entry) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::Nil => 1,
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => 8,
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Map(m) => map(m),
            Value::List(l) => l.iter().map(value).sum::<usize>() + 1,
        }
    }
    fn map(m: &Map) -> usize {
        m.iter().map(|(k, v)| k.len() + value(v)).sum::<usize>() + 1
    }
    value(&e.body)
        + map(&e.attributes)
        + map(&e.resource)
        + e.severity_text.len()
        + e.scope_name.len()
        + e.trace_id.len()
        + e.span_id.len()
        + e.trace_flags.len()
        + 24
}

/// An entry with something at the places expressions look.
fn sample_entry() -> Entry {
    let mut e = Entry::with_body("INFO trace_id=abc", 1_700_000_000_000_000_000);
    let mut nested = Map::default();
    nested.insert("k", Value::Int(7));
    e.attributes.insert("a", Value::Str("x".into()));
    e.attributes.insert("n", Value::Float(1.5));
    e.attributes.insert("m", Value::Map(nested));
    e.attributes.insert(
        "l",
        Value::List(vec![Value::Int(1), Value::Str("two".into())]),
    );
    e.resource.insert("host", Value::Str("h".into()));
    e
}

/// Expressions: compiled as `expr`/`if`/`EXPR(...)` are, then evaluated on an entry.
pub fn expr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let e = sample_entry();
    if let Ok(x) = Expr::compile(&text) {
        let _ = x.eval(&e);
        let _ = x.eval_bool(&e);
        let _ = x.eval_string(&e);
        let _ = x.eval(&Entry::default());
    }
    if let Ok(x) = Expr::compile_bool(&text) {
        let _ = x.eval_bool(&e);
    }
    if let Ok(s) = ExprString::parse(&text) {
        let _ = s.render(&e);
    }
}

/// Field syntax (`body.a`, `attributes["x.y"]`, `resource.k`): what parses prints back to
/// the same field, and using it on an entry is safe.
pub fn field(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = Field::parse(&text) {
        let printed = f.to_string();
        // Printing is Go's `toJSONDot`, which does not escape: it reads back only when no
        // key holds a quote or a bracket.
        let plain = f
            .keys()
            .iter()
            .all(|k| !k.is_empty() && !k.contains(['\'', '"', '[', ']']));
        if plain {
            let again = Field::parse(&printed)
                .unwrap_or_else(|m| panic!("{text:?} printed as {printed:?}, which fails: {m}"));
            assert_eq!(again, f, "{text:?} printed as {printed:?}");
        }
        let mut e = sample_entry();
        let _ = f.get(&e);
        let _ = f.set(&mut e, Value::Str("v".into()));
        assert!(
            f.get(&e).is_some() || f.is_root(),
            "set then get: {printed}"
        );
        let _ = f.delete(&mut e);
    }
    if let Ok(RootableField(f)) = RootableField::parse(&text) {
        let mut e = sample_entry();
        let _ = f.set(&mut e, Value::Int(1));
        let _ = f.delete(&mut e);
    }
}

/// Timestamp parsing: the first byte picks the layout type and location, the layout runs to
/// the first NUL, the value is the rest (parsed as text, bytes, and as a number).
pub fn time(data: &[u8]) {
    const TYPES: [&str; 5] = ["strptime", "gotime", "epoch", "native", ""];
    const LOCATIONS: [Option<&str>; 4] = [
        None,
        Some("UTC"),
        Some("America/New_York"),
        Some("Asia/Kolkata"),
    ];
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (layout, value) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let layout = String::from_utf8_lossy(layout);
    let layout_type = TYPES[usize::from(selector) % TYPES.len()];
    let location = LOCATIONS[usize::from(selector >> 4) % LOCATIONS.len()];
    let Ok(parser) = TimeParser::new(layout_type, &layout, location) else {
        return;
    };
    let text = String::from_utf8_lossy(value);
    let _ = parser.parse_str(&text);
    let _ = parser.parse_bytes(value);
    let mut word = [0u8; 8];
    let k = value.len().min(8);
    word[..k].copy_from_slice(&value[..k]);
    let _ = parser.parse_int(i64::from_le_bytes(word));
    let _ = parser.parse_float(f64::from_le_bytes(word));
    if let Ok(n) = text.trim().parse::<f64>() {
        let _ = parser.parse_float(n);
    }
}

/// Deterministic inputs for the stable runs of the bodies: `n` inputs, a third random bytes,
/// the rest mutations of `seeds` (bytes flipped, cut, inserted, appended, seeds spliced).
pub fn corpus(seeds: &[&[u8]], n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|i| {
            if i % 3 == 0 || seeds.is_empty() {
                let len = rng.below(96);
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                let base = seeds[rng.below(seeds.len())];
                let other = seeds[rng.below(seeds.len())];
                mutate(&mut rng, base, other)
            }
        })
        .collect()
}

/// xorshift64*, so the inputs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that make parsers and lexers take their rarer paths.
const INTERESTING: &[u8] = b"\"'\\`()[]{}.,:;=%$#\n\r\t \x00\xff\xc3EXPR(";

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.truncate(i);
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            4 => {
                let i = rng.below(v.len() + 1);
                let j = rng.below(other.len() + 1);
                v.splice(i..i, other[j..].iter().copied());
            }
            _ => {
                let n = rng.below(8);
                v.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_bodies_do_not_panic_on_random_and_mutated_inputs() {
        let lines: &[&[u8]] = &[
            b"\x002024-05-01T10:00:00.123456789Z stdout F INFO hello trace_id=0af7651916cd43dd8448eb211c80319c",
            b"\x002024-05-01T10:00:00Z stderr P partial\n2024-05-01T10:00:01Z stderr F rest",
            b"\x01{\"time\":\"2024-05-01T10:00:00.5Z\",\"level\":\"warn\",\"nested\":{\"a\":[1,2.5,null,true]},\"msg\":\"\\u00e9\"}",
            b"\x02lvl=w a=\"quoted value\" b=1 c==d",
            b"\x03a:\"x\\ty\";b:2;c",
            b"\x04\"1714557600.5\",b,\"c \"\"q\"\" d\"",
            b"\x05{\"log\":\"{\\\"k\\\":1}\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:00:00.000000001Z\"}",
            b"\x0512024-05-01T10:00:00Z stdout F {\"a\":1}",
            b"\x06\x1b[31m[1,\"a\",{\"b\" : [2]},1.5,null]\x1b[0m",
            b"\x06[7,-0,\"x\"]\n[[1]]\n{}",
            b"\x07https://u:p%41@h.com:8443/a%20b/\xc3\xbc?q=1&q=2&x=a+b;c&e=%zz",
            b"\x07?a=1&b=2\n/p/x=1#f\nhttp://[::1%25en0]:80/\nmailto:a@b",
            b"\x0872 <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"] \xef\xbb\xbfAn application event",
            b"\x08<34>1 - - - - - -\n<13>1 2024-05-01T10:00:00+02:00 h a 123 - - m",
            b"\x09<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed\nOct  1 02:03:04 host app: no pri",
        ];
        for input in corpus(lines, 3000, 1) {
            parsers(&input);
        }
        let exprs: &[&[u8]] = &[
            b"body matches \"^INFO\" and attributes.a == 'x'",
            b"attributes[\"m\"][\"k\"] + 1 > 5 || not (resource.host in ['h', 'i'])",
            b"pre-EXPR(attributes.a + 'y')-EXPR(env('HOME'))",
            b"len(body) * 2 % 3 ** 2 / 1.5 - -1",
            b"attributes.l[1] startsWith 't' ? upper(body) : trim(body, 'I')",
            b"int(\"12\") + float('1e3') ?? nil",
            b"body?.x ?? attributes?.[\"missing\"]",
            b"split(body, \" \")[0] contains 'IN' && replace(body, 'a', 'b') endsWith 'c'",
        ];
        for input in corpus(exprs, 4000, 2) {
            expr(&input);
        }
        let fields: &[&[u8]] = &[
            b"body.a.b",
            b"attributes[\"log.file.path\"]",
            b"resource['k8s.pod.name'].x",
            b"attributes.a[\"b\"].c",
            b"body",
            b"$body.x",
        ];
        for input in corpus(fields, 3000, 3) {
            field(&input);
        }
        let times: &[&[u8]] = &[
            b"\x00%Y-%m-%dT%H:%M:%S.%f%z\x002024-05-01T10:00:00.123+0200",
            b"\x01Jan _2 15:04:05.000 MST 2006\x00May  1 10:00:00.123 UTC 2024",
            b"\x022006-01-02T15:04:05.999999999Z07:00\x002024-05-01T10:00:00Z",
            b"\x12s.ms\x001714557600.123",
            b"\x21%d/%b/%Y:%H:%M:%S %z\x0001/May/2024:10:00:00 -0700",
            b"\x30%a %b %e %H:%M:%S %Z %Y\x00Wed May  1 10:00:00 EST 2024",
            b"\x04%s\x001714557600",
        ];
        for input in corpus(times, 4000, 4) {
            time(&input);
        }
    }

    /// Found by these bodies: `((((...`, `a.b.c.d...` and `1+1+1...` of a few thousand bytes
    /// overflowed the stack (parsing, evaluating or dropping the tree). 95 levels of each
    /// shape still compile and evaluate, on a test thread's 2 MiB stack in a debug build.
    #[test]
    fn deeply_nested_expressions_are_refused_not_a_stack_overflow() {
        let shapes = |n: usize| {
            [
                format!("{}1{}", "(".repeat(n), ")".repeat(n)),
                format!("{}true", "!".repeat(n)),
                format!("{}1", "-".repeat(n)),
                format!("{}1{}", "[".repeat(n), "]".repeat(n)),
                format!("attributes{}", ".m".repeat(n)),
                format!("1{}", " + 1".repeat(n)),
                format!("true{}", " and true".repeat(n)),
                format!("{}1{}", "len(".repeat(n), ")".repeat(n)),
            ]
        };
        let e = sample_entry();
        for src in shapes(95) {
            let x = Expr::compile(&src).unwrap_or_else(|m| panic!("{}: {m}", &src[..20]));
            let _ = x.eval(&e);
        }
        for src in shapes(100_000) {
            let err = Expr::compile(&src).expect_err(&src[..20]);
            assert!(
                err.starts_with("expression nests more than 100 levels deep"),
                "{err}"
            );
        }
    }
}
