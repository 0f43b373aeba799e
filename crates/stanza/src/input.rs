//! Network inputs, as Go's `tcp_input`, `udp_input` and `syslog_input` operators define them:
//! their keys, defaults and build errors, how a TCP byte stream or a UDP datagram is cut into
//! log entries (newline or `multiline` split, trimming, RFC 6587 octet counting,
//! `max_log_size`), the body decoding, and the `net.*` attributes of `add_attributes`.
//!
//! The sockets belong to the receiver that runs them (ferrotel's `tcp_log`, `udp_log` and
//! `syslog`): this module does no I/O, so that framing is tested alone. The splitter and the
//! decoders are the file input's ([`fileconsumer::split`], [`fileconsumer::decode`]), as Go
//! shares `pkg/stanza/split` between its inputs.
//!
//! ```
//! use stanza::input::TcpConfig;
//!
//! let cfg: TcpConfig = serde_json::from_str(r#"{"listen_address": "127.0.0.1:54525"}"#).unwrap();
//! let input = cfg.build().unwrap();
//! let mut framer = input.framer();
//! let data = b"first\nsecond\npartial";
//! let mut tokens = Vec::new();
//! let mut at = 0;
//! while let Some(f) = framer.next(&data[at..], false) {
//!     tokens.push(input.decode(&data[at..][f.range.clone()]));
//!     at += f.advance;
//! }
//! assert_eq!(tokens, ["first", "second"]);
//! assert_eq!(&data[at..], b"partial"); // kept until its newline (or the end of the stream)
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use config::StanzaByteSize as ByteSize;
pub use fileconsumer::config::MultilineConfig;
use fileconsumer::decode::Encoding;
pub use fileconsumer::split::Found;
use fileconsumer::split::{FlushState, Splitter};
use serde::Deserialize;

use crate::entry::Entry;
use crate::operator::OperatorConfig;
use crate::value::Value;

/// Go's `tcp.minMaxLogSize`: the smallest `max_log_size` a TCP input takes.
pub const TCP_MIN_MAX_LOG_SIZE: i64 = 64 * 1024;
/// Go's `tcp.DefaultMaxLogSize`, used when `max_log_size` is 0 or unset.
pub const TCP_DEFAULT_MAX_LOG_SIZE: i64 = 1024 * 1024;
/// Go's `udp.MaxUDPSize`: the read buffer, and the longest entry a datagram gives.
pub const MAX_UDP_SIZE: usize = 64 * 1024;

/// The keys of Go's `tcp.BaseConfig` (the `tcp_log` receiver's own keys, `syslog`'s `tcp`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpConfig {
    pub max_log_size: ByteSize,
    pub listen_address: String,
    /// Go's `configtls.ServerConfig`, kept as written: the receiver that runs the input
    /// decodes and serves it (this crate has no TLS).
    pub tls: Option<serde_json::Value>,
    pub add_attributes: bool,
    pub one_log_per_packet: bool,
    pub encoding: String,
    pub multiline: Option<MultilineConfig>,
    pub preserve_leading_whitespaces: bool,
    pub preserve_trailing_whitespaces: bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_log_size: ByteSize(0),
            listen_address: String::new(),
            tls: None,
            add_attributes: false,
            one_log_per_packet: false,
            encoding: "utf-8".into(),
            multiline: None,
            preserve_leading_whitespaces: false,
            preserve_trailing_whitespaces: false,
        }
    }
}

/// `async` of a UDP input (Go's `udp.AsyncConfig`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsyncConfig {
    pub readers: i64,
    pub processors: i64,
    pub max_queue_length: i64,
}

/// The keys of Go's `udp.BaseConfig` (the `udp_log` receiver's own keys, `syslog`'s `udp`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UdpConfig {
    pub listen_address: String,
    pub one_log_per_packet: bool,
    pub add_attributes: bool,
    pub encoding: String,
    /// Unset: Go's default `line_end_pattern: .^`, which never matches, so a datagram is one
    /// entry.
    pub multiline: Option<MultilineConfig>,
    pub preserve_leading_whitespaces: bool,
    pub preserve_trailing_whitespaces: bool,
    #[serde(rename = "async")]
    pub async_config: Option<AsyncConfig>,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            listen_address: String::new(),
            one_log_per_packet: false,
            add_attributes: false,
            encoding: "utf-8".into(),
            multiline: None,
            preserve_leading_whitespaces: false,
            preserve_trailing_whitespaces: false,
            async_config: None,
        }
    }
}

