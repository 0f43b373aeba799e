//! Running a log pipeline over one entry: the labels builder (stream labels, structured
//! metadata, extracted labels, the `__error__` label) and each stage's semantics as Loki's
//! pkg/logql/log has them.

use std::borrow::Cow;

use crate::Labels;
use crate::lexer::{parse_bytes, parse_duration};
use crate::parser::{JsonPathPart, LabelFilter, LabelFmt, NameMatch, Pattern, Stage};

pub(crate) const ERROR_LABEL: &str = "__error__";
pub(crate) const ERROR_DETAILS_LABEL: &str = "__error_details__";
const DUPLICATE_SUFFIX: &str = "_extracted";

/// The labels of the entry being processed, as changes over the stream's labels (which stay
/// borrowed: an entry that no stage touches costs no allocation).
#[derive(Default)]
pub(crate) struct Builder {
    /// Set labels: the first `n` are live; the rest keep their string buffers for the next
    /// entries, so parsing a line allocates nothing once the buffers have grown.
    add: Vec<(String, String)>,
    n: usize,
    del: Vec<String>,
    err: Option<String>,
    details: Option<String>,
}

impl Builder {
    pub fn reset(&mut self) {
        self.n = 0;
        self.del.clear();
        self.err = None;
        self.details = None;
    }

    fn live(&self) -> &[(String, String)] {
        &self.add[..self.n]
    }

    pub fn get<'a>(&'a self, base: &'a Labels, name: &str) -> Option<&'a str> {
        if name == ERROR_LABEL {
            return self.err.as_deref();
        }
        if name == ERROR_DETAILS_LABEL {
            return self.details.as_deref();
        }
        if let Some((_, v)) = self.live().iter().find(|(n, _)| n == name) {
            return Some(v);
        }
        if self.del.iter().any(|d| d == name) {
            return None;
        }
        crate::label_value(base, name)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        if name == ERROR_LABEL {
            self.err = Some(value.to_string());
            return;
        }
        if name == ERROR_DETAILS_LABEL {
            self.details = Some(value.to_string());
            return;
        }
        if !self.del.is_empty() {
            self.del.retain(|d| d != name);
        }
        let n = self.n;
        if let Some((_, v)) = self.add[..n].iter_mut().find(|(k, _)| k == name) {
            v.clear();
            v.push_str(value);
            return;
        }
        if n < self.add.len() {
            let (k, v) = &mut self.add[n];
            k.clear();
            k.push_str(name);
            v.clear();
            v.push_str(value);
        } else {
            self.add.push((name.to_string(), value.to_string()));
        }
        self.n += 1;
    }

    /// A parser's label: renamed with `_extracted` when the stream already has it.
    fn set_parsed(&mut self, base: &Labels, name: &str, value: &str) {
        if name.is_empty() {
            return;
        }
        if crate::label_value(base, name).is_some() {
            let n = format!("{name}{DUPLICATE_SUFFIX}");
            self.set(&n, value);
        } else {
            self.set(name, value);
        }
    }

    pub fn del(&mut self, base: &Labels, name: &str) {
        if name == ERROR_LABEL {
            self.err = None;
            return;
        }
        if name == ERROR_DETAILS_LABEL {
            self.details = None;
            return;
        }
        if let Some(i) = self.live().iter().position(|(n, _)| n == name) {
            self.add.swap(i, self.n - 1);
            self.n -= 1;
        }
        if crate::label_value(base, name).is_some() && !self.del.iter().any(|d| d == name) {
            self.del.push(name.to_string());
        }
    }

    pub fn has_err(&self) -> bool {
        self.err.is_some()
    }

    fn set_err(&mut self, err: &str, details: String) {
        if self.err.is_none() {
            self.err = Some(err.to_string());
            self.details = Some(details);
        }
    }

    pub fn changed(&self) -> bool {
        self.n > 0 || !self.del.is_empty() || self.err.is_some()
    }

