//! The file-reading keys of the `filelog` receiver (Go's `fileconsumer.Config` plus the
//! matcher, split, trim and header keys), their defaults and Go's validation errors.
//!
//! How the receiver embeds it: [`Config`] denies unknown keys, so it cannot sit under
//! `#[serde(flatten)]` in the receiver's struct (serde hands a flattened struct every key
//! the outer struct did not claim). The receiver instead deserializes its YAML map, removes
//! its own keys (`operators`, `storage`, `attributes`, `resource`, `retry_on_failure`,
//! `type`/`id` if any) with [`split_receiver_keys`] and deserializes the rest as [`Config`]:
//! an unknown key is then reported by this struct, with Go's field list.

use std::time::Duration;

use serde::Deserialize;

/// Keys the `filelog` receiver owns around the file-reading keys; see the module docs.
pub const RECEIVER_KEYS: &[&str] = &[
    "operators",
    "storage",
    "attributes",
    "resource",
    "retry_on_failure",
];

/// Key-value pairs of a config map.
pub type Pairs<V> = Vec<(String, V)>;

/// Splits a receiver's config map into (its own keys, the file-reading keys) by
/// [`RECEIVER_KEYS`]. Generic over the map's value type so that it works on a
/// `serde_yaml_ng::Mapping` converted to a `Vec`, a `serde_json::Map`, or any pair list.
pub fn split_receiver_keys<V>(pairs: Pairs<V>) -> (Pairs<V>, Pairs<V>) {
    pairs
        .into_iter()
        .partition(|(k, _)| RECEIVER_KEYS.contains(&k.as_str()))
}

/// A Go `time.Duration` key (`200ms`, `1h30m`, integer nanoseconds).
pub type GoDuration = config::Duration;

/// The stanza `helper.ByteSize` (`1kb` = 1000, `1KiB` = 1024), shared with the operators.
pub use config::StanzaByteSize as ByteSize;

/// `multiline`: at most one of the two patterns.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultilineConfig {
    pub line_start_pattern: String,
    pub line_end_pattern: String,
    pub omit_pattern: bool,
}

/// `header`: lines at the top of a file matching `pattern` are turned into file
/// attributes by `metadata_operators` (run by the receiver's [`crate::HeaderParser`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeaderConfig {
    pub pattern: String,
    /// Stanza operator configs; this crate only checks there is at least one.
    pub metadata_operators: Vec<serde_json::Value>,
}

/// `ordering_criteria`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderingCriteria {
    pub regex: String,
    pub top_n: i64,
    pub sort_by: Vec<SortRule>,
    pub group_by: String,
}

/// One `ordering_criteria.sort_by` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SortRule {
    pub sort_type: String,
    pub regex_key: String,
    pub ascending: bool,
    /// strptime layout of a `timestamp` sort.
    pub layout: String,
    pub location: String,
}

/// The file-reading part of the `filelog` receiver config, Go's keys and defaults.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub exclude_older_than: GoDuration,
    pub ordering_criteria: OrderingCriteria,
    pub start_at: String,
    pub poll_interval: GoDuration,
    pub fingerprint_size: ByteSize,
    /// The scanner's starting buffer (newer Go; was bufio's fixed 16 KiB before).
    pub initial_buffer_size: ByteSize,
    pub max_log_size: ByteSize,
    /// `split` (default) or `truncate` (newer Go).
    pub max_log_size_behavior: String,
    pub max_concurrent_files: i64,
    pub max_batches: i64,
    pub encoding: String,
    pub multiline: Option<MultilineConfig>,
    pub preserve_leading_whitespaces: bool,
    pub preserve_trailing_whitespaces: bool,
    pub force_flush_period: GoDuration,
    pub include_file_name: bool,
    pub include_file_path: bool,
    pub include_file_name_resolved: bool,
    pub include_file_path_resolved: bool,
    pub include_file_owner_name: bool,
    pub include_file_owner_group_name: bool,
    pub include_file_record_number: bool,
    /// `log.file.record_offset`: byte offset of each record's start (newer Go).
    pub include_file_record_offset: bool,
    pub delete_after_read: bool,
    pub compression: String,
    /// Poll generations kept in storage beyond the three in memory (newer Go; zero or
    /// less, or no `storage`, turns archiving off, as 0.135 accepts any value).
    pub polls_to_archive: i64,
    pub acquire_fs_lock: bool,
    pub header: Option<HeaderConfig>,
    /// `ignore` (default), `read_whole_file` or `read_new` (newer Go).
    pub on_truncate: String,
}