/// Checks `listen_address` as Go's `net.Resolve{TCP,UDP}Addr` would refuse it (host names
/// are resolved when the receiver binds).
fn check_listen_address(addr: &str) -> Result<(), String> {
    if addr.is_empty() {
        return Err("missing required parameter 'listen_address'".into());
    }
    let fail = |why: &str| {
        Err(format!(
            "failed to resolve listen_address: address {addr}: {why}"
        ))
    };
    let port = if let Some(rest) = addr.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, p)) => match p.strip_prefix(':') {
                Some(p) => p,
                None => return fail("missing port in address"),
            },
            None => return fail("missing ']' in address"),
        }
    } else {
        match addr.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => return fail("too many colons in address"),
            Some((_, p)) => p,
            None => return fail("missing port in address"),
        }
    };
    if !port.is_empty() && port.parse::<u16>().is_err() {
        return Err(format!(
            "failed to resolve listen_address: lookup port {port}: invalid port"
        ));
    }
    Ok(())
}

fn splitter_config(
    multiline: Option<MultilineConfig>,
    leading: bool,
    trailing: bool,
    max_log_size: usize,
    encoding: &str,
) -> fileconsumer::Config {
    fileconsumer::Config {
        multiline,
        preserve_leading_whitespaces: leading,
        preserve_trailing_whitespaces: trailing,
        max_log_size: ByteSize(max_log_size as i64),
        // A socket has no "file stopped growing": the end of a stream flushes instead.
        force_flush_period: config::Duration::ZERO,
        encoding: encoding.into(),
        ..fileconsumer::Config::default()
    }
}

/// How a TCP stream is cut.
#[derive(Debug, Clone)]
enum Framing {
    Split(Splitter),
    /// RFC 6587 octet counting (`syslog` with `enable_octet_counting`): `<len> <frame>`.
    Octets,
}

/// A built TCP input: what a receiver needs to run one.
#[derive(Debug, Clone)]
pub struct TcpInput {
    pub listen_address: String,
    pub max_log_size: usize,
    pub add_attributes: bool,
    pub one_log_per_packet: bool,
    /// The `tls` block as written (see [`TcpConfig::tls`]).
    pub tls: Option<serde_json::Value>,
    encoding: Encoding,
    framing: Framing,
    trim: (bool, bool),
}

impl TcpConfig {
    /// Validates as Go's `tcp.Config.Build`, with its error texts.
    pub fn build(&self) -> Result<TcpInput, String> {
        let max = if self.max_log_size.0 == 0 {
            TCP_DEFAULT_MAX_LOG_SIZE
        } else {
            self.max_log_size.0
        };
        if max < TCP_MIN_MAX_LOG_SIZE {
            return Err(format!(
                "invalid value for parameter 'max_log_size', must be equal to or greater than {TCP_MIN_MAX_LOG_SIZE} bytes"
            ));
        }
        check_listen_address(&self.listen_address)?;
        let encoding = Encoding::lookup(&self.encoding)?;
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let cfg = splitter_config(
            self.multiline.clone(),
            self.preserve_leading_whitespaces,
            self.preserve_trailing_whitespaces,
            max,
            &self.encoding,
        );
        let splitter = Splitter::new(&cfg, encoding)?;
        Ok(TcpInput {
            listen_address: self.listen_address.clone(),
            max_log_size: max,
            add_attributes: self.add_attributes,
            one_log_per_packet: self.one_log_per_packet,
            tls: self.tls.clone().filter(|v| !v.is_null()),
            encoding,
            framing: Framing::Split(splitter),
            trim: (
                !self.preserve_leading_whitespaces,
                !self.preserve_trailing_whitespaces,
            ),
        })
    }
}

impl TcpInput {
    /// Frames by RFC 6587 octet counting instead of the split config (Go's syslog
    /// `OctetSplitFuncBuilder`): each token is `<len> <frame>`, whole.
    pub fn with_octet_counting(mut self) -> TcpInput {
        self.framing = Framing::Octets;
        self
    }

