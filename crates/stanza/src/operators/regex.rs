//! `regex_parser`: named groups of an unanchored Go RE2 match become string values
//! (a group that did not take part gives ""), with the optional FIFO `cache`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use goregex::Matcher;
use regex::Regex;
use serde::Deserialize;

use crate::entry::Entry;

use crate::operator::config::Spec;
use crate::operator::parser::{Parsed, Parser, ParserKeys};
use crate::operator::{Next, Operator, Out};
use crate::value::{Key, Map, Str, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    regex: Option<String>,
    cache: Option<CacheConfig>,
    #[serde(flatten)]
    parser: ParserKeys,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
struct CacheConfig {
    size: u32,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let parser = self.parser.build()?;
        let re = match self.regex.as_deref() {
            None | Some("") => return Err("missing required field 'regex'".into()),
            Some(r) => goregex::compile(r).map_err(|e| format!("compiling regex: {e}"))?,
        };
        let groups = GroupMatcher::new(re)?;
        let cache = self
            .cache
            .as_ref()
            .filter(|c| c.size > 0)
            .map(|c| Cache::new(c.size as usize));
        Ok(Box::new(RegexParser {
            parser,
            scratch: Map::with_capacity(groups.groups.len()),
            groups,
            cache,
        }))
    }
}

/// A compiled pattern whose named groups become string values (a group that did not take
/// part gives ""), with the capture slots it reuses.
///
/// Most log regexes end in a greedy catch-all group, `(?P<log>.*)$`. Capturing engines pay for
/// every byte they walk (the bounded backtracker is the one the regex crate picks for these
/// patterns), so a 1 KiB message cost ~20x its short prefix. When the pattern is a
/// concatenation ending in such a group (no flags anywhere, no top-level alternation), the
/// prefix is compiled on its own: under leftmost-first semantics the full pattern's match is
/// the prefix's match plus the rest of the text as the tail group, provided the rest holds
/// no `\n` (which `.` cannot cross). Otherwise the full pattern is used. Same results, and
/// the cost no longer grows with the message.
///
/// Either pattern (the whole one, or the prefix) that never needs to go back is matched by
/// [`goregex::Direct`] instead of the regex crate's engine: the container formats' prefixes
/// are, and their cost fell from ~8 ns to ~1 ns per byte.
pub(crate) struct GroupMatcher {
    re: Matcher,
    groups: Vec<(usize, Key)>,
    /// No two groups share a name (the usual case): values are appended without looking
    /// for an earlier one of the same name.
    distinct: bool,
    tail: Option<Tail>,
}

struct Tail {
    prefix: Matcher,
    /// The catch-all group's index in the full pattern.
    group: usize,
    /// The pattern ends with `$`/`\z` after the group (else the group stops at a `\n`).
    anchored_end: bool,
}