/// Go's `fingerprint.DefaultSize`.
pub const DEFAULT_FINGERPRINT_SIZE: i64 = 1000;
/// Go's `fingerprint.MinSize`.
pub const MIN_FINGERPRINT_SIZE: i64 = 16;
pub const DEFAULT_MAX_LOG_SIZE: i64 = 1024 * 1024;
/// Go's `scanner.DefaultBufferSize`.
pub const DEFAULT_INITIAL_BUFFER_SIZE: i64 = 16 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            include: Vec::new(),
            exclude: Vec::new(),
            exclude_older_than: GoDuration::ZERO,
            ordering_criteria: OrderingCriteria::default(),
            start_at: "end".into(),
            poll_interval: GoDuration::from_millis(200),
            fingerprint_size: ByteSize(DEFAULT_FINGERPRINT_SIZE),
            initial_buffer_size: ByteSize(DEFAULT_INITIAL_BUFFER_SIZE),
            max_log_size: ByteSize(DEFAULT_MAX_LOG_SIZE),
            max_log_size_behavior: String::new(),
            max_concurrent_files: 1024,
            max_batches: 0,
            encoding: "utf-8".into(),
            multiline: None,
            preserve_leading_whitespaces: false,
            preserve_trailing_whitespaces: false,
            force_flush_period: GoDuration::from_millis(500),
            include_file_name: true,
            include_file_path: false,
            include_file_name_resolved: false,
            include_file_path_resolved: false,
            include_file_owner_name: false,
            include_file_owner_group_name: false,
            include_file_record_number: false,
            include_file_record_offset: false,
            delete_after_read: false,
            compression: String::new(),
            polls_to_archive: 0,
            acquire_fs_lock: false,
            header: None,
            on_truncate: String::new(),
        }
    }
}

/// The Go feature gates that guard some of these keys (`--feature-gates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureGates {
    /// `filelog.allowFileDeletion` (alpha: off by default), needed by `delete_after_read`.
    pub allow_file_deletion: bool,
    /// `filelog.allowHeaderMetadataParsing` (beta: on by default), needed by `header`.
    pub allow_header_metadata_parsing: bool,
    /// `filelog.mtimeSortType` (alpha), needed by `sort_type: mtime`.
    pub mtime_sort_type: bool,
}

impl Default for FeatureGates {
    fn default() -> Self {
        FeatureGates {
            allow_file_deletion: false,
            allow_header_metadata_parsing: true,
            mtime_sort_type: false,
        }
    }
}

impl FeatureGates {
    /// Applies `--feature-gates` entries (`id`, `+id` to enable, `-id` to disable);
    /// unknown ids are ignored here (the collector validates the list as a whole).
    pub fn apply<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for raw in ids {
            let (on, id) = match raw.strip_prefix('-') {
                Some(id) => (false, id),
                None => (true, raw.strip_prefix('+').unwrap_or(raw)),
            };
            match id {
                "filelog.allowFileDeletion" => self.allow_file_deletion = on,
                "filelog.allowHeaderMetadataParsing" => self.allow_header_metadata_parsing = on,
                "filelog.mtimeSortType" => self.mtime_sort_type = on,
                _ => {}
            }
        }
    }
}

/// How reading starts on files of the first poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Beginning,
    End,
}

/// `max_log_size_behavior`: what happens to the rest of a token longer than `max_log_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxLogSizeBehavior {
    /// emitted as following token(s) (Go's behaviour before the key existed)
    Split,
    /// dropped up to the end of the token (the next delimiter)
    Truncate,
}

