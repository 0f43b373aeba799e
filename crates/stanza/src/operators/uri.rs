//! `uri_parser`: an absolute URI, an absolute path, or a bare query string (`?a=1`) becomes
//! a map of `scheme`, `user`, `host`, `port`, `path` (escaped as Go's `URL.EscapedPath`)
//! and `query` (name -> list of values), keys present only when non-empty. This is Go's
//! `url.ParseRequestURI` and `url.ParseQuery`, rewritten with their rules and error texts:
//! no fragment (a `#` is part of the path, as in a request line), scheme lowercased,
//! userinfo and host validated and unescaped, query pairs that fail to unescape skipped.

use serde::Deserialize;

use crate::entry::Entry;
use crate::operator::config::Spec;
use crate::operator::parser::{Parser, ParserKeys};
use crate::operator::{Next, Operator, Out};
use crate::value::{Key, Map, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    #[serde(flatten)]
    parser: ParserKeys,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(UriParser {
            parser: self.parser.build()?,
            keys: ["scheme", "user", "host", "port", "path", "query"].map(Key::named),
        }))
    }
}

struct UriParser {
    parser: Parser,
    /// The output keys, shared by every entry.
    keys: [Key; 6],
}

impl Operator for UriParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let keys = &self.keys;
        self.parser.process(e, out, |v| match v {
            Value::Str(s) => parse_uri(s, keys),
            other => Err(format!(
                "type '{}' cannot be parsed as URI",
                other.go_type()
            )),
        })
    }
}

fn parse_uri(s: &str, keys: &[Key; 6]) -> Result<Value, String> {
    let mut m = Map::new();
    if let Some(q) = s.strip_prefix('?') {
        let (query, err) = parse_query(q);
        if let Some(e) = err {
            return Err(e);
        }
        if !query.is_empty() {
            m.insert_key(&keys[5], query_value(query));
        }
        return Ok(Value::Map(m));
    }
    let u = parse_request_uri(s).map_err(|e| format!("parse {}: {e}", strconv_quote(s)))?;
    let (host, port) = split_host_port(&u.host);
    let path = escaped_path(&u.path, &u.raw_path);
    let fields = [u.scheme.as_str(), &u.user, host, port, &path];
    for (k, v) in keys.iter().zip(fields) {
        if !v.is_empty() {
            m.insert_key(k, Value::from(v.to_string()));
        }
    }
    let (query, _) = parse_query(&u.raw_query);
    if !query.is_empty() {
        m.insert_key(&keys[5], query_value(query));
    }
    Ok(Value::Map(m))
}

fn query_value(q: Vec<(String, Vec<String>)>) -> Value {
    let mut m = Map::with_capacity(q.len());
    for (k, vs) in q {
        m.insert(k, Value::List(vs.into_iter().map(Value::from).collect()));
    }
    Value::Map(m)
}

/// What of Go's `url.URL` the parser reports.
#[derive(Default, Debug)]
struct Url {
    scheme: String,
    user: String,
    host: String,
    /// Unescaped path.
    path: String,
    /// The path as written.
    raw_path: String,
    raw_query: String,
}

/// Go `url.ParseRequestURI` (the error without its `parse "<url>": ` prefix).
fn parse_request_uri(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    if raw.is_empty() {
        return Err("empty url".into());
    }
    let mut u = Url::default();
    if raw == "*" {
        u.path = "*".into();
        u.raw_path = "*".into();
        return Ok(u);
    }
    let (scheme, rest) = get_scheme(raw)?;
    u.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        rest = r;
        u.raw_query = q.to_string();
    }
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            // Opaque (`mailto:a@b`): no host, no path.
            return Ok(u);
        }
        return Err("invalid URI for request".into());
    }
    if !u.scheme.is_empty() && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        let (user, host) = parse_authority(authority)?;
        u.user = user;
        u.host = host;
        rest = path;
    }
    u.path = unescape(rest, Mode::Path)?;
    u.raw_path = rest.to_string();
    Ok(u)
}

fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// The user name and the host of `user:password@host:port`.
fn parse_authority(authority: &str) -> Result<(String, String), String> {
    let at = authority.rfind('@');
    let host = parse_host(at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(i) = at else {
        return Ok((String::new(), host));
    };
    let userinfo = &authority[..i];
    if !userinfo.bytes().all(valid_userinfo_byte) {
        return Err("net/url: invalid userinfo".into());
    }
    let (name, password) = match userinfo.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (userinfo, None),
    };
    let name = unescape(name, Mode::UserPassword)?;
    if let Some(p) = password {
        unescape(p, Mode::UserPassword)?;
    }
    Ok((name, host))
}