    /// Every label name visible now (for `keep` and templates' snapshot).
    fn names(&self, base: &Labels) -> Vec<String> {
        let mut out: Vec<String> = base
            .iter()
            .filter(|(n, _)| !self.del.contains(n))
            .map(|(n, _)| n.clone())
            .collect();
        for (n, _) in self.live() {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }

    /// The entry's final label set, sorted.
    pub fn labels(&self, base: &Labels) -> Labels {
        let mut out: Labels = base
            .iter()
            .filter(|(n, _)| !self.del.contains(n) && !self.live().iter().any(|(a, _)| a == n))
            .cloned()
            .collect();
        out.extend(self.live().iter().cloned());
        if let Some(e) = &self.err {
            out.push((ERROR_LABEL.into(), e.clone()));
            if let Some(d) = &self.details {
                out.push((ERROR_DETAILS_LABEL.into(), d.clone()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The final labels filtered by a grouping (`by` keeps `names`, `without` drops them).
    pub fn grouped(&self, base: &Labels, names: &[String], without: bool) -> Labels {
        if without {
            let mut l = self.labels(base);
            l.retain(|(n, _)| !names.contains(n));
            return l;
        }
        // `by`: read just the named labels, no full materialization.
        let mut l: Labels = Vec::with_capacity(names.len());
        for n in names {
            if let Some(v) = self.get(base, n)
                && !l.iter().any(|(k, _)| k == n)
            {
                l.push((n.clone(), v.to_string()));
            }
        }
        l.sort_by(|a, b| a.0.cmp(&b.0));
        l
    }
}

/// Runs the stages on one entry; `None` when a stage filters it out.
pub(crate) fn process<'l>(
    stages: &[Stage],
    ts_ns: i64,
    line: &'l str,
    base: &Labels,
    meta: &Labels,
    b: &mut Builder,
) -> Option<Cow<'l, str>> {
    b.reset();
    for (n, v) in meta {
        b.set(n, v);
    }
    let mut line: Cow<'l, str> = Cow::Borrowed(line);
    for st in stages {
        match st {
            Stage::Line(f) => {
                if !f.matches(&line) {
                    return None;
                }
            }
            Stage::Json(params) => json_stage(&line, params, base, b),
            Stage::Logfmt {
                strict,
                keep_empty,
                params,
            } => logfmt_stage(&line, *strict, *keep_empty, params, base, b),
            Stage::Regexp(re) => {
                if let Some(c) = re.captures(&line) {
                    for (i, name) in re.capture_names().enumerate() {
                        if let Some(name) = name {
                            let v = c.get(i).map_or("", |m| m.as_str());
                            b.set_parsed(base, &sanitize_key(name), v);
                        }
                    }
                }
            }
            Stage::Pattern(p) => pattern_stage(&line, p, base, b),
            Stage::Filter(f) => {
                if !label_filter(f, base, b) {
                    return None;
                }
            }
            Stage::LineFormat(t) => {
                let mut out = String::with_capacity(line.len());
                let r = {
                    let getter = |n: &str| b.get(base, n);
                    t.render(&getter, &line, ts_ns, &mut out)
                };
                match r {
                    Ok(()) => line = Cow::Owned(out),
                    Err(e) => b.set_err("TemplateFormatErr", e),
                }
            }
            Stage::LabelFormat(fmts) => {
                // As Loki: a rename reads the labels as they are when it runs; the templates
                // all read one snapshot taken when the first template runs.
                let mut snapshot: Option<Vec<(String, String)>> = None;
                for (dst, f) in fmts {
                    match f {
                        LabelFmt::Rename(src) => {
                            if let Some(v) = b.get(base, src).map(str::to_string) {
                                b.set(dst, &v);
                                if src != dst {
                                    b.del(base, src);
                                }
                            }
                        }
                        LabelFmt::Template(t) => {
                            let snap = snapshot.get_or_insert_with(|| {
                                b.names(base)
                                    .into_iter()
                                    .filter_map(|n| {
                                        let v = b.get(base, &n)?.to_string();
                                        Some((n, v))
                                    })
                                    .collect()
                            });
                            let getter = |n: &str| {
                                snap.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str())
                            };
                            let mut out = String::new();
                            match t.render(&getter, &line, ts_ns, &mut out) {
                                Ok(()) => b.set(dst, &out),
                                Err(e) => b.set_err("TemplateFormatErr", e),
                            }
                        }
                    }
                }
            }
            Stage::Decolorize => {
                if line.contains(['\u{1b}', '\u{9b}']) {
                    line = Cow::Owned(ansi_regex().replace_all(&line, "").into_owned());
                }
            }
            Stage::Drop(items) => {
                for it in items {
                    if name_match(it, base, b) {
                        b.del(base, &it.name);
                    }
                }
            }
            Stage::Keep(items) => {
                for n in b.names(base) {
                    if !items
                        .iter()
                        .any(|it| it.name == n && name_match(it, base, b))
                    {
                        b.del(base, &n);
                    }
                }
            }
        }
    }
    Some(line)
}

/// ANSI escape sequences (the pattern Loki's decolorize uses, from acarl005/stripansi).
fn ansi_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            "[\u{1b}\u{9b}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u{7})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))",
        )
        .expect("the ANSI pattern compiles")
    })
}