    /// The per-connection framing state.
    pub fn framer(&self) -> StreamFramer<'_> {
        StreamFramer {
            input: self,
            flush: FlushState::new(SystemTime::UNIX_EPOCH),
            skip: 0,
        }
    }

    /// A token's text (Go decodes every token to a string body).
    pub fn decode(&self, raw: &[u8]) -> String {
        self.encoding.decode(raw)
    }

    /// The token of `one_log_per_packet`: the whole stream, cut at `max_log_size`.
    pub fn whole_stream<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[..data.len().min(self.max_log_size)]
    }
}

/// Cuts one TCP connection's bytes into tokens. The caller keeps the unread bytes and
/// calls [`StreamFramer::next`] on them; a token is never longer than `max_log_size`, so a
/// client that never sends a delimiter cannot make the caller buffer more than that.
pub struct StreamFramer<'a> {
    input: &'a TcpInput,
    flush: FlushState,
    /// Octet counting: bytes of an oversized frame still to drop.
    skip: usize,
}

impl StreamFramer<'_> {
    /// The next token in `data` (the connection's unread bytes), or `None` for more data.
    /// `at_eof`: the peer closed; what is left is one last token (Go flushes at EOF).
    /// A `dropped` result carries no token, only bytes to skip.
    pub fn next(&mut self, data: &[u8], at_eof: bool) -> Option<Found> {
        match &self.input.framing {
            Framing::Split(s) => {
                let found = s.next(data, at_eof, &mut self.flush, SystemTime::UNIX_EPOCH);
                if found.is_some() || !at_eof || data.is_empty() {
                    return found;
                }
                let end = data.len().min(self.input.max_log_size);
                Some(Found {
                    advance: end,
                    range: trimmed(data, 0..end, self.input.trim),
                    dropped: false,
                })
            }
            Framing::Octets => self.octets(data, at_eof),
        }
    }

    fn octets(&mut self, data: &[u8], at_eof: bool) -> Option<Found> {
        if data.is_empty() {
            return None;
        }
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            return Some(Found {
                advance: n,
                range: 0..0,
                dropped: true,
            });
        }
        let max = self.input.max_log_size;
        let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
        let header = data[0] != b'0'
            && digits > 0
            && digits < data.len()
            && data[digits].is_ascii_whitespace();
        if header {
            // a length that does not fit is larger than any max_log_size
            let len = std::str::from_utf8(&data[..digits])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            let advance = (digits + 1).saturating_add(len);
            if advance <= data.len() {
                return Some(Found {
                    advance,
                    range: 0..advance,
                    dropped: false,
                });
            }
            if advance > max {
                // Go's scanner gives up on the connection here; dropping the one frame
                // keeps the connection and the memory bound.
                tracing::warn!(
                    frame_length = len,
                    max_log_size = max,
                    "octet-counted syslog frame longer than max_log_size dropped"
                );
                self.skip = advance - data.len();
                return Some(Found {
                    advance: data.len(),
                    range: 0..0,
                    dropped: true,
                });
            }
            if at_eof {
                return Some(Found {
                    advance: data.len(),
                    range: 0..data.len(),
                    dropped: false,
                });
            }
            return None;
        }
        if digits == data.len() && digits <= 20 && !at_eof {
            return None; // the length may still be arriving
        }
        // Not a frame. Go waits for one until its buffer is full and then drops the
        // connection; here the bytes up to the next newline go to the parser, which
        // reports them, and the connection goes on.
        let end = match data.iter().position(|&b| b == b'\n') {
            Some(i) => Some((i + 1, i)),
            None if at_eof || data.len() >= max => {
                let n = data.len().min(max);
                Some((n, n))
            }
            None => None,
        };
        end.map(|(advance, end)| Found {
            advance,
            range: 0..end,
            dropped: false,
        })
    }
}

/// Go's `trim.Func`: `\r\n\t ` off the ends unless preserved.
fn trimmed(
    data: &[u8],
    r: std::ops::Range<usize>,
    (leading, trailing): (bool, bool),
) -> std::ops::Range<usize> {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let (mut s, mut e) = (r.start, r.end);
    if leading {
        while s < e && ws(&data[s]) {
            s += 1;
        }
    }
    if trailing {
        while e > s && ws(&data[e - 1]) {
            e -= 1;
        }
    }
    s..e
}

/// A built UDP input.
#[derive(Debug, Clone)]
pub struct UdpInput {
    pub listen_address: String,
    pub add_attributes: bool,
    pub one_log_per_packet: bool,
    /// `async.readers` (Go's default 1 when `async` is set); 1 without `async`.
    pub readers: usize,
    encoding: Encoding,
    splitter: Splitter,
    trim: (bool, bool),
}