impl GroupMatcher {
    pub(crate) fn new(re: Regex) -> Result<GroupMatcher, String> {
        let groups: Vec<(usize, Key)> = re
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, Key::named(n))))
            .collect();
        if groups.is_empty() {
            return Err("no named capture groups in regex pattern".into());
        }
        let tail = split_tail(&re);
        let distinct = groups
            .iter()
            .enumerate()
            .all(|(i, (_, k))| groups[..i].iter().all(|(_, other)| other != k));
        Ok(GroupMatcher {
            distinct,
            re: Matcher::new(re),
            groups,
            tail,
        })
    }

    /// Whether the pattern matches `s` (cheap with a split tail: the prefix decides).
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.tail {
            Some(t) => match t.prefix.find_end(s) {
                None => false,
                Some(end) if !t.anchored_end || memchr_newline(&s[end..]).is_none() => true,
                Some(_) => self.re.is_match(s),
            },
            None => self.re.is_match(s),
        }
    }

    /// Matches `s`; `None` when the pattern does not match.
    pub(crate) fn parse(&mut self, s: &str) -> Option<Map> {
        let mut out = Map::with_capacity(self.groups.len());
        self.parse_with(s, |r| Value::from(&s[r]), &mut out)
            .then_some(out)
    }

    /// [`GroupMatcher::parse`] of a string value: the groups of a shared value are parts of
    /// it ([`Str::slice`]), so no text is copied.
    pub(crate) fn parse_str(&mut self, s: &Str) -> Option<Map> {
        let mut out = Map::with_capacity(self.groups.len());
        self.parse_str_into(s, &mut out).then_some(out)
    }

    /// [`GroupMatcher::parse_str`] into `out` (cleared first; left empty when the pattern
    /// does not match): a parser's own map, whose room is kept from entry to entry.
    pub(crate) fn parse_str_into(&mut self, s: &Str, out: &mut Map) -> bool {
        self.parse_with(s.as_str(), |r| Value::Str(s.slice(r)), out)
    }

    /// Matches `s` into `out` (cleared first); each group's value is `make` of its byte
    /// range in `s`. `false` when the pattern does not match.
    fn parse_with(
        &mut self,
        s: &str,
        make: impl Fn(std::ops::Range<usize>) -> Value,
        out: &mut Map,
    ) -> bool {
        out.clear();
        if let Some(t) = &mut self.tail
            && let Some(prefix_end) = t.prefix.captures(s)
        {
            let rest = &s[prefix_end..];
            let tail_end = match memchr_newline(rest) {
                None => Some(s.len()),
                Some(_) if t.anchored_end => None,
                Some(i) => Some(prefix_end + i),
            };
            if let Some(end) = tail_end {
                for (i, k) in &self.groups {
                    let v = if *i == t.group {
                        prefix_end..end
                    } else {
                        t.prefix.group(*i)
                    };
                    // Go's map keeps the last of duplicate names; names are usually distinct.
                    put(out, self.distinct, k, make(v));
                }
                return true;
            }
        } else if self.tail.is_some() {
            // The prefix does not match anywhere, so neither does the whole pattern.
            return false;
        }
        if self.re.captures(s).is_none() {
            return false;
        }
        for (i, k) in &self.groups {
            put(out, self.distinct, k, make(self.re.group(*i)));
        }
        true
    }
}

/// Sets a group's value: appended when the names are distinct, else the last one wins.
#[inline]
fn put(out: &mut Map, distinct: bool, k: &Key, v: Value) {
    if distinct {
        out.push_unchecked(k.clone(), v);
    } else {
        out.insert_key(k, v);
    }
}

fn memchr_newline(s: &str) -> Option<usize> {
    // Byte by byte, this scan of the message was half of the parser's own time.
    memchr::memchr(b'\n', s.as_bytes())
}

/// The prefix of a pattern `<prefix>(?P<name>.*)[$]`, compiled, when the split is exact.
fn split_tail(re: &Regex) -> Option<Tail> {
    use regex_syntax::ast::{self, Ast};
    let pattern = re.as_str();
    let parsed = ast::parse::Parser::new().parse(pattern).ok()?;
    let Ast::Concat(concat) = &parsed else {
        return None;
    };
    if has_flags(&parsed) {
        return None;
    }
    let items = &concat.asts;
    let (anchored_end, group_pos) = match items.last()? {
        Ast::Assertion(a)
            if matches!(
                a.kind,
                ast::AssertionKind::EndLine | ast::AssertionKind::EndText
            ) =>
        {
            (true, items.len().checked_sub(2)?)
        }
        _ => (false, items.len() - 1),
    };
    let Ast::Group(g) = &items[group_pos] else {
        return None;
    };
    if !matches!(
        g.kind,
        ast::GroupKind::CaptureName { .. } | ast::GroupKind::CaptureIndex(_)
    ) {
        return None;
    }
    let Ast::Repetition(rep) = &*g.ast else {
        return None;
    };
    let star = matches!(rep.op.kind, ast::RepetitionKind::ZeroOrMore);
    if !star || !rep.greedy || !matches!(&*rep.ast, Ast::Dot(_)) {
        return None;
    }
    let prefix_src = &pattern[..g.span.start.offset];
    let prefix = Regex::new(prefix_src).ok()?;
    // The tail group must be the last group opened, so the prefix numbers the others alike.
    let group = re.captures_len() - 1;
    if prefix.captures_len() != group {
        return None;
    }
    Some(Tail {
        prefix: Matcher::new(prefix),
        group,
        anchored_end,
    })
}

fn has_flags(a: &regex_syntax::ast::Ast) -> bool {
    use regex_syntax::ast::{Ast, GroupKind};
    match a {
        Ast::Flags(_) => true,
        Ast::Group(g) => matches!(g.kind, GroupKind::NonCapturing(_)) || has_flags(&g.ast),
        Ast::Concat(c) => c.asts.iter().any(has_flags),
        Ast::Alternation(x) => x.asts.iter().any(has_flags),
        Ast::Repetition(r) => has_flags(&r.ast),
        _ => false,
    }
}

