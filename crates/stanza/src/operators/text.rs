//! Text parsers: `key_value_parser`, `csv_parser` (Go `encoding/csv` rules for one row,
//! newlines inside fields stitched as Go's `ReadCSVRow` does), and the `unquote`
//! transformer (Go `strconv.Unquote`).

use serde::Deserialize;

use crate::entry::Entry;
use crate::field::Field;
use crate::operator::config::Spec;
use crate::operator::parser::{Parser, ParserKeys, TransformerKeys};
use crate::operator::{Next, Operator, Out, Transformer};
use crate::value::{Key, Map, Value};

// --- key_value_parser ---------------------------------------------------------------------

#[derive(Deserialize, Debug, Clone)]
#[serde(default)]
pub(crate) struct KeyValueConfig {
    delimiter: String,
    pair_delimiter: String,
    #[serde(flatten)]
    parser: ParserKeys,
}

impl Default for KeyValueConfig {
    fn default() -> Self {
        KeyValueConfig {
            delimiter: "=".into(),
            pair_delimiter: String::new(),
            parser: ParserKeys::default(),
        }
    }
}

impl Spec for KeyValueConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let parser = self.parser.build()?;
        if self.delimiter.is_empty() {
            return Err("delimiter is a required parameter".into());
        }
        let pair_delimiter = if self.pair_delimiter.is_empty() {
            " ".to_string()
        } else {
            self.pair_delimiter.clone()
        };
        if self.delimiter == pair_delimiter {
            return Err("delimiter and pair_delimiter cannot be the same value".into());
        }
        Ok(Box::new(KeyValueParser {
            parser,
            delimiter: self.delimiter.clone(),
            pair_delimiter,
        }))
    }
}

struct KeyValueParser {
    parser: Parser,
    delimiter: String,
    pair_delimiter: String,
}

/// Go `parseutils.SplitString`: split on `delimiter` outside quotes, strip the quotes,
/// honour backslash escapes, skip empty segments.
pub(crate) fn split_quoted(input: &str, delimiter: &str) -> Result<Vec<String>, String> {
    let b = input.as_bytes();
    let d = delimiter.as_bytes();
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut i = 0;
    while i < b.len() {
        if quote.is_none() && b[i..].starts_with(d) {
            if !cur.is_empty() {
                out.push(String::from_utf8_lossy(&cur).into_owned());
                cur.clear();
            }
            i += d.len();
            continue;
        }
        let c = b[i];
        if !escaped {
            if quote.is_none() && (c == b'"' || c == b'\'') {
                quote = Some(c);
                i += 1;
                continue;
            }
            if Some(c) == quote {
                quote = None;
                i += 1;
                continue;
            }
            if c == b'\\' {
                escaped = true;
                i += 1;
                continue;
            }
        } else {
            if Some(c) != quote && c != b'\\' {
                cur.push(b'\\');
            }
            escaped = false;
        }
        cur.push(c);
        i += 1;
    }
    if escaped {
        return Err("found a trailing escape character".into());
    }
    if quote.is_some() {
        return Err("never reached the end of a quoted value".into());
    }
    if !cur.is_empty() {
        out.push(String::from_utf8_lossy(&cur).into_owned());
    }
    Ok(out)
}

impl Operator for KeyValueParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let (delim, pair_delim) = (&self.delimiter, &self.pair_delimiter);
        let from = &self.parser.parse_from;
        self.parser.process(e, out, |v| {
            let Value::Str(s) = v else {
                return Err(format!(
                    "type {} cannot be parsed as key value pairs",
                    v.go_type()
                ));
            };
            if s.is_empty() {
                return Err(format!("parse from field {from} is empty"));
            }
            let pairs = split_quoted(s, pair_delim)
                .map_err(|e| format!("failed to parse pairs from input: {e}"))?;
            let mut m = Map::with_capacity(pairs.len());
            let mut errors = Vec::new();
            for p in &pairs {
                match p.split_once(delim.as_str()) {
                    Some((k, v)) => {
                        m.insert(k.trim(), Value::from(v.trim().to_string()));
                    }
                    None => errors.push(format!("cannot split {p:?} into 2 items, got 1 item(s)")),
                }
            }
            if !errors.is_empty() {
                return Err(errors.join("; "));
            }
            Ok(Value::Map(m))
        })
    }
}