impl UdpConfig {
    /// Validates as Go's `udp.Config.Build`, with its error texts.
    pub fn build(&self) -> Result<UdpInput, String> {
        check_listen_address(&self.listen_address)?;
        let encoding = Encoding::lookup(&self.encoding)?;
        let multiline = self.multiline.clone().or_else(|| {
            Some(MultilineConfig {
                line_end_pattern: ".^".into(),
                ..MultilineConfig::default()
            })
        });
        let cfg = splitter_config(
            multiline,
            self.preserve_leading_whitespaces,
            self.preserve_trailing_whitespaces,
            MAX_UDP_SIZE,
            &self.encoding,
        );
        let splitter = Splitter::new(&cfg, encoding)?;
        let readers = match &self.async_config {
            Some(a) if a.readers > 0 => usize::try_from(a.readers).unwrap_or(1),
            _ => 1,
        };
        Ok(UdpInput {
            listen_address: self.listen_address.clone(),
            add_attributes: self.add_attributes,
            one_log_per_packet: self.one_log_per_packet,
            readers,
            encoding,
            splitter,
            trim: (
                !self.preserve_leading_whitespaces,
                !self.preserve_trailing_whitespaces,
            ),
        })
    }
}

impl UdpInput {
    /// The tokens of one datagram, as Go's UDP input cuts it: trailing control characters
    /// and NULs off, then the whole datagram (`one_log_per_packet`) or the split config
    /// over it with the end of the datagram as the end of the stream.
    pub fn tokens(&self, packet: &[u8], mut each: impl FnMut(String)) {
        let mut n = packet.len().min(MAX_UDP_SIZE);
        while n > 0 && packet[n - 1] < 32 {
            n -= 1;
        }
        let data = &packet[..n];
        if self.one_log_per_packet {
            each(self.encoding.decode(data));
            return;
        }
        let mut flush = FlushState::new(SystemTime::UNIX_EPOCH);
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            let found = self
                .splitter
                .next(rest, true, &mut flush, SystemTime::UNIX_EPOCH);
            let f = match found {
                Some(f) if f.advance > 0 => f,
                // the end of the datagram ends the last token
                _ => {
                    let r = trimmed(rest, 0..rest.len(), self.trim);
                    if !r.is_empty() {
                        each(self.encoding.decode(&rest[r]));
                    }
                    return;
                }
            };
            if !f.dropped {
                each(self.encoding.decode(&rest[f.range]));
            }
            at += f.advance;
        }
    }
}

/// `net.*` host names as Go's `helper.IPResolver` finds them, from `/etc/hosts` only: Go
/// asks the system resolver, which may send a reverse DNS query per new peer; this never
/// leaves the machine. An address without a name is its own name, as in Go.
#[derive(Debug, Default)]
pub struct HostResolver {
    names: HashMap<IpAddr, String>,
}

impl HostResolver {
    /// Reads `/etc/hosts` (a missing or unreadable file gives no names).
    pub fn from_system() -> HostResolver {
        std::fs::read_to_string("/etc/hosts")
            .map(|t| HostResolver::from_hosts(&t))
            .unwrap_or_default()
    }

    /// Parses hosts-file text: the first name of an address wins.
    pub fn from_hosts(text: &str) -> HostResolver {
        let mut names = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let (Some(ip), Some(name)) = (fields.next(), fields.next()) else {
                continue;
            };
            if let Ok(ip) = ip.parse::<IpAddr>() {
                names.entry(ip).or_insert_with(|| name.to_string());
            }
        }
        HostResolver { names }
    }

    pub fn name(&self, ip: IpAddr) -> String {
        match self.names.get(&ip) {
            Some(n) => n.clone(),
            None => ip.to_string(),
        }
    }
}