pub(crate) struct RegexParser {
    parser: Parser,
    groups: GroupMatcher,
    cache: Option<Cache>,
    /// The groups of the entry being parsed (uncached), moved into place from here.
    scratch: Map,
}

impl Operator for RegexParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let RegexParser {
            parser,
            groups,
            cache,
            scratch,
        } = self;
        parser.process_parsed(e, out, move |v| {
            let Value::Str(s) = v else {
                return Err(format!("type '{}' cannot be parsed as regex", v.go_type()));
            };
            let no_match = || "regex pattern does not match".to_string();
            let Some(c) = cache.as_mut() else {
                // Into the parser's own map, moved into place from there: no map made and
                // freed per entry.
                if !groups.parse_str_into(s, scratch) {
                    return Err(no_match());
                }
                return Ok(Parsed::Drain(scratch));
            };
            if c.get(s).is_none() {
                let mut m = groups.parse_str(s).ok_or_else(no_match)?;
                // Shared: every later entry with the same input gets a copy.
                m.share_strings();
                if !c.add(s, &m) {
                    return Ok(Parsed::Value(Value::Map(m)));
                }
            }
            // Found, or just added.
            c.get(s).map(Parsed::Copy).ok_or_else(no_match)
        })
    }
}

/// Go's `helper.cache`: FIFO of at most `size` inputs; once full, at most a tenth of the
/// size (at least 1) may be replaced per 5 s, so a stream of unique inputs cannot churn it.
pub(crate) struct Cache {
    size: usize,
    map: HashMap<String, Map, foldhash::fast::RandomState>,
    order: VecDeque<String>,
    limit: usize,
    window_start: Instant,
    evictions: usize,
    /// The last shared input found, with its result (a result never changes while cached,
    /// and parsing the input again would give it too).
    last: Option<(Str, Map)>,
}

impl Cache {
    pub(crate) fn new(size: usize) -> Cache {
        Cache {
            size,
            map: HashMap::with_capacity_and_hasher(size, foldhash::fast::RandomState::default()),
            order: VecDeque::with_capacity(size),
            limit: (size / 10).max(1),
            window_start: Instant::now(),
            evictions: 0,
            last: None,
        }
    }

    /// The cached result for `k`. The file consumer's `log.file.path` is one shared value for
    /// every line of a file, so the last hit is remembered by that value and found again
    /// without hashing the text.
    pub(crate) fn get(&mut self, k: &Str) -> Option<&Map> {
        if matches!(&self.last, Some((last, _)) if Str::ptr_eq(last, k)) {
            return self.last.as_ref().map(|(_, m)| m);
        }
        if k.is_shared() {
            let m = self.map.get(k.as_str())?.clone();
            self.last = Some((k.clone(), m));
            return self.last.as_ref().map(|(_, m)| m);
        }
        self.map.get(k.as_str())
    }

