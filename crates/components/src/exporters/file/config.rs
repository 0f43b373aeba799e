//! `file` exporter settings with the Go collector's keys, defaults (`format: json`,
//! `flush_interval: 1s`, `rotation.max_backups: 100`, `group_by.resource_attribute:
//! fileexporter.path_segment`, `group_by.max_open_files: 100`) and validation messages.

use std::time::Duration;

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One OTLP/JSON export request per line (length-prefixed when compressed).
    #[default]
    Json,
    /// OTLP protobuf export requests, each preceded by its length (4 bytes, big-endian).
    Proto,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub path: String,
    pub append: bool,
    /// `None` unless the key is present: rotation is on only when `rotation:` is written
    /// (even empty), as in Go. Set by the factory from the raw config.
    pub rotation: Option<Rotation>,
    /// A string so that an unknown format gets Go's message rather than a serde one.
    pub format: String,
    /// An encoding extension's id; this build has none, so it is refused.
    pub encoding: Option<String>,
    pub compression: String,
    pub flush_interval: ::config::Duration,
    pub group_by: GroupBy,
    pub create_directory: bool,
    pub directory_permissions: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rotation {
    /// 0 means lumberjack's default, 100.
    pub max_megabytes: i64,
    /// 0 keeps backups of any age.
    pub max_days: i64,
    /// 0 keeps any number of backups.
    pub max_backups: i64,
    pub localtime: bool,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_megabytes: 0,
            max_days: 0,
            max_backups: 100,
            localtime: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupBy {
    pub enabled: bool,
    pub resource_attribute: String,
    pub max_open_files: i64,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy {
            enabled: false,
            resource_attribute: "fileexporter.path_segment".into(),
            max_open_files: 100,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: String::new(),
            append: false,
            rotation: None,
            format: "json".into(),
            encoding: None,
            compression: String::new(),
            flush_interval: ::config::Duration(Duration::from_secs(1)),
            group_by: GroupBy::default(),
            create_directory: false,
            directory_permissions: String::new(),
        }
    }
}

impl Config {
    pub fn format(&self) -> Format {
        if self.format == "proto" {
            Format::Proto
        } else {
            Format::Json
        }
    }

    pub fn zstd(&self) -> bool {
        self.compression == "zstd"
    }

    /// Each record is a line (JSON without compression) or length-prefixed (everything else).
    pub fn lines(&self) -> bool {
        self.format() == Format::Json && !self.zstd()
    }

    /// The mode for created directories: `directory_permissions` (octal) or 0755.
    pub fn directory_mode(&self) -> u32 {
        parse_permissions(&self.directory_permissions)
            .ok()
            .flatten()
            .unwrap_or(0o755)
    }

    /// `flush_interval`, where Go's zero (unset) means one second.
    pub fn flush_every(&self) -> Duration {
        if self.flush_interval.0.is_zero() {
            Duration::from_secs(1)
        } else {
            self.flush_interval.0
        }
    }
}

/// Go's `strconv.ParseInt(s, 8, 32)` and its bit check; `Ok(None)` for the empty string.
fn parse_permissions(s: &str) -> Result<Option<u32>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let v = i64::from_str_radix(s, 8)
        .ok()
        .filter(|v| i32::try_from(*v).is_ok())
        .ok_or("directory_permissions value must be a valid octal representation")?;
    if v & 0o777 != v {
        return Err("directory_permissions contain invalid bits for file access".into());
    }
    Ok(Some(v as u32))
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.path.is_empty() {
            return Err("path must be non-empty".into());
        }
        if self.append && !self.compression.is_empty() {
            return Err("append and compression enabled at the same time is not supported".into());
        }
        if self.append && self.rotation.is_some() {
            return Err("append and rotation enabled at the same time is not supported".into());
        }
        if self.format != "json" && self.format != "proto" {
            return Err("format type is not supported".into());
        }
        if !self.compression.is_empty() && self.compression != "zstd" {
            return Err("compression is not supported".into());
        }
        if self.group_by.enabled {
            let parts: Vec<&str> = self.path.split('*').collect();
            if parts.len() != 2 {
                return Err("path must contain exactly one * when group_by is enabled".into());
            }
            if parts[0].is_empty() {
                return Err("path must not start with * when group_by is enabled".into());
            }
            if self.group_by.resource_attribute.is_empty() {
                return Err("resource_attribute must not be empty when group_by is enabled".into());
            }
            if self.group_by.max_open_files <= 0 {
                // Go's LRU constructor refuses a non-positive size at start.
                return Err("must provide a positive size".into());
            }
        }
        if self.create_directory {
            parse_permissions(&self.directory_permissions)?;
        } else if !self.directory_permissions.is_empty() {
            return Err("directory_permissions requires create_directory to be true".into());
        }
        if let Some(id) = &self.encoding {
            return Err(format!(
                "encoding: the encoding extension {id:?} is not available in this build; use format: json or proto"
            ));
        }
        Ok(())
    }
}