/// The transport of `net.transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// Adds Go's `add_attributes` set (`net.transport`, `net.peer.*`, `net.host.*`, ports as
/// strings) in Go's order: TCP names the peer first, UDP the host.
pub fn add_net_attributes(
    e: &mut Entry,
    transport: Transport,
    peer: SocketAddr,
    local: SocketAddr,
    resolver: &HostResolver,
) {
    let ip = |a: SocketAddr| a.ip().to_canonical();
    let side = |e: &mut Entry, which: &str, a: SocketAddr| {
        e.attributes.insert(
            format!("net.{which}.ip").as_str(),
            Value::from(ip(a).to_string()),
        );
        e.attributes.insert(
            format!("net.{which}.port").as_str(),
            Value::from(a.port().to_string()),
        );
        e.attributes.insert(
            format!("net.{which}.name").as_str(),
            Value::from(resolver.name(ip(a))),
        );
    };
    match transport {
        Transport::Tcp => {
            e.attributes.insert("net.transport", Value::from("IP.TCP"));
            side(e, "peer", peer);
            side(e, "host", local);
        }
        Transport::Udp => {
            e.attributes.insert("net.transport", Value::from("IP.UDP"));
            side(e, "host", local);
            side(e, "peer", peer);
        }
    }
}

/// The keys of Go's `syslog_input` (the `syslog` receiver's own keys).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyslogConfig {
    pub protocol: String,
    pub location: String,
    pub enable_octet_counting: bool,
    pub allow_skip_pri_header: bool,
    pub non_transparent_framing_trailer: Option<String>,
    pub max_octets: i64,
    pub tcp: Option<TcpConfig>,
    pub udp: Option<UdpConfig>,
    pub on_error: String,
}

/// The socket side of a built syslog input.
#[derive(Debug, Clone)]
pub enum SyslogTransport {
    Tcp(TcpInput),
    Udp(UdpInput),
}

/// A built syslog input: the socket, and the parser that goes first in the operators.
#[derive(Debug, Clone)]
pub struct SyslogInput {
    pub transport: SyslogTransport,
    pub parser: OperatorConfig,
}