    /// Keeps `v` as the result for `k`; false when the cache is full and may not replace
    /// more entries in this window.
    pub(crate) fn add(&mut self, k: &str, v: &Map) -> bool {
        if self.map.contains_key(k) {
            return true;
        }
        if self.map.len() >= self.size {
            if self.window_start.elapsed() >= Duration::from_secs(5) {
                self.window_start = Instant::now();
                self.evictions = 0;
            }
            if self.evictions >= self.limit {
                return false;
            }
            self.evictions += 1;
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(k.to_string());
        self.map.insert(k.to_string(), v.clone());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    const CONTAINERD: &str = r#"
- type: regex_parser
  id: parser-containerd
  regex: '^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'
"#;

    #[test]
    fn named_groups_become_string_attributes() {
        let out = run_one(
            CONTAINERD,
            Entry::with_body("2024-05-06T07:08:09.123456789Z stdout F hello world", 1),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].attributes,
            map! {"time" => "2024-05-06T07:08:09.123456789Z", "stream" => "stdout", "logtag" => "F", "log" => "hello world"}
        );
        // parse_from is not removed.
        assert_eq!(
            out[0].body,
            Value::from("2024-05-06T07:08:09.123456789Z stdout F hello world")
        );
    }

    #[test]
    fn optional_group_that_did_not_participate_is_empty_string() {
        let out = run_one(
            "- type: regex_parser\n  regex: '^(?P<a>x)?(?P<b>y)$'\n",
            Entry::with_body("y", 0),
        );
        assert_eq!(out[0].attributes, map! {"a" => "", "b" => "y"});
    }

    #[test]
    fn on_error_modes_for_a_line_that_does_not_match() {
        for (mode, sent) in [
            ("send", true),
            ("send_quiet", true),
            ("drop", false),
            ("drop_quiet", false),
        ] {
            let yaml =
                format!("- type: regex_parser\n  regex: '^(?P<a>\\d+)$'\n  on_error: {mode}\n");
            let mut p = pipeline(&yaml);
            let out = run(&mut p, vec![Entry::with_body("abc", 0)]);
            assert_eq!(out.len(), sent as usize, "{mode}");
            if sent {
                assert_eq!(out[0].body, Value::from("abc"));
                assert!(out[0].attributes.is_empty());
            }
            assert_eq!(p.error_count(), 1);
        }
    }

    #[test]
    fn parse_from_missing_or_not_a_string_is_an_error() {
        let yaml = "- type: regex_parser\n  regex: '(?P<a>.*)'\n  parse_from: attributes.x\n  on_error: drop\n";
        assert!(run_one(yaml, Entry::with_body("abc", 0)).is_empty());
        let yaml = "- type: regex_parser\n  regex: '(?P<a>.*)'\n  on_error: drop\n";
        assert!(run_one(yaml, Entry::with_body(5i64, 0)).is_empty());
    }

    #[test]
    fn parse_to_and_if() {
        let yaml = "- type: regex_parser\n  regex: '(?P<a>\\w+)'\n  parse_to: body\n  if: body startsWith 'x'\n";
        let out = run_one(yaml, Entry::with_body("xyz", 0));
        assert_eq!(out[0].body, Value::Map(map! {"a" => "xyz"}));
        let out = run_one(yaml, Entry::with_body("abc", 0));
        assert_eq!(out[0].body, Value::from("abc"));
        assert!(out[0].attributes.is_empty());
    }

    /// The parser moves each entry's groups out of a map of its own, kept between entries:
    /// nothing of one entry reaches the next, a non-matching entry gets nothing, groups
    /// replace attributes of the same name and join the others, and a map body or a nested
    /// target takes them as `set` of a map value would.
    #[test]
    fn each_entry_gets_its_own_groups_whatever_came_before() {
        let yaml =
            "- type: regex_parser\n  regex: '^(?P<k>\\w+)=(?P<v>\\w*)$'\n  on_error: send_quiet\n";
        let mut p = pipeline(yaml);
        let mut with_attr = Entry::with_body("b=2", 0);
        with_attr.attributes.insert("k", "old".into());
        with_attr.attributes.insert("z", "keep".into());
        let out = run(
            &mut p,
            vec![
                Entry::with_body("a=1", 0),
                Entry::with_body("no match", 0),
                with_attr,
                Entry::with_body("c=", 0),
            ],
        );
        assert_eq!(out[0].attributes, map! {"k" => "a", "v" => "1"});
        assert!(out[1].attributes.is_empty());
        assert_eq!(
            out[2].attributes,
            map! {"k" => "b", "z" => "keep", "v" => "2"}
        );
        assert_eq!(out[3].attributes, map! {"k" => "c", "v" => ""});

        let nested = "- type: regex_parser\n  regex: '^(?P<k>\\w+)=(?P<v>\\w*)$'\n  parse_to: attributes.p.q\n";
        let mut p = pipeline(nested);
        let out = run(
            &mut p,
            vec![Entry::with_body("a=1", 0), Entry::with_body("b=2", 0)],
        );
        assert_eq!(
            out[0].attributes,
            map! {"p" => map! {"q" => map! {"k" => "a", "v" => "1"}}}
        );
        assert_eq!(
            out[1].attributes,
            map! {"p" => map! {"q" => map! {"k" => "b", "v" => "2"}}}
        );

        let to_body = "- type: regex_parser\n  regex: '^(?P<k>\\w+)=(?P<v>\\w*)$'\n  parse_from: attributes.s\n  parse_to: body\n";
        let mut p = pipeline(to_body);
        let mut map_body = Entry::with_body(Value::Map(map! {"v" => "x", "w" => "y"}), 0);
        map_body.attributes.insert("s", "b=2".into());
        let mut text_body = Entry::with_body("text", 0);
        text_body.attributes.insert("s", "a=1".into());
        let out = run(&mut p, vec![text_body, map_body]);
        assert_eq!(out[0].body, Value::Map(map! {"k" => "a", "v" => "1"}));
        assert_eq!(
            out[1].body,
            Value::Map(map! {"v" => "2", "w" => "y", "k" => "b"})
        );
    }

    /// A file-path parser with a `cache` of `size`, parsing `attributes.p`.
    fn path_parser_with_cache(size: u32) -> crate::operator::Pipeline {
        pipeline(&format!(
            "- type: regex_parser\n  regex: '^(?P<ns>[^_]+)_(?P<pod>.+)$'\n  parse_from: attributes.p\n  cache:\n    size: {size}\n"
        ))
    }

    /// An entry whose `attributes.p` is `v`.
    fn with_p(v: impl Into<Value>) -> Entry {
        let mut e = Entry::default();
        e.attributes.insert("p", v.into());
        e
    }

    #[test]
    fn groups_of_a_shared_line_are_parts_of_it() {
        let line: std::sync::Arc<str> =
            std::sync::Arc::from("2024-05-06T07:08:09.123456789Z stdout F hello world");
        let out = run_one(
            CONTAINERD,
            Entry::with_body(Value::Str(Str::from(line.clone())), 1),
        );
        let attrs = &out[0].attributes;
        assert_eq!(
            *attrs,
            map! {"time" => "2024-05-06T07:08:09.123456789Z", "stream" => "stdout", "logtag" => "F", "log" => "hello world"}
        );
        for (k, at) in [("time", 0), ("stream", 31), ("logtag", 38), ("log", 40)] {
            let Some(Value::Str(s)) = attrs.get(k) else {
                panic!("{k} is not a string")
            };
            assert!(s.is_shared(), "{k}");
            assert_eq!(
                s.as_ptr(),
                line[at..].as_ptr(),
                "{k} is not a part of the line"
            );
        }
        // An owned line gives owned groups, equal to them.
        let out2 = run_one(
            CONTAINERD,
            Entry::with_body("2024-05-06T07:08:09.123456789Z stdout F hello world", 1),
        );
        assert_eq!(out2[0].attributes, *attrs);
        assert!(matches!(out2[0].attributes.get("log"), Some(Value::Str(s)) if !s.is_shared()));
    }

    #[test]
    fn a_cached_result_is_found_by_the_shared_input_and_by_its_text() {
        // One shared path per file (as the receiver's file attributes are), and another
        // value of the same text: all three lines get the same groups.
        let mut p = path_parser_with_cache(4);
        let path = Str::from("a_b").shared();
        let out = run(
            &mut p,
            vec![
                with_p(path.clone()),
                with_p(path.clone()),
                with_p(Str::from("a_b")),
                with_p(Str::from("c_d").shared()),
                with_p(path.clone()),
            ],
        );
        for i in [0, 1, 2, 4] {
            assert_eq!(out[i].attributes.get("ns"), Some(&Value::from("a")), "{i}");
            assert_eq!(out[i].attributes.get("pod"), Some(&Value::from("b")), "{i}");
        }
        assert_eq!(out[3].attributes.get("pod"), Some(&Value::from("d")));
        // Cached results are shared: copying them into each entry copies no text.
        assert!(matches!(out[1].attributes.get("pod"), Some(Value::Str(s)) if s.is_shared()));
    }

    #[test]
    fn the_last_hit_is_found_again_by_its_shared_input_without_hashing() {
        let mut c = Cache::new(4);
        let m = map! {"ns" => "a"};
        assert!(c.add("a_b", &m));
        let path = Str::from("a_b").shared();
        assert_eq!(c.get(&path), Some(&m));
        // Gone from the map (as after an eviction), the same shared input is still found:
        // by the remembered pointer, not by the text.
        c.map.clear();
        assert_eq!(c.get(&path), Some(&m));
        // Another value of that text is looked up by text, and is not there.
        assert_eq!(c.get(&Str::from("a_b").shared()), None);
        assert_eq!(c.get(&Str::from("a_b")), None);
    }

    #[test]
    fn a_full_cache_that_may_not_replace_more_still_parses() {
        // size 1: one replacement per 5 s window; the third distinct input is parsed
        // without being kept.
        let mut p = path_parser_with_cache(1);
        let out = run(
            &mut p,
            vec![with_p("a_b"), with_p("c_d"), with_p("e_f"), with_p("a_b")],
        );
        let pods: Vec<_> = out
            .iter()
            .map(|e| e.attributes.get("pod").cloned())
            .collect();
        assert_eq!(
            pods,
            ["b", "d", "f", "b"].map(|s| Some(Value::from(s))).to_vec()
        );
    }

    #[test]
    fn cache_gives_the_same_result() {
        let mut p = path_parser_with_cache(2);
        let out = run(
            &mut p,
            vec![
                with_p("a_b"),
                with_p("a_b"),
                with_p("c_d"),
                with_p("e_f"),
                with_p("a_b"),
            ],
        );
        assert_eq!(out[1].attributes.get("pod"), Some(&Value::from("b")));
        assert_eq!(out[4].attributes.get("ns"), Some(&Value::from("a")));
        assert_eq!(out[3].attributes.get("pod"), Some(&Value::from("f")));
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            build_err("- type: regex_parser\n"),
            "missing required field 'regex'"
        );
        assert_eq!(
            build_err("- type: regex_parser\n  regex: '.*'\n"),
            "no named capture groups in regex pattern"
        );
        assert!(
            build_err("- type: regex_parser\n  regex: '(?P<a>'\n").starts_with("compiling regex: ")
        );
        assert_eq!(
            build_err("- type: regex_parser\n  regex: '(?P<a>.*)'\n  on_error: explode\n"),
            "operator config has an invalid `on_error` field.: {\"on_error\":\"explode\"}"
        );
        assert!(
            build_err("- type: regex_parser\n  regex: '(?P<a>.*)'\n  if: 'body matches'\n")
                .starts_with("failed to compile expression 'body matches': ")
        );
    }