// --- csv_parser ---------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct CsvConfig {
    header: String,
    header_delimiter: String,
    header_attribute: String,
    delimiter: String,
    lazy_quotes: bool,
    ignore_quotes: bool,
    #[serde(flatten)]
    parser: ParserKeys,
}

fn one_char(s: &str, key: &str) -> Result<char, String> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!("invalid '{key}': '{s}'")),
    }
}

impl Spec for CsvConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let parser = self.parser.build()?;
        let delimiter = if self.delimiter.is_empty() {
            ","
        } else {
            &self.delimiter
        };
        let header_delimiter = if self.header_delimiter.is_empty() {
            delimiter
        } else {
            &self.header_delimiter
        };
        if self.ignore_quotes && self.lazy_quotes {
            return Err("only one of 'ignore_quotes' or 'lazy_quotes' can be true".into());
        }
        let delim = one_char(delimiter, "delimiter")?;
        let header_delim = one_char(header_delimiter, "header_delimiter")?;
        if self.header.is_empty() && self.header_attribute.is_empty() {
            return Err("missing required field 'header' or 'header_attribute'".into());
        }
        if !self.header.is_empty() && !self.header_attribute.is_empty() {
            return Err(
                "only one header parameter can be set: 'header' or 'header_attribute'".into(),
            );
        }
        if !self.header.is_empty() && !self.header.contains(header_delim) {
            return Err("missing field delimiter in header".into());
        }
        let header = (!self.header.is_empty())
            .then(|| self.header.split(header_delim).map(Key::named).collect());
        Ok(Box::new(CsvParser {
            parser,
            header,
            header_attribute: self.header_attribute.clone(),
            header_delim,
            delim,
            lazy_quotes: self.lazy_quotes,
            ignore_quotes: self.ignore_quotes,
        }))
    }
}

struct CsvParser {
    parser: Parser,
    header: Option<Vec<Key>>,
    header_attribute: String,
    header_delim: char,
    delim: char,
    lazy_quotes: bool,
    ignore_quotes: bool,
}

impl Operator for CsvParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let dynamic;
        let header: &[Key] = match &self.header {
            Some(h) => h,
            None => match e.attributes.get(&self.header_attribute) {
                Some(Value::Str(h)) => {
                    dynamic = h
                        .split(self.header_delim)
                        .map(Key::from)
                        .collect::<Vec<_>>();
                    &dynamic
                }
                Some(other) => {
                    out.report(&format!(
                        "header is expected to be a string but is {}",
                        other.go_type()
                    ));
                    return Next::Consumed;
                }
                None => {
                    out.report(&format!(
                        "failed to read dynamic header attribute {}",
                        self.header_attribute
                    ));
                    return Next::Consumed;
                }
            },
        };
        let (delim, lazy, ignore) = (self.delim, self.lazy_quotes, self.ignore_quotes);
        self.parser.process(e, out, |v| {
            let line = match v {
                Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                Value::Bytes(b) => String::from_utf8_lossy(b),
                other => {
                    return Err(format!(
                        "type '{}' cannot be parsed as csv",
                        other.go_type()
                    ));
                }
            };
            let fields = if ignore {
                line.split(delim).map(str::to_string).collect()
            } else {
                read_csv_row(&line, delim, lazy)?
            };
            if fields.len() != header.len() {
                return Err(format!(
                    "wrong number of fields: expected {}, found {}",
                    header.len(),
                    fields.len()
                ));
            }
            let mut m = Map::with_capacity(header.len());
            for (k, v) in header.iter().zip(fields) {
                m.insert_key(k, Value::from(v));
            }
            Ok(Value::Map(m))
        })
    }
}