/// `on_truncate`: what to do when a known file (same fingerprint) is now shorter than
/// the stored offset (copytruncate that kept the first bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTruncate {
    /// keep the old offset: nothing is read until the file grows past it
    Ignore,
    /// read the file again from byte 0
    ReadWholeFile,
    /// move the offset to the current size: only bytes written from now on are read
    ReadNew,
}

/// `compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// gzip for files named `*.gz`, plain otherwise (Go 0.135 decides by the extension).
    Auto,
}

impl Config {
    /// Go's `Config.validate` and build checks, in Go's order, with Go's messages.
    pub fn validate(&self, gates: &FeatureGates) -> Result<(), String> {
        if self.delete_after_read && !gates.allow_file_deletion {
            return Err(
                "`delete_after_read` requires feature gate `filelog.allowFileDeletion`".into(),
            );
        }
        if self.header.is_some() && !gates.allow_header_metadata_parsing {
            return Err(
                "`header` requires feature gate `filelog.allowHeaderMetadataParsing`".into(),
            );
        }
        crate::matcher::Matcher::new(self, gates)?;
        if self.max_log_size.0 <= 0 {
            return Err("`max_log_size` must be positive".into());
        }
        if self.max_concurrent_files <= 0 {
            return Err("`max_concurrent_files` must be positive".into());
        }
        if self.fingerprint_size.0 < MIN_FINGERPRINT_SIZE {
            return Err(format!(
                "`fingerprint_size` must be at least {MIN_FINGERPRINT_SIZE} bytes"
            ));
        }
        let start_at = self.start_at()?;
        if self.delete_after_read && start_at == StartAt::End {
            return Err("`delete_after_read` cannot be used with `start_at: end`".into());
        }
        if self.header.is_some() && start_at == StartAt::End {
            return Err("`header` cannot be specified with `start_at: end`".into());
        }
        if self.max_batches < 0 {
            return Err("`max_batches` must not be negative".into());
        }
        let enc = crate::decode::Encoding::lookup(&self.encoding)?;
        if let Some(h) = &self.header {
            crate::header::validate(h).map_err(|e| format!("invalid config for `header`: {e}"))?;
        }
        crate::split::Splitter::new(self, enc)?;
        self.compression()?;
        self.max_log_size_behavior()?;
        self.on_truncate()?;
        Ok(())
    }

    pub fn max_log_size_behavior(&self) -> Result<MaxLogSizeBehavior, String> {
        match self.max_log_size_behavior.as_str() {
            "" | "split" => Ok(MaxLogSizeBehavior::Split),
            "truncate" => Ok(MaxLogSizeBehavior::Truncate),
            other => Err(format!(
                "invalid value '{other}' for `max_log_size_behavior`: must be 'split' or 'truncate'"
            )),
        }
    }

    pub fn on_truncate(&self) -> Result<OnTruncate, String> {
        match self.on_truncate.as_str() {
            "" | "ignore" => Ok(OnTruncate::Ignore),
            "read_whole_file" => Ok(OnTruncate::ReadWholeFile),
            "read_new" => Ok(OnTruncate::ReadNew),
            other => Err(format!(
                "invalid value '{other}' for `on_truncate`: must be one of 'ignore', 'read_whole_file', 'read_new'"
            )),
        }
    }

    /// The reading window's starting size: `initial_buffer_size`, where Go's `bufio`
    /// would start at 4 KiB for zero or less (0.135 accepts any value).
    pub fn initial_buffer_size(&self) -> usize {
        match usize::try_from(self.initial_buffer_size.0) {
            Ok(0) | Err(_) => 4096,
            Ok(n) => n,
        }
    }

    pub fn start_at(&self) -> Result<StartAt, String> {
        match self.start_at.as_str() {
            "beginning" => Ok(StartAt::Beginning),
            "end" => Ok(StartAt::End),
            other => Err(format!("invalid start_at location '{other}'")),
        }
    }