    /// The split-tail path must give exactly what the whole pattern gives.
    #[test]
    fn split_tail_matches_exactly_what_the_whole_pattern_matches() {
        let patterns = [
            r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$",
            r"(?P<level>[A-Z]+): (?P<msg>.*)",
            r"^(?P<a>\d+)?-(?P<rest>.*)\z",
            r"(?P<x>a|b)(?P<y>.*)$",
        ];
        let inputs = [
            "2024-05-01T12:00:00.123456789Z stdout F hello world",
            "2024-05-01T12:00:00Z stderr P ",
            "2024-05-01T12:00:00Z stderr P",
            "2024-05-01T12:00:00Z stdout F two\nlines",
            "x 2024-05-01T12:00:00Z stdout F embedded",
            "noise INFO: started\nsecond line",
            "ERROR: boom",
            "-just a dash",
            "12-numbered",
            "ab\nc",
            "zzz b",
            "",
            "no match here",
        ];
        for p in patterns {
            let mut split = GroupMatcher::new(goregex::compile(p).unwrap()).unwrap();
            assert!(split.tail.is_some(), "{p} should split");
            if p.starts_with("^(?P<time>") {
                let t = split.tail.as_ref().unwrap();
                assert!(
                    t.prefix.is_direct(),
                    "the container format's prefix is direct"
                );
            }
            let mut whole = GroupMatcher::new(goregex::compile(p).unwrap()).unwrap();
            whole.tail = None;
            whole.re = Matcher::without_direct(goregex::compile(p).unwrap());
            for s in inputs {
                assert_eq!(split.parse(s), whole.parse(s), "pattern {p:?} on {s:?}");
                assert_eq!(
                    split.is_match(s),
                    whole.is_match(s),
                    "is_match {p:?} on {s:?}"
                );
            }
        }
    }

    #[test]
    fn patterns_that_cannot_be_split_keep_the_whole_pattern() {
        for p in [
            r"(?s)^(?P<a>x)(?P<b>.*)$",
            r"^(?P<a>x)(?P<b>.*?)$",
            r"^(?P<a>x)(?P<b>.+)$",
            r"^(?P<a>x)|(?P<b>.*)$",
            r"^(?P<a>x)(?P<b>.*)y",
            r"^(?i:x)(?P<b>.*)$",
        ] {
            let m = GroupMatcher::new(goregex::compile(p).unwrap()).unwrap();
            assert!(m.tail.is_none(), "{p} must not split");
        }
    }
}