/// One CSV row as Go's `encoding/csv` reads it, with the records of a multi-line value
/// stitched (the first field of each next record continues the previous last field).
pub(crate) fn read_csv_row(row: &str, delim: char, lazy: bool) -> Result<Vec<String>, String> {
    let records = read_records(row, delim, lazy).map_err(|e| format!("read csv line: {e}"))?;
    let mut it = records.into_iter();
    let Some(mut joined) = it.next() else {
        return Err("no csv lines found".into());
    };
    for next in it {
        let mut next = next.into_iter();
        if let (Some(last), Some(first)) = (joined.last_mut(), next.next()) {
            last.push('\n');
            last.push_str(&first);
        }
        joined.extend(next);
    }
    Ok(joined)
}

fn read_records(s: &str, delim: char, lazy: bool) -> Result<Vec<Vec<String>>, String> {
    let s = s.replace("\r\n", "\n");
    let chars: Vec<char> = s.chars().collect();
    let mut records = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        if chars[i] == '\n' {
            // Go skips empty lines.
            i += 1;
            line += 1;
            continue;
        }
        let mut record = Vec::new();
        let line_start = i;
        loop {
            let mut field = String::new();
            if i < chars.len() && chars[i] == '"' {
                // Quoted field.
                i += 1;
                loop {
                    if i >= chars.len() {
                        if !lazy {
                            return Err(format!(
                                "parse error on line {line}, column {}: extraneous or missing \" in quoted-field",
                                i - line_start + 1
                            ));
                        }
                        break;
                    }
                    let c = chars[i];
                    if c == '"' {
                        match chars.get(i + 1) {
                            Some('"') => {
                                field.push('"');
                                i += 2;
                            }
                            Some(&n) if n == delim || n == '\n' => {
                                i += 1;
                                break;
                            }
                            None => {
                                i += 1;
                                break;
                            }
                            Some(_) if lazy => {
                                field.push('"');
                                i += 1;
                            }
                            Some(_) => {
                                return Err(format!(
                                    "parse error on line {line}, column {}: extraneous or missing \" in quoted-field",
                                    i - line_start + 2
                                ));
                            }
                        }
                    } else {
                        if c == '\n' {
                            line += 1;
                        }
                        field.push(c);
                        i += 1;
                    }
                }
            } else {
                while i < chars.len() && chars[i] != delim && chars[i] != '\n' {
                    if chars[i] == '"' && !lazy {
                        return Err(format!(
                            "parse error on line {line}, column {}: bare \" in non-quoted-field",
                            i - line_start + 1
                        ));
                    }
                    field.push(chars[i]);
                    i += 1;
                }
            }
            record.push(field);
            if i < chars.len() && chars[i] == delim {
                i += 1;
                continue;
            }
            break;
        }
        if i < chars.len() && chars[i] == '\n' {
            i += 1;
            line += 1;
        }
        records.push(record);
    }
    Ok(records)
}

// --- unquote ------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct UnquoteConfig {
    field: Option<Field>,
    #[serde(flatten)]
    t: TransformerKeys,
}

struct Unquote {
    t: Transformer,
    field: Field,
}

impl Spec for UnquoteConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(Unquote {
            t: self.t.build()?,
            field: self.field.clone().unwrap_or_else(Field::body),
        }))
    }
}

/// Go's `strconv.Unquote`.
pub(crate) fn go_unquote(s: &str) -> Result<String, String> {
    let invalid = || "invalid syntax".to_string();
    let first = s.chars().next().ok_or_else(invalid)?;
    if s.len() < 2 || !s.ends_with(first) {
        return Err(invalid());
    }
    match first {
        '`' => {
            let inner = &s[1..s.len() - 1];
            if inner.contains('`') {
                return Err(invalid());
            }
            Ok(inner.replace('\r', ""))
        }
        '"' | '\'' => {
            let (v, n) = crate::expr::unquote_literal(s, first).map_err(|_| invalid())?;
            if n != s.len() || (first == '\'' && v.chars().count() != 1) {
                return Err(invalid());
            }
            Ok(v)
        }
        _ => Err(invalid()),
    }
}