fn valid_userinfo_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c)
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!(
                "invalid port {} after host",
                strconv_quote(colon_port)
            ));
        }
        if let Some(zone) = host[..i].find("%25") {
            let h1 = unescape(&host[..zone], Mode::Host)?;
            let h2 = unescape(&host[zone..i], Mode::Zone)?;
            let h3 = unescape(&host[i..], Mode::Host)?;
            return Ok(h1 + &h2 + &h3);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!(
                "invalid port {} after host",
                strconv_quote(colon_port)
            ));
        }
    }
    unescape(host, Mode::Host)
}

/// Go `URL.Hostname` and `URL.Port`.
fn split_host_port(host_port: &str) -> (&str, &str) {
    let mut host = host_port;
    let mut port = "";
    if let Some(i) = host.rfind(':')
        && valid_optional_port(&host[i..])
    {
        port = &host[i + 1..];
        host = &host[..i];
    }
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        host = &host[1..host.len() - 1];
    }
    (host, port)
}

/// Go `URL.EscapedPath`: the path as written when that is a valid encoding of it,
/// otherwise the path escaped.
fn escaped_path(path: &str, raw: &str) -> String {
    if path == "*" {
        return "*".into();
    }
    let valid = raw.bytes().all(|c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, Mode::Path)
    });
    if valid {
        raw.to_string()
    } else {
        escape(path, Mode::Path)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    QueryComponent,
}

/// Go `shouldEscape` for the modes used here.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::QueryComponent => true,
            Mode::Host | Mode::Zone => true,
        },
        _ => true,
    }
}

fn escape(s: &str, mode: Mode) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() + 8);
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push('%');
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 15)] as char);
        } else {
            out.push(c as char);
        }
    }
    out
}

fn unhex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Go `unescape` with its checks and errors (`invalid URL escape "%zz"`, `invalid
/// character " " in host name`).
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(unhex),
                    b.get(i + 2).copied().and_then(unhex),
                ) else {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {}",
                        strconv_quote(&String::from_utf8_lossy(&b[i..end]))
                    ));
                };
                let v = h << 4 | l;
                let is_25 = &b[i..i + 3] == b"%25";
                // In a host, %-encoding is only for non-ASCII bytes (RFC 3986 3.2.2).
                let bad = match mode {
                    Mode::Host => h < 8 && !is_25,
                    Mode::Zone => !is_25 && v != b' ' && should_escape(v, Mode::Host),
                    _ => false,
                };
                if bad {
                    return Err(format!(
                        "invalid URL escape {}",
                        strconv_quote(&s[i..i + 3])
                    ));
                }
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(if mode == Mode::QueryComponent {
                    b' '
                } else {
                    b'+'
                });
                i += 1;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        strconv_quote(&s[i..i + 1])
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    // Go strings hold any bytes; a pdata string must be UTF-8.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Go `url.ParseQuery`: the values in first-seen key order, and the first error (pairs
/// that fail are skipped, the rest still parsed).
fn parse_query(q: &str) -> (Vec<(String, Vec<String>)>, Option<String>) {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut err = None;
    for pair in q.split('&') {
        if pair.contains(';') {
            err = Some("invalid semicolon separator in query".to_string());
            continue;
        }
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = match (
            unescape(k, Mode::QueryComponent),
            unescape(v, Mode::QueryComponent),
        ) {
            (Ok(k), Ok(v)) => (k, v),
            (Err(e), _) | (_, Err(e)) => {
                err.get_or_insert(e);
                continue;
            }
        };
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some((_, vs)) => vs.push(v),
            None => out.push((k, vec![v])),
        }
    }
    (out, err)
}