fn name_match(it: &NameMatch, base: &Labels, b: &Builder) -> bool {
    match &it.matcher {
        None => true,
        Some(m) => b.get(base, &it.name).is_some_and(|v| m.matches(v)),
    }
}

pub(crate) fn label_filter(f: &LabelFilter, base: &Labels, b: &mut Builder) -> bool {
    match f {
        LabelFilter::And(l, r) => {
            let lok = label_filter(l, base, b);
            let rok = label_filter(r, base, b);
            lok && rok
        }
        LabelFilter::Or(l, r) => label_filter(l, base, b) || label_filter(r, base, b),
        LabelFilter::Str(m) => m.matches(b.get(base, &m.name).unwrap_or("")),
        LabelFilter::Num(name, op, v) => {
            let Some(s) = b.get(base, name) else {
                return false;
            };
            match go_parse_float(s) {
                Some(x) => op.cmp(x, *v),
                None => {
                    let d = format!("strconv.ParseFloat: parsing {s:?}: invalid syntax");
                    b.set_err("LabelFilterErr", d);
                    true
                }
            }
        }
        LabelFilter::Dur(name, op, v) => {
            let Some(s) = b.get(base, name) else {
                return false;
            };
            match parse_duration(s, false) {
                Some(x) => op.cmp(x, *v),
                None => {
                    let d = format!("time: invalid duration {s:?}");
                    b.set_err("LabelFilterErr", d);
                    true
                }
            }
        }
        LabelFilter::Bytes(name, op, v) => {
            let Some(s) = b.get(base, name) else {
                return false;
            };
            match parse_bytes(s) {
                Some(x) => op.cmp(x, *v),
                None => {
                    let d = format!("strconv.ParseFloat: parsing {s:?}: invalid syntax");
                    b.set_err("LabelFilterErr", d);
                    true
                }
            }
        }
    }
}

/// strconv.ParseFloat: also `Inf`, `+Inf`, `NaN` (case-insensitive), `0x` hex floats aside.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    let body = s.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" || lower == "nan" {
        return s.parse::<f64>().ok().or(Some(if lower == "nan" {
            f64::NAN
        } else if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    s.replace('_', "").parse().ok()
}

/// Loki's label-name sanitizing: non `[A-Za-z0-9_]` chars become `_`, a leading digit gets
/// a `_` prefix, surrounding spaces go.
pub(crate) fn sanitize_key(k: &str) -> Cow<'_, str> {
    let k = k.trim();
    let clean = !k.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if clean {
        return Cow::Borrowed(k);
    }
    let mut out = String::with_capacity(k.len() + 1);
    if k.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.push('_');
    }
    for c in k.chars() {
        out.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        });
    }
    Cow::Owned(out)
}

type RawMap<'a> = std::collections::BTreeMap<String, &'a serde_json::value::RawValue>;