impl Operator for Unquote {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let field = &self.field;
        self.t.run(e, out, |e| {
            let Some(v) = field.get_mut(e) else {
                return Err(format!("unquote: field does not exist: {field}"));
            };
            let Value::Str(s) = v else {
                return Err(format!("type {} cannot be unquoted", v.go_type()));
            };
            *s = go_unquote(s)
                .map_err(|m| format!("failed to unquote: {m}"))?
                .into();
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    #[test]
    fn key_value_pairs_with_quotes() {
        let out = run_one(
            "- type: key_value_parser\n",
            Entry::with_body(r#"name=stanza  msg="hello world" k='a b' trace_id=abc"#, 0),
        );
        assert_eq!(
            out[0].attributes,
            map! {"name" => "stanza", "msg" => "hello world", "k" => "a b", "trace_id" => "abc"}
        );
        let out = run_one(
            "- type: key_value_parser\n  delimiter: ':'\n  pair_delimiter: ','\n",
            Entry::with_body("a: 1, b :2", 0),
        );
        assert_eq!(out[0].attributes, map! {"a" => "1", "b" => "2"});
        let mut p = pipeline("- type: key_value_parser\n  on_error: drop\n");
        assert!(
            run(
                &mut p,
                vec![Entry::with_body("a=1 broken", 0), Entry::with_body("", 0)]
            )
            .is_empty()
        );
        assert_eq!(
            build_err("- type: key_value_parser\n  delimiter: ' '\n"),
            "delimiter and pair_delimiter cannot be the same value"
        );
    }

    #[test]
    fn csv_rows_with_quotes_and_header_attribute() {
        let out = run_one(
            "- type: csv_parser\n  header: a,b,c\n",
            Entry::with_body(r#"1,"two, 2","say ""hi""""#, 0),
        );
        assert_eq!(
            out[0].attributes,
            map! {"a" => "1", "b" => "two, 2", "c" => "say \"hi\""}
        );
        let mut e = Entry::with_body("x|y", 0);
        e.attributes.insert("hdr", "h1;h2".into());
        let out = run_one(
            "- type: csv_parser\n  header_attribute: hdr\n  header_delimiter: ';'\n  delimiter: '|'\n",
            e,
        );
        assert_eq!(out[0].attributes.get("h2"), Some(&Value::from("y")));
        let out = run_one(
            "- type: csv_parser\n  header: a,b\n",
            Entry::with_body("x,multi\nline", 0),
        );
        assert_eq!(
            out[0].attributes.get("b"),
            Some(&Value::from("multi\nline"))
        );
        let out = run_one(
            "- type: csv_parser\n  header: a,b\n  lazy_quotes: true\n",
            Entry::with_body(r#"x,a "quoted" word"#, 0),
        );
        assert_eq!(
            out[0].attributes.get("b"),
            Some(&Value::from(r#"a "quoted" word"#))
        );
        let out = run_one(
            "- type: csv_parser\n  header: a,b\n  ignore_quotes: true\n",
            Entry::with_body(r#""x,y""#, 0),
        );
        assert_eq!(out[0].attributes.get("a"), Some(&Value::from("\"x")));
        let mut p = pipeline("- type: csv_parser\n  header: a,b\n  on_error: drop\n");
        assert!(
            run(
                &mut p,
                vec![
                    Entry::with_body("1,2,3", 0),
                    Entry::with_body(r#"a,b"c"#, 0)
                ]
            )
            .is_empty()
        );
        assert_eq!(
            build_err("- type: csv_parser\n"),
            "missing required field 'header' or 'header_attribute'"
        );
        assert_eq!(
            build_err("- type: csv_parser\n  header: a\n"),
            "missing field delimiter in header"
        );
        assert_eq!(
            build_err("- type: csv_parser\n  header: a,b\n  delimiter: ab\n"),
            "invalid 'delimiter': 'ab'"
        );
    }

    #[test]
    fn unquote_like_go_strconv() {
        let out = run_one("- type: unquote\n", Entry::with_body(r#""a\tb\"c""#, 0));
        assert_eq!(out[0].body, Value::from("a\tb\"c"));
        let out = run_one("- type: unquote\n", Entry::with_body("`raw\\n`", 0));
        assert_eq!(out[0].body, Value::from("raw\\n"));
        let mut p = pipeline("- type: unquote\n  on_error: drop\n");
        assert!(
            run(
                &mut p,
                vec![Entry::with_body("'ab'", 0), Entry::with_body("noquotes", 0)]
            )
            .is_empty()
        );
    }
}