/// Go `strconv.Quote`.
fn strconv_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::from(*s)).collect())
    }

    fn parsed(line: &str) -> Result<Map, String> {
        let mut p = pipeline("- type: uri_parser\n");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        p.set_error_hook(Box::new(move |e| {
            s2.lock().unwrap().push(e.message.to_string())
        }));
        let out = run(&mut p, vec![Entry::with_body(line, 0)]);
        if let Some(e) = seen.lock().unwrap().first() {
            return Err(e.clone());
        }
        Ok(out[0].attributes.clone())
    }

    // Expected values from otelcol-contrib 0.135 (filelog -> otlphttp json).
    #[test]
    fn parses_uris_like_go_parse_request_uri() {
        let cases: Vec<(&str, Map)> = vec![
            (
                "https://dev:pa%41ss@example.com:8443/app/path%20x/a%2Fb?q=1&q=2&x=a+b&e=%zz#frag",
                map! {"scheme" => "https", "user" => "dev", "host" => "example.com",
                "port" => "8443", "path" => "/app/path%20x/a%2Fb",
                "query" => map!{"q" => list(&["1", "2"]), "x" => list(&["a b"])}},
            ),
            (
                "/path?x=y",
                map! {"path" => "/path", "query" => map!{"x" => list(&["y"])}},
            ),
            (
                "mailto:a@b.com?s=x",
                map! {"scheme" => "mailto", "query" => map!{"s" => list(&["x"])}},
            ),
            (
                "http://[::1]:80/p",
                map! {"scheme" => "http", "host" => "::1", "port" => "80", "path" => "/p"},
            ),
            (
                "/a b/ü/it's(x)*!?k=v;w&z=1",
                map! {"path" => "/a%20b/%C3%BC/it%27s%28x%29%2A%21",
                "query" => map!{"z" => list(&["1"])}},
            ),
            (
                "http://user@host/p%41",
                map! {"scheme" => "http", "user" => "user", "host" => "host", "path" => "/p%41"},
            ),
            ("*", map! {"path" => "*"}),
            (
                "HTTP://Host.COM/",
                map! {"scheme" => "http", "host" => "Host.COM", "path" => "/"},
            ),
            (
                "/p?%zz=1&k=v&&=&k",
                map! {"path" => "/p", "query" => map!{"k" => list(&["v", ""]), "" => list(&[""])}},
            ),
            (
                "http://a@b@c/x",
                map! {"scheme" => "http", "user" => "a@b", "host" => "c", "path" => "/x"},
            ),
            (
                "http://h/x#y?z",
                map! {"scheme" => "http", "host" => "h", "path" => "/x%23y",
                "query" => map!{"z" => list(&[""])}},
            ),
            ("//x/y", map! {"path" => "//x/y"}),
            (
                "http://u:@h/",
                map! {"scheme" => "http", "user" => "u", "host" => "h", "path" => "/"},
            ),
            (
                "http://:p@h/",
                map! {"scheme" => "http", "host" => "h", "path" => "/"},
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parsed(line), Ok(want), "{line}");
        }
    }

    #[test]
    fn bare_query_strings_give_only_the_query() {
        assert_eq!(
            parsed("?a=1&b=2&a=3"),
            Ok(map! {"query" => map!{"a" => list(&["1", "3"]), "b" => list(&["2"])}})
        );
        // Unlike a query inside a URI, a bare query's errors fail the parse.
        assert_eq!(parsed("?a=%zz"), Err("invalid URL escape \"%zz\"".into()));
        assert_eq!(
            parsed("?a;b=1"),
            Err("invalid semicolon separator in query".into())
        );
    }

    #[test]
    fn errors_match_go() {
        let cases = [
            (
                "example.com",
                "parse \"example.com\": invalid URI for request",
            ),
            (
                "http://host:abc/",
                "parse \"http://host:abc/\": invalid port \":abc\" after host",
            ),
            (
                "http://exa mple.com/",
                "parse \"http://exa mple.com/\": invalid character \" \" in host name",
            ),
            (
                "http://%41b.com/",
                "parse \"http://%41b.com/\": invalid URL escape \"%41\"",
            ),
            (
                "1http://x/",
                "parse \"1http://x/\": invalid URI for request",
            ),
            (":foo", "parse \":foo\": missing protocol scheme"),
        ];
        for (line, want) in cases {
            assert_eq!(parsed(line), Err(want.to_string()), "{line}");
        }
        let mut e = Entry::with_body("b", 0);
        e.attributes.insert("n", Value::Int(1));
        let mut p = pipeline("- type: uri_parser\n  parse_from: attributes.n\n");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let s2 = seen.clone();
        p.set_error_hook(Box::new(move |e| {
            *s2.lock().unwrap() = e.message.to_string()
        }));
        run(&mut p, vec![e]);
        assert_eq!(
            *seen.lock().unwrap(),
            "type 'int64' cannot be parsed as URI"
        );
    }

    #[test]
    fn on_error_modes_and_parse_to() {
        for (mode, sent) in [
            ("send", true),
            ("send_quiet", true),
            ("drop", false),
            ("drop_quiet", false),
        ] {
            let out = run_one(
                &format!("- type: uri_parser\n  on_error: {mode}\n"),
                Entry::with_body("example.com", 0),
            );
            assert_eq!(out.len(), usize::from(sent), "{mode}");
        }
        let out = run_one(
            "- type: uri_parser\n  parse_to: attributes.url\n",
            Entry::with_body("/x", 0),
        );
        assert_eq!(out[0].attributes, map! {"url" => map!{"path" => "/x"}});
    }
}