/// `| json`: values are read as raw JSON text so numbers keep the line's spelling (`1.50`,
/// `1e3`, big integers) as Loki's jsonparser gives them; strings are unescaped, `null` is
/// "", arrays are skipped, objects are flattened with `_`.
fn json_stage(line: &str, params: &[(String, Vec<JsonPathPart>)], base: &Labels, b: &mut Builder) {
    let obj: RawMap<'_> = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            b.set_err("JSONParserErr", e.to_string());
            return;
        }
    };
    if params.is_empty() {
        let mut prefix = String::new();
        flatten(&obj, &mut prefix, base, b, 0);
        return;
    }
    for (label, path) in params {
        let mut cur: Option<&serde_json::value::RawValue> = None;
        let mut ok = true;
        for (i, part) in path.iter().enumerate() {
            let next = match (part, i) {
                (JsonPathPart::Key(k), 0) => obj.get(k).copied(),
                (JsonPathPart::Key(k), _) => cur
                    .and_then(|r| serde_json::from_str::<RawMap<'_>>(r.get()).ok())
                    .and_then(|m| m.get(k).copied()),
                (JsonPathPart::Index(_), 0) => None,
                (JsonPathPart::Index(n), _) => cur
                    .and_then(|r| {
                        serde_json::from_str::<Vec<&serde_json::value::RawValue>>(r.get()).ok()
                    })
                    .and_then(|v| v.get(*n).copied()),
            };
            match next {
                Some(n) => cur = Some(n),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        let v = match cur.filter(|_| ok) {
            None => String::new(),
            Some(r) => raw_text(r.get()).unwrap_or_else(|| r.get().to_string()),
        };
        b.set_parsed(base, label, &v);
    }
}

/// A scalar's label value; None for objects and arrays.
fn raw_text(raw: &str) -> Option<String> {
    match raw.as_bytes().first() {
        Some(b'"') => Some(serde_json::from_str::<String>(raw).unwrap_or_default()),
        Some(b'n') => Some(String::new()),
        Some(b'{' | b'[') | None => None,
        _ => Some(raw.to_string()),
    }
}

fn flatten(obj: &RawMap<'_>, prefix: &mut String, base: &Labels, b: &mut Builder, depth: usize) {
    for (k, v) in obj {
        let part = sanitize_key(k);
        if part.is_empty() {
            continue;
        }
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('_');
        }
        prefix.push_str(&part);
        let raw = v.get();
        if raw.starts_with('{') {
            if depth < 32
                && let Ok(inner) = serde_json::from_str::<RawMap<'_>>(raw)
            {
                flatten(&inner, prefix, base, b, depth + 1);
            }
        } else if let Some(t) = raw_text(raw) {
            b.set_parsed(base, prefix, &t);
        }
        prefix.truncate(len);
    }
}

/// go-logfmt's grammar: `key=value`, `key="quoted value"`, standalone `key`. Without
/// `--strict` a malformed pair is skipped and scanning goes on; with it, scanning stops and
/// the entry gets `__error__=LogfmtParserErr`. Standalone keys (and empty values) are kept
/// only with `--keep-empty`.
fn logfmt_stage(
    line: &str,
    strict: bool,
    keep_empty: bool,
    params: &[(String, String)],
    base: &Labels,
    b: &mut Builder,
) {
    // With parameters every named label exists afterwards, "" when its key is absent.
    for (label, _) in params {
        if crate::label_value(base, label).is_none() {
            b.set(label, "");
        }
    }
    let s = line.as_bytes();
    let mut i = 0;
    while i < s.len() {
        while i < s.len() && s[i] <= b' ' {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let ks = i;
        let mut bad: Option<String> = None;
        while i < s.len() && s[i] > b' ' && s[i] != b'=' {
            if s[i] == b'"' && bad.is_none() {
                bad = Some(format!(
                    "logfmt syntax error at pos {}: unexpected '\"'",
                    i + 1
                ));
            }
            i += 1;
        }
        let key = &line[ks..i];
        if key.is_empty() {
            bad = Some(format!(
                "logfmt syntax error at pos {}: unexpected '='",
                i + 1
            ));
        }
        let mut value: Cow<'_, str> = Cow::Borrowed("");
        if i < s.len() && s[i] == b'=' {
            i += 1;
            if i < s.len() && s[i] == b'"' {
                i += 1;
                let mut out = String::new();
                let mut closed = false;
                while i < s.len() {
                    match s[i] {
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        b'\\' if i + 1 < s.len() => {
                            let e = s[i + 1];
                            match e {
                                b'n' => out.push('\n'),
                                b't' => out.push('\t'),
                                b'r' => out.push('\r'),
                                b'"' | b'\\' | b'/' => out.push(e as char),
                                b'u' if i + 5 < s.len() => {
                                    let h = u32::from_str_radix(&line[i + 2..i + 6], 16).ok();
                                    out.push(h.and_then(char::from_u32).unwrap_or('\u{fffd}'));
                                    i += 4;
                                }
                                _ => {
                                    out.push('\\');
                                    out.push(e as char);
                                }
                            }
                            i += 2;
                        }
                        _ => {
                            let ch = line[i..].chars().next().unwrap_or(' ');
                            out.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                if !closed && bad.is_none() {
                    bad = Some("logfmt syntax error: unterminated quoted value".into());
                }
                value = Cow::Owned(out);
            } else {
                let vs = i;
                while i < s.len() && s[i] > b' ' {
                    if (s[i] == b'"' || s[i] == b'=') && bad.is_none() {
                        bad = Some(format!(
                            "logfmt syntax error at pos {}: unexpected '{}'",
                            i + 1,
                            s[i] as char
                        ));
                    }
                    i += 1;
                }
                value = Cow::Borrowed(&line[vs..i]);
            }
        }
        if let Some(e) = bad {
            if strict {
                b.set_err("LogfmtParserErr", e);
                return;
            }
            continue;
        }
        if params.is_empty() {
            if value.is_empty() && !keep_empty {
                continue;
            }
            b.set_parsed(base, &sanitize_key(key), &value);
        } else {
            let key = sanitize_key(key);
            for (label, k) in params {
                if *k == key {
                    b.set_parsed(base, label, &value);
                }
            }
        }
    }
}

/// Loki's pattern matching: the prefix literal must start the line; each capture runs to the
/// first occurrence of the literal after it (the last one to the end of the line). When a
/// literal is missing the captures found so far are kept.
fn pattern_stage(line: &str, p: &Pattern, base: &Labels, b: &mut Builder) {
    let Some(mut rest) = line.strip_prefix(p.prefix.as_str()) else {
        return;
    };
    for (name, lit) in &p.parts {
        let (val, after) = if lit.is_empty() {
            (rest, "")
        } else {
            match rest.find(lit.as_str()) {
                Some(i) => (&rest[..i], &rest[i + lit.len()..]),
                None => return,
            }
        };
        if let Some(n) = name {
            b.set_parsed(base, n, val);
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stages_src: &str, line: &str) -> Option<(Labels, String)> {
        let q = format!("{{app=\"a\"}} {stages_src}");
        let crate::parser::Expr::Log(l) = crate::parser::parse(&q).unwrap() else {
            panic!()
        };
        let base = vec![("app".to_string(), "a".to_string())];
        let mut b = Builder::default();
        let out = process(&l.stages, 0, line, &base, &Vec::new(), &mut b)?;
        Some((b.labels(&base), out.into_owned()))
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        let mut v: Labels = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn json_flattens_and_sanitizes() {
        let (labels, _) = run(
            "| json",
            r#"{"app":"x","a":{"b":{"c":1.50}},"list":[1,2],"my-key":"v","1st":true,"n":null,"big":12345678901234567890123}"#,
        )
        .unwrap();
        assert_eq!(
            labels,
            l(&[
                ("app", "a"),
                ("app_extracted", "x"),
                ("a_b_c", "1.50"),
                ("big", "12345678901234567890123"),
                ("my_key", "v"),
                ("_1st", "true"),
                ("n", "")
            ])
        );
        let (labels, _) = run("| json", "not json").unwrap();
        assert_eq!(
            crate::label_value(&labels, ERROR_LABEL),
            Some("JSONParserErr")
        );
        assert!(run("| json | __error__=\"\"", "not json").is_none());
        let (labels, _) = run(
            r#"| json x="a.b", y="list[1]", z="missing", o="a", app="a.b""#,
            r#"{"a":{"b":"q"},"list":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(
            labels,
            l(&[
                ("app", "a"),
                ("app_extracted", "q"),
                ("o", r#"{"b":"q"}"#),
                ("x", "q"),
                ("y", "2"),
                ("z", "")
            ])
        );
        let (labels, _) = run(r#"| logfmt lvl="level", gone"#, "level=warn x=1").unwrap();
        assert_eq!(labels, l(&[("app", "a"), ("gone", ""), ("lvl", "warn")]));
    }

    #[test]
    fn logfmt_regexp_pattern() {
        let (labels, _) = run(
            "| logfmt",
            r#"level=info msg="hello \"w\"" dur=5ms empty= alone"#,
        )
        .unwrap();
        assert_eq!(
            labels,
            l(&[
                ("app", "a"),
                ("level", "info"),
                ("msg", "hello \"w\""),
                ("dur", "5ms")
            ])
        );
        let (labels, _) = run("| logfmt --keep-empty", "a=1 b").unwrap();
        assert_eq!(labels, l(&[("app", "a"), ("a", "1"), ("b", "")]));
        let (labels, _) = run("| logfmt --strict", "a=1 b\"=2 c=3").unwrap();
        assert_eq!(
            crate::label_value(&labels, ERROR_LABEL),
            Some("LogfmtParserErr")
        );
        assert_eq!(crate::label_value(&labels, "c"), None);
        let (labels, _) = run(
            r#"| regexp "(?P<method>[A-Z]+) (?P<path>\\S+)""#,
            "GET /x 200",
        )
        .unwrap();
        assert_eq!(
            labels,
            l(&[("app", "a"), ("method", "GET"), ("path", "/x")])
        );
        let (labels, _) = run(
            r#"| pattern "<ip> - <_> \"<method> <uri>\" <status>""#,
            r#"1.2.3.4 - u "GET /a" 404"#,
        )
        .unwrap();
        assert_eq!(
            labels,
            l(&[
                ("app", "a"),
                ("ip", "1.2.3.4"),
                ("method", "GET"),
                ("uri", "/a"),
                ("status", "404")
            ])
        );
    }

    #[test]
    fn label_filters_follow_loki() {
        // Missing label: numeric filters fail, string filters compare with "".
        assert!(run("| logfmt | n > 1", "x=1").is_none());
        assert!(run("| logfmt | n != 1", "x=1").is_none());
        assert!(run(r#"| logfmt | n="""#, "x=1").is_some());
        // Unparseable: kept, with LabelFilterErr.
        let (labels, _) = run("| logfmt | n > 1", "n=abc").unwrap();
        assert_eq!(
            crate::label_value(&labels, ERROR_LABEL),
            Some("LabelFilterErr")
        );
        assert!(run("| logfmt | d > 10ms", "d=5ms").is_none());
        assert!(run("| logfmt | d > 10ms", "d=1.5s").is_some());
        assert!(run("| logfmt | s >= 1KB", "s=1000").is_some());
        assert!(run("| logfmt | s > 1KiB", "s=1.5KB").is_some());
        assert!(run(r#"| logfmt | a="1" or b="2", c="3""#, "b=2 c=3").is_some());
        assert!(run(r#"| logfmt | a="1" or b="2", c="3""#, "b=2 c=4").is_none());
        assert!(run(r#"| logfmt | (a="1" or b="2") c="3""#, "a=1 c=3").is_some());
    }

    #[test]
    fn formats_drop_keep() {
        let (labels, line) = run(
            r#"| logfmt | line_format "{{.level | ToUpper}}: {{.msg}}" | label_format lvl=level, x="{{.msg}}!""#,
            "level=warn msg=hi",
        )
        .unwrap();
        assert_eq!(line, "WARN: hi");
        assert_eq!(
            labels,
            l(&[("app", "a"), ("lvl", "warn"), ("msg", "hi"), ("x", "hi!")])
        );
        let (labels, _) = run(r#"| logfmt | drop msg, level="info""#, "level=warn msg=hi").unwrap();
        assert_eq!(labels, l(&[("app", "a"), ("level", "warn")]));
        let (_, line) = run("| decolorize", "\u{1b}[31merror\u{1b}[0m done").unwrap();
        assert_eq!(line, "error done");
        let (labels, _) = run("| logfmt | keep level", "level=warn msg=hi").unwrap();
        assert_eq!(labels, l(&[("level", "warn")]));
    }
}
