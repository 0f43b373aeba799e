//! `container`: parses docker (JSON), CRI-O and containerd log lines, auto-detected per line
//! unless `format` is set; recombines CRI partial lines (`P` ... `F`) with an internal
//! recombine; moves `log` to the body and `stream` to `log.iostream`; parses `time` into the
//! timestamp and removes it (gate `filelog.container.removeOriginalTimeField`, on in the
//! versions we follow); and lifts k8s metadata from `log.file.path` into the resource.

use serde::Deserialize;

use super::recombine::{Recombine, Settings};
use super::regex::GroupMatcher;
use crate::entry::Entry;
use crate::expr::Expr;
use crate::field::Field;

use crate::operator::config::{OnError, Spec};
use crate::operator::parser::{Parser, ParserKeys};
use crate::operator::{Next, Operator, Out};
use crate::time::TimeParser;
use crate::value::{Key, Value};

const CRIO_PATTERN: &str =
    r"^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$";
const CONTAINERD_PATTERN: &str =
    r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$";
const LOG_PATH_PATTERN: &str = r"^.*(\/|\\)(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\-]+)(\/|\\)(?P<container_name>[^\._]+)(\/|\\)(?P<restart_count>\d+)\.log$";
const CRIO_TIME_LAYOUT: &str = "2006-01-02T15:04:05.999999999Z07:00";
const DOCKER_TIME_LAYOUT: &str = "2006-01-02T15:04:05.999Z";
/// Path capture group -> resource attribute.
const K8S_METADATA: [(&str, &str); 5] = [
    ("namespace", "k8s.namespace.name"),
    ("pod_name", "k8s.pod.name"),
    ("uid", "k8s.pod.uid"),
    ("container_name", "k8s.container.name"),
    ("restart_count", "k8s.container.restart_count"),
];

#[derive(Deserialize, Debug, Clone)]
#[serde(default)]
pub(crate) struct Config {
    format: String,
    add_metadata_from_filepath: bool,
    max_log_size: config::StanzaByteSize,
    #[serde(flatten)]
    parser: ParserKeys,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            format: String::new(),
            add_metadata_from_filepath: true,
            max_log_size: config::StanzaByteSize(0),
            parser: ParserKeys::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Docker,
    Crio,
    Containerd,
}

struct Matcher(GroupMatcher);

impl Matcher {
    fn new(pattern: &str) -> Result<Matcher, String> {
        Ok(Matcher(GroupMatcher::new(goregex::compile(pattern)?)?))
    }

    fn parse(&mut self, s: &str) -> Option<crate::value::Map> {
        self.0.parse(s)
    }

    /// The groups of a shared line are parts of it (no text copied).
    fn parse_str(&mut self, s: &crate::value::Str) -> Option<crate::value::Map> {
        self.0.parse_str(s)
    }
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let parser = self.parser.build()?;
        let format = match self.format.as_str() {
            "" => None,
            "docker" => Some(Format::Docker),
            "crio" => Some(Format::Crio),
            "containerd" => Some(Format::Containerd),
            _ => {
                // Go puts the on_error value in the details (a quirk kept for fidelity).
                return Err(format!(
                    "operator config has an invalid `format` field.: {{\"format\":\"{}\"}}",
                    parser.t.on_error.as_str()
                ));
            }
        };
        let recombine = Recombine::new(Settings {
            match_first: false,
            expr: Expr::compile_bool("attributes.logtag == 'F'")?,
            max_batch_size: 1000,
            max_unmatched_batch_size: 100,
            max_sources: 1000,
            overwrite_with_newest: false,
            combine_field: Field::body(),
            combine_with: String::new(),
            source_identifier: Field::attribute("log.file.path"),
            force_flush_ns: 5_000_000_000,
            // Go compares `> 0`: a negative size is no limit, like 0.
            max_log_size: usize::try_from(self.max_log_size.0).unwrap_or(0),
            on_error: OnError::Send,
        });
        Ok(Box::new(Container {
            parser,
            format,
            add_metadata: self.add_metadata_from_filepath,
            crio: Matcher::new(CRIO_PATTERN)?,
            containerd: Matcher::new(CONTAINERD_PATTERN)?,
            path: Matcher::new(LOG_PATH_PATTERN)?,
            crio_time: TimeParser::new("gotime", CRIO_TIME_LAYOUT, None)?,
            docker_time: TimeParser::new("gotime", DOCKER_TIME_LAYOUT, None)?,
            k8s_keys: K8S_METADATA.map(|(g, k)| (g, Key::named(k))),
            iostream: Key::named("log.iostream"),
            recombine,
        }))
    }
}