impl SyslogConfig {
    /// Validates as Go's `syslog.Config.Build` (errors wrapped as it wraps them); `id` is
    /// the input's id (`syslog_input`), which names the internal parser.
    pub fn build(&self, id: &str) -> Result<SyslogInput, String> {
        let mut parser = serde_json::json!({
            "type": "syslog_parser",
            "id": format!("{id}_internal_parser"),
            "protocol": self.protocol,
            "location": self.location,
            "enable_octet_counting": self.enable_octet_counting,
            "allow_skip_pri_header": self.allow_skip_pri_header,
            "max_octets": self.max_octets,
        });
        if let Some(t) = &self.non_transparent_framing_trailer {
            parser["non_transparent_framing_trailer"] = serde_json::Value::from(t.as_str());
        }
        if !self.on_error.is_empty() {
            parser["on_error"] = serde_json::Value::from(self.on_error.as_str());
        }
        let wrap = |m: String| format!("failed to resolve syslog config: {m}");
        let parser = OperatorConfig::from_json(&parser).map_err(wrap)?;
        crate::Pipeline::build(std::slice::from_ref(&parser)).map_err(|e| wrap(e.message))?;
        if let Some(tcp) = &self.tcp {
            let input = tcp
                .build()
                .map_err(|m| format!("failed to resolve tcp config: {m}"))?;
            let input = if self.enable_octet_counting {
                input.with_octet_counting()
            } else {
                input
            };
            return Ok(SyslogInput {
                transport: SyslogTransport::Tcp(input),
                parser,
            });
        }
        if let Some(udp) = &self.udp {
            if self.enable_octet_counting || self.non_transparent_framing_trailer.is_some() {
                return Err(
                    "octet_counting and non_transparent_framing is not compatible with UDP".into(),
                );
            }
            let input = udp
                .build()
                .map_err(|m| format!("failed to resolve udp config: {m}"))?;
            return Ok(SyslogInput {
                transport: SyslogTransport::Udp(input),
                parser,
            });
        }
        Err("need tcp config or udp config".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(json: &str) -> Result<TcpInput, String> {
        serde_json::from_str::<TcpConfig>(json)
            .map_err(|e| e.to_string())?
            .build()
    }

    fn frames(input: &TcpInput, data: &[u8], at_eof: bool) -> (Vec<String>, usize) {
        let mut f = input.framer();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(found) = f.next(&data[at..], at_eof) {
            if !found.dropped {
                out.push(input.decode(&data[at..][found.range.clone()]));
            }
            at += found.advance;
            if at >= data.len() {
                break;
            }
        }
        (out, at)
    }

    #[test]
    fn tcp_config_errors_match_go() {
        let cases = [
            (r#"{}"#, "missing required parameter 'listen_address'"),
            (
                r#"{"listen_address":"127.0.0.1:1","max_log_size":"1KiB"}"#,
                "invalid value for parameter 'max_log_size', must be equal to or greater than 65536 bytes",
            ),
            (
                r#"{"listen_address":"127.0.0.1"}"#,
                "failed to resolve listen_address: address 127.0.0.1: missing port in address",
            ),
            (
                r#"{"listen_address":"127.0.0.1:1","encoding":"nope"}"#,
                "unsupported encoding 'nope'",
            ),
        ];
        for (cfg, want) in cases {
            let err = tcp(cfg).unwrap_err();
            assert!(err.contains(want), "{cfg}: {err}");
        }
        assert!(tcp(r#"{"listen_address":"localhost:0"}"#).is_ok());
        // The receiver decodes and serves `tls`; the input keeps it as written.
        let with_tls = tcp(r#"{"listen_address":"127.0.0.1:1","tls":{"cert_file":"a"}}"#).unwrap();
        assert_eq!(with_tls.tls, Some(serde_json::json!({"cert_file": "a"})));
        assert!(tcp(r#"{"listen_address":":514"}"#).is_ok());
        assert!(tcp(r#"{"listen_address":"[::1]:514"}"#).is_ok());
        let unknown = serde_json::from_str::<TcpConfig>(r#"{"listen":"x"}"#).unwrap_err();
        assert!(unknown.to_string().contains("unknown field `listen`"));
    }

    #[test]
    fn tcp_splits_lines_and_keeps_the_partial_tail() {
        let input = tcp(r#"{"listen_address":"127.0.0.1:1"}"#).unwrap();
        let (got, at) = frames(&input, b"  one \r\ntwo\n\nthree", false);
        assert_eq!(got, ["one", "two", ""]);
        assert_eq!(at, 13);
        // the peer closed: the tail is the last entry
        let (got, _) = frames(&input, b"one\ntail  ", true);
        assert_eq!(got, ["one", "tail"]);
    }

    #[test]
    fn tcp_multiline_line_start() {
        let input =
            tcp(r#"{"listen_address":"127.0.0.1:1","multiline":{"line_start_pattern":"^\\d"}}"#)
                .unwrap();
        let (got, _) = frames(&input, b"1 a\n  b\n2 c\n3", false);
        assert_eq!(got, ["1 a\n  b", "2 c"]);
    }

    #[test]
    fn tcp_line_without_newline_is_cut_at_max_log_size() {
        let input = tcp(r#"{"listen_address":"127.0.0.1:1","max_log_size":65536}"#).unwrap();
        let data = vec![b'x'; 65536 * 2 + 10];
        let (got, at) = frames(&input, &data, false);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|t| t.len() == 65536));
        assert_eq!(at, 65536 * 2);
    }

    #[test]
    fn octet_counting_frames() {
        let input = tcp(r#"{"listen_address":"127.0.0.1:1"}"#)
            .unwrap()
            .with_octet_counting();
        let data = b"5 hello3 abc12 incomplete";
        let (got, at) = frames(&input, data, false);
        assert_eq!(got, ["5 hello", "3 abc"]);
        assert_eq!(at, 12);
        // length still arriving
        assert_eq!(frames(&input, b"12", false).0, Vec::<String>::new());
        // not a frame: up to the newline goes to the parser, the rest goes on
        let (got, _) = frames(&input, b"garbage line\n5 hello", false);
        assert_eq!(got, ["garbage line", "5 hello"]);
        // at the end, an incomplete frame is flushed as it is (Go)
        assert_eq!(frames(&input, b"9 abc", true).0, ["9 abc"]);
    }

    #[test]
    fn octet_frame_over_max_log_size_is_dropped_and_the_next_one_read() {
        let input = tcp(r#"{"listen_address":"127.0.0.1:1","max_log_size":65536}"#)
            .unwrap()
            .with_octet_counting();
        let mut data = b"70000 ".to_vec();
        data.extend(std::iter::repeat_n(b'a', 70000));
        data.extend(b"2 ok");
        let mut f = input.framer();
        let mut at = 0;
        let mut got = Vec::new();
        // delivered in 4 KiB reads, as a socket would
        let mut have = 0;
        while at < data.len() {
            have = (have + 4096).min(data.len());
            while let Some(found) = f.next(&data[at..have], false) {
                if !found.dropped {
                    got.push(input.decode(&data[at..][found.range.clone()]));
                }
                at += found.advance;
                if at == have {
                    break;
                }
            }
            assert!(have - at <= 65536 + 4096, "buffer bounded");
        }
        assert_eq!(got, ["2 ok"]);
    }

    fn udp(json: &str) -> UdpInput {
        serde_json::from_str::<UdpConfig>(json)
            .unwrap()
            .build()
            .unwrap()
    }

    fn packet(input: &UdpInput, p: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        input.tokens(p, |t| out.push(t));
        out
    }

    #[test]
    fn udp_datagram_is_one_entry_by_default() {
        let input = udp(r#"{"listen_address":"127.0.0.1:1"}"#);
        assert_eq!(packet(&input, b" a\nb \n\0\0"), ["a\nb"]);
        assert_eq!(packet(&input, b"\n\0"), Vec::<String>::new());
    }

    #[test]
    fn udp_multiline_splits_a_datagram() {
        let input =
            udp(r#"{"listen_address":"127.0.0.1:1","multiline":{"line_start_pattern":"^<"}}"#);
        assert_eq!(packet(&input, b"<1> a\n<2> b\n"), ["<1> a", "<2> b"]);
    }

    #[test]
    fn udp_one_log_per_packet_keeps_the_datagram() {
        let input = udp(r#"{"listen_address":"127.0.0.1:1","one_log_per_packet":true}"#);
        assert_eq!(packet(&input, b" a\nb\n"), [" a\nb"]);
    }

    #[test]
    fn syslog_config_errors_match_go() {
        let build = |j: &str| {
            serde_json::from_str::<SyslogConfig>(j)
                .unwrap()
                .build("syslog_input")
        };
        let cases = [
            (r#"{"protocol":"rfc5424"}"#, "need tcp config or udp config"),
            (
                r#"{"tcp":{"listen_address":"127.0.0.1:1"}}"#,
                "failed to resolve syslog config: missing field 'protocol'",
            ),
            (
                r#"{"protocol":"rfc5424","tcp":{}}"#,
                "failed to resolve tcp config: missing required parameter 'listen_address'",
            ),
            (
                r#"{"protocol":"rfc5424","enable_octet_counting":true,"udp":{"listen_address":"127.0.0.1:1"}}"#,
                "octet_counting and non_transparent_framing is not compatible with UDP",
            ),
            (
                r#"{"protocol":"rfc3164","enable_octet_counting":true,"tcp":{"listen_address":"127.0.0.1:1"}}"#,
                "failed to resolve syslog config: octet_counting and non_transparent_framing are only compatible with protocol rfc5424",
            ),
        ];
        for (cfg, want) in cases {
            let err = build(cfg).unwrap_err();
            assert_eq!(err, want, "{cfg}");
        }
        let ok = build(r#"{"protocol":"rfc5424","udp":{"listen_address":"127.0.0.1:1"}}"#).unwrap();
        assert!(matches!(ok.transport, SyslogTransport::Udp(_)));
        assert_eq!(
            ok.parser.id.as_deref(),
            Some("syslog_input_internal_parser")
        );
    }

    #[test]
    fn net_attributes_in_go_order_with_hosts_names() {
        let r = HostResolver::from_hosts("127.0.0.1 localhost loopback\n# c\n::1 ip6-localhost\n");
        let mut e = Entry::default();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let local: SocketAddr = "[::ffff:10.0.0.9]:514".parse().unwrap();
        add_net_attributes(&mut e, Transport::Tcp, peer, local, &r);
        let got: Vec<(String, String)> = e
            .attributes
            .iter()
            .map(|(k, v)| (k.to_string(), format!("{v:?}")))
            .collect();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "net.transport",
                "net.peer.ip",
                "net.peer.port",
                "net.peer.name",
                "net.host.ip",
                "net.host.port",
                "net.host.name"
            ]
        );
        assert_eq!(
            e.attributes.get("net.peer.name"),
            Some(&Value::from("localhost"))
        );
        assert_eq!(
            e.attributes.get("net.host.ip"),
            Some(&Value::from("10.0.0.9"))
        );
        assert_eq!(
            e.attributes.get("net.host.name"),
            Some(&Value::from("10.0.0.9"))
        );
        assert_eq!(
            e.attributes.get("net.peer.port"),
            Some(&Value::from("40000"))
        );
    }
}