    pub fn compression(&self) -> Result<Compression, String> {
        match self.compression.as_str() {
            "" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "auto" => Ok(Compression::Auto),
            other => Err(format!(
                "invalid compression '{other}': supported values are gzip and auto"
            )),
        }
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll_interval.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Config, String> {
        serde_json::from_str::<Config>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_gos() {
        let c = parse(r#"{"include": ["/a"]}"#).unwrap();
        assert_eq!(c.start_at, "end");
        assert_eq!(c.poll_interval.0, Duration::from_millis(200));
        assert_eq!(c.fingerprint_size, ByteSize(1000));
        assert_eq!(c.max_log_size, ByteSize(1 << 20));
        assert_eq!(c.max_concurrent_files, 1024);
        assert_eq!(c.force_flush_period.0, Duration::from_millis(500));
        assert!(c.include_file_name);
        assert!(!c.include_file_path);
        assert_eq!(c.encoding, "utf-8");
        assert_eq!(c.initial_buffer_size, ByteSize(16 * 1024));
        assert_eq!(
            c.max_log_size_behavior().unwrap(),
            MaxLogSizeBehavior::Split
        );
        assert_eq!(c.on_truncate().unwrap(), OnTruncate::Ignore);
        assert!(!c.include_file_record_offset);
        assert_eq!(c.polls_to_archive, 0);
        c.validate(&FeatureGates::default()).unwrap();
    }

    #[test]
    fn newer_keys_are_accepted_with_any_value_go_0_135_accepts() {
        // otelcol-contrib 0.135 starts with all of these (it does not check
        // initial_buffer_size or polls_to_archive)
        for json in [
            r#"{"include":["/a"],"initial_buffer_size":"64KiB"}"#,
            r#"{"include":["/a"],"initial_buffer_size":0}"#,
            r#"{"include":["/a"],"initial_buffer_size":-5}"#,
            r#"{"include":["/a"],"polls_to_archive":-1}"#,
            r#"{"include":["/a"],"polls_to_archive":10,"include_file_record_offset":true}"#,
            r#"{"include":["/a"],"max_log_size_behavior":"truncate","on_truncate":"read_new"}"#,
            r#"{"include":["/a"],"max_log_size_behavior":"split","on_truncate":"read_whole_file"}"#,
        ] {
            let c = parse(json).unwrap();
            c.validate(&FeatureGates::default())
                .unwrap_or_else(|e| panic!("{json}: {e}"));
        }
        let c = parse(r#"{"include":["/a"],"initial_buffer_size":"64KiB"}"#).unwrap();
        assert_eq!(c.initial_buffer_size(), 64 * 1024);
        let c = parse(r#"{"include":["/a"],"initial_buffer_size":0}"#).unwrap();
        assert_eq!(c.initial_buffer_size(), 4096);
    }

    #[test]
    fn byte_size_syntax_is_stanzas() {
        for (text, want) in [
            ("1kb", 1000),
            ("1KiB", 1024),
            ("1 KB", 1000),
            ("16mib", 16 << 20),
            ("1.5kb", 1500),
            ("2pb", 2_000_000_000_000_000),
            ("100", 100),
        ] {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(want)), "{text}");
        }
        for bad in ["1k", "kb", "1 ", "-1kb", "1.2.3kb", "1 xb"] {
            assert_eq!(
                ByteSize::parse(bad),
                Err(format!("invalid byte size '{bad}'")),
                "{bad}"
            );
        }
        let c = parse(r#"{"include": ["/a"], "fingerprint_size": "1kb", "max_log_size": 2048}"#)
            .unwrap();
        assert_eq!(c.fingerprint_size, ByteSize(1000));
        assert_eq!(c.max_log_size, ByteSize(2048));
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = parse(r#"{"include": ["/a"], "includes": ["/b"]}"#).unwrap_err();
        assert!(err.contains("unknown field `includes`"), "{err}");
        let err = parse(r#"{"include": ["/a"], "multiline": {"line_start": "x"}}"#).unwrap_err();
        assert!(err.contains("unknown field `line_start`"), "{err}");
    }

    #[test]
    fn receiver_keys_are_split_off() {
        let pairs = vec![
            ("include".to_string(), 1),
            ("operators".to_string(), 2),
            ("storage".to_string(), 3),
            ("start_at".to_string(), 4),
        ];
        let (mine, rest) = split_receiver_keys(pairs);
        assert_eq!(mine.len(), 2);
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].0, "include");
    }

    #[test]
    fn validation_errors_are_gos() {
        let gates = FeatureGates::default();
        let cases: &[(&str, &str)] = &[
            (r#"{}"#, "'include' must be specified"),
            (
                r#"{"include":["/a"],"start_at":"middle"}"#,
                "invalid start_at location 'middle'",
            ),
            (
                r#"{"include":["/a"],"max_log_size":0}"#,
                "`max_log_size` must be positive",
            ),
            (
                r#"{"include":["/a"],"max_concurrent_files":0}"#,
                "`max_concurrent_files` must be positive",
            ),
            (
                r#"{"include":["/a"],"fingerprint_size":"10"}"#,
                "`fingerprint_size` must be at least 16 bytes",
            ),
            (
                r#"{"include":["/a"],"max_batches":-1}"#,
                "`max_batches` must not be negative",
            ),
            (
                r#"{"include":["/a"],"encoding":"klingon"}"#,
                "unsupported encoding 'klingon'",
            ),
            (
                r#"{"include":["/a"],"delete_after_read":true,"start_at":"beginning"}"#,
                "`delete_after_read` requires feature gate `filelog.allowFileDeletion`",
            ),
            (
                r#"{"include":["/a"],"header":{"pattern":"^#","metadata_operators":[{"type":"regex_parser"}]}}"#,
                "`header` cannot be specified with `start_at: end`",
            ),
            (
                r#"{"include":["/a"],"multiline":{"line_start_pattern":"a","line_end_pattern":"b"}}"#,
                "only one of line_start_pattern or line_end_pattern can be set",
            ),
            (
                r#"{"include":["/a"],"encoding":"nop","multiline":{"line_start_pattern":"a"}}"#,
                "line_start_pattern should not be set when using nop encoding",
            ),
            (
                r#"{"include":["/a"],"multiline":{"line_end_pattern":"("}}"#,
                "compile line end regex: ",
            ),
            (
                r#"{"include":["/a"],"ordering_criteria":{"sort_by":[{"sort_type":"numeric","regex_key":"n"}]}}"#,
                "'regex' must be specified when 'sort_by' is specified",
            ),
            (
                r#"{"include":["/a"],"ordering_criteria":{"top_n":-1,"sort_by":[{"sort_type":"mtime"}]}}"#,
                "'top_n' must be a positive integer",
            ),
            (
                r#"{"include":["/a"],"ordering_criteria":{"sort_by":[{"sort_type":"mtime"}]}}"#,
                "the \"filelog.mtimeSortType\" feature gate must be enabled to use \"mtime\" sort type",
            ),
            (
                r#"{"include":["/a"],"ordering_criteria":{"regex":"(?P<n>\\d+)","sort_by":[{"sort_type":"numeric"}]}}"#,
                "numeric sort: regex key must be specified",
            ),
            (
                r#"{"include":["/a"],"ordering_criteria":{"regex":"(?P<n>\\d+)","sort_by":[{"sort_type":"timestamp","regex_key":"n"}]}}"#,
                "timestamp sort: layout must be specified",
            ),
            (r#"{"include":["/a["]}"#, "include: parse glob: "),
            (
                r#"{"include":["/a"],"max_log_size_behavior":"drop"}"#,
                "invalid value 'drop' for `max_log_size_behavior`: must be 'split' or 'truncate'",
            ),
            (
                r#"{"include":["/a"],"on_truncate":"reread"}"#,
                "invalid value 'reread' for `on_truncate`: must be one of 'ignore', 'read_whole_file', 'read_new'",
            ),
        ];
        for (json, want) in cases {
            let c = parse(json).unwrap();
            let err = c.validate(&gates).unwrap_err();
            assert!(err.starts_with(want), "{json}: got {err:?}, want {want:?}");
        }
        let mut gates = gates;
        gates.allow_file_deletion = true;
        let c = parse(r#"{"include":["/a"],"delete_after_read":true}"#).unwrap();
        assert_eq!(
            c.validate(&gates).unwrap_err(),
            "`delete_after_read` cannot be used with `start_at: end`"
        );
    }
}