struct Container {
    parser: Parser,
    format: Option<Format>,
    add_metadata: bool,
    crio: Matcher,
    containerd: Matcher,
    path: Matcher,
    crio_time: TimeParser,
    docker_time: TimeParser,
    k8s_keys: [(&'static str, Key); 5],
    iostream: Key,
    recombine: Recombine,
}

impl Container {
    fn detect(&self, e: &Entry) -> Result<Format, String> {
        let v = self
            .parser
            .parse_from
            .get(e)
            .ok_or("entry cannot be parsed as container logs")?;
        let Value::Str(raw) = v else {
            return Err(format!(
                "type '{}' cannot be parsed as container logs",
                v.go_type()
            ));
        };
        if raw.starts_with('{') {
            Ok(Format::Docker)
        } else if self.crio.0.is_match(raw) {
            Ok(Format::Crio)
        } else if self.containerd.0.is_match(raw) {
            Ok(Format::Containerd)
        } else {
            Err(format!("entry cannot be parsed as container logs: {raw}"))
        }
    }

    /// Parse `parse_from`, set `parse_to`, run the embedded blocks (Go `ParseWith`).
    fn parse_with(&mut self, e: &mut Entry, format: Format) -> Result<(), String> {
        let parsed = match self.parser.parse_from.get(e) {
            None => Err(format!(
                "Entry is missing the expected parse_from field.: {{\"parse_from\":\"{}\"}}",
                self.parser.parse_from
            )),
            Some(Value::Str(raw)) => match format {
                Format::Docker => super::json::parse_object(raw, false),
                Format::Crio => self
                    .crio
                    .parse_str(raw)
                    .map(Value::Map)
                    .ok_or_else(|| "regex pattern does not match".to_string()),
                Format::Containerd => self
                    .containerd
                    .parse_str(raw)
                    .map(Value::Map)
                    .ok_or_else(|| "regex pattern does not match".to_string()),
            },
            Some(other) => Err(format!(
                "type '{}' cannot be parsed as {}",
                other.go_type(),
                match format {
                    Format::Docker => "docker container logs",
                    Format::Crio => "cri-o container logs",
                    Format::Containerd => "containerd logs",
                }
            )),
        }?;
        self.parser
            .parse_to
            .set(e, parsed)
            .map_err(|m| format!("set parse_to: {m}"))?;
        self.parser.finish(e)
    }

    /// Time, `log` -> body, `stream` -> `log.iostream`, k8s metadata (Go
    /// `handleTimeAndAttributeMappings`).
    fn mappings(&mut self, e: &mut Entry, format: Format) -> Result<(), String> {
        let tp = if format == Format::Crio {
            &self.crio_time
        } else {
            &self.docker_time
        };
        let ts = match e.attributes.get("time") {
            None => return Err("failed to parse time: failed to get the time from entry".into()),
            Some(Value::Str(s)) => tp.parse_str(s),
            Some(Value::Bytes(b)) => tp.parse_bytes(b),
            Some(other) => Err(crate::time::type_error(other.go_type())),
        }
        .map_err(|m| format!("failed to parse time: {m}"))?;
        e.timestamp = ts;
        e.attributes.remove("time");
        let log = e
            .attributes
            .remove("log")
            .ok_or("move: field log does not exist")?;
        Field::body()
            .set(e, log)
            .map_err(|_| "failed to move log to body")?;
        let stream = e
            .attributes
            .remove("stream")
            .ok_or("move: field stream does not exist")?;
        e.attributes.insert_key(&self.iostream, stream);
        if !self.add_metadata {
            return Ok(());
        }
        let path = match e.attributes.get("log.file.path") {
            Some(Value::Str(p)) => p,
            other => {
                return Err(format!(
                    "type '{}' cannot be parsed as log path field",
                    other.map_or("<nil>", Value::go_type)
                ));
            }
        };
        let meta = self
            .path
            .parse(path)
            .ok_or("failed to detect a valid log path")?;
        for (group, key) in &self.k8s_keys {
            let v = meta.get(group).cloned().unwrap_or_default();
            e.resource.insert_key(key, v);
        }
        Ok(())
    }
}

impl Operator for Container {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let format = match self.format {
            Some(f) => f,
            None => match self.detect(e) {
                Ok(f) => f,
                Err(m) => {
                    // Go returns the error without writing the entry: it is dropped.
                    out.report(&format!(
                        "failed to detect a valid container log format: {m}"
                    ));
                    return Next::Consumed;
                }
            },
        };
        if let Some(next) = self.parser.t.check(e, out) {
            return next;
        }
        let on_error = self.parser.t.on_error;
        if let Err(m) = self.parse_with(e, format) {
            return out.fail(on_error, &m);
        }
        match format {
            Format::Docker => match self.mappings(e, format) {
                Ok(()) => Next::Forward(0),
                Err(m) => out.fail(on_error, &m),
            },
            Format::Crio | Format::Containerd => match self.mappings(e, format) {
                Ok(()) => self.recombine.process(e, out),
                Err(m) => {
                    // Go returns this error without writing the entry.
                    out.report(&format!("failed to handle attribute mappings: {m}"));
                    Next::Consumed
                }
            },
        }
    }

    fn flush_expired(&mut self, now: i64, out: &mut Out) {
        self.recombine.flush_expired(now, out);
    }

    fn flush_all(&mut self, out: &mut Out) {
        self.recombine.flush_all(out);
    }

    fn holds_state(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    const PATH: &str =
        "/var/log/pods/dev_aidt-test-abc_11111111-2222-3333-4444-555555555555/app/0.log";

    fn line(s: &str) -> Entry {
        let mut e = Entry::with_body(s, 1);
        e.attributes.insert("log.file.path", PATH.into());
        e
    }

    /// Expected values from otelcol-contrib 0.135 with `operators: [{type: container}]` on
    /// the same lines.
    #[test]
    fn auto_detects_formats_recombines_and_adds_k8s_metadata() {
        let mut p = pipeline("- type: container\n");
        let mut out = run(
            &mut p,
            vec![
                line(r#"2024-05-06T07:08:09.123456789Z stdout F {"level":"info"}"#),
                line("2024-05-06T07:08:10.5Z stderr P part one"),
                line("2024-05-06T07:08:10.6Z stderr F and two"),
                line("2024-05-06T09:08:11.000000001+02:00 stdout F crio line"),
                line(
                    r#"{"log":"docker line\n","stream":"stdout","time":"2024-05-06T07:08:12.345678Z"}"#,
                ),
                line("2024-05-06T07:08:13Z stdout F plain text"),
                line("garbage line"),
            ],
        );
        p.flush_all(&mut |e| out.push(e));
        let got: Vec<_> = out.iter().map(|e| (e.body.clone(), e.timestamp)).collect();
        assert_eq!(
            got,
            vec![
                (Value::from(r#"{"level":"info"}"#), 1714979289123456789),
                (Value::from("part oneand two"), 1714979290500000000),
                (Value::from("crio line"), 1714979291000000001),
                (Value::from("docker line\n"), 1714979292345678000),
                (Value::from("plain text"), 1714979293000000000),
            ]
        );
        assert_eq!(
            out[1].attributes,
            map! {"log.file.path" => PATH, "log.iostream" => "stderr", "logtag" => "P"}
        );
        assert_eq!(
            out[3].attributes,
            map! {"log.file.path" => PATH, "log.iostream" => "stdout"}
        );
        for e in &out {
            assert_eq!(
                e.resource,
                map! {"k8s.namespace.name" => "dev", "k8s.pod.name" => "aidt-test-abc",
                "k8s.pod.uid" => "11111111-2222-3333-4444-555555555555",
                "k8s.container.name" => "app", "k8s.container.restart_count" => "0"}
            );
        }
        // The garbage line is dropped with an error, as in Go.
        assert_eq!(p.error_count(), 1);
    }

    #[test]
    fn missing_file_path_is_an_error_unless_metadata_is_disabled() {
        let e = Entry::with_body("2024-05-06T07:08:13Z stdout F x", 0);
        let mut p = pipeline("- type: container\n");
        assert!(run(&mut p, vec![e.clone()]).is_empty());
        assert_eq!(p.error_count(), 1);
        let mut p = pipeline("- type: container\n  add_metadata_from_filepath: false\n");
        let mut out = run(&mut p, vec![e]);
        p.flush_all(&mut |e| out.push(e));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, Value::from("x"));
        assert!(out[0].resource.is_empty());
    }

    #[test]
    fn fixed_format_and_bad_format() {
        let mut p = pipeline("- type: container\n  format: docker\n  on_error: drop\n");
        assert!(run(&mut p, vec![line("2024-05-06T07:08:13Z stdout F x")]).is_empty());
        assert_eq!(
            build_err("- type: container\n  format: podman\n"),
            "operator config has an invalid `format` field.: {\"format\":\"send\"}"
        );
    }

    #[test]
    fn partial_lines_flush_after_the_period() {
        let mut p = pipeline("- type: container\n");
        let mut e = line("2024-05-06T07:08:10.5Z stderr P part");
        e.observed_timestamp = 10;
        assert!(run(&mut p, vec![e]).is_empty());
        let mut out = Vec::new();
        p.flush_expired(10 + 5_000_000_000, &mut |e| out.push(e));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, Value::from("part"));
    }
}
