//! `file` exporter (Go's contrib `exporter/fileexporter`): writes every batch to a file as
//! OTLP/JSON lines (`format: json`) or length-prefixed OTLP protobuf (`format: proto`),
//! optionally zstd-compressed per record, with lumberjack rotation ([`writer`]) and
//! `group_by` (one file per value of a resource attribute, at most `max_open_files` open,
//! least recently used closed first).
//!
//! Record layout, as Go writes it:
//! - json without compression: the request's JSON and `\n`;
//! - otherwise: a 4-byte big-endian length, then the payload (protobuf or JSON, zstd-framed
//!   when `compression: zstd`).
//!
//! As in Go, one exporter id is one writer shared by all its signals (traces, metrics and
//! logs go to the same file), started by the first pipeline and closed by the last.

pub mod config;
#[cfg(test)]
mod tests;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::any_value;
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use runtime::exporterhelper::{Push, QueueSettings, RetrySettings, build};
use runtime::factory::{AnyConfig, ComponentConfig, ExporterFactory, Settings, Stability, typed};
use runtime::{ConsumeError, Exporter, Host};
use tokio::task::JoinHandle;

pub use self::config::{Config, Format, GroupBy, Rotation};
use self::writer::Writer;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Alpha),
    (Signal::Metrics, Stability::Alpha),
    (Signal::Logs, Stability::Alpha),
];

/// Go's default zstd level (`SpeedDefault`), zstd level 3.
const ZSTD_LEVEL: i32 = 3;

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "file"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        let mut cfg: Config = ::config::decode(value, path)?;
        // `rotation:` with no value still turns rotation on, with the defaults.
        if cfg.rotation.is_none() && value.get("rotation").is_some() {
            cfg.rotation = Some(Rotation::default());
        }
        cfg.validate()
            .map_err(|m| runtime::factory::validation_error(path, &m))?;
        Ok(Box::new(cfg))
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let shared = FileShared::get_or_create(&set.id.to_string(), cfg);
        let push = Arc::new(FilePush { shared });
        // Go's file exporter has no queue, no retry and no timeout.
        let queue = QueueSettings {
            enabled: false,
            ..QueueSettings::default()
        };
        let retry = RetrySettings {
            enabled: false,
            ..RetrySettings::default()
        };
        Ok(build(&set, signal, &queue, &retry, Duration::ZERO, push))
    }
}

/// The writers of one exporter id, shared by its signals.
pub struct FileShared {
    cfg: Config,
    state: Mutex<State>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct State {
    /// Pipelines (signals) started and not yet shut down.
    users: usize,
    single: Option<Writer>,
    groups: Groups,
}

/// The open files of `group_by`, least recently used closed first.
#[derive(Default)]
struct Groups {
    files: HashMap<String, (u64, Writer)>,
    tick: u64,
}

impl Groups {
    fn get(
        &mut self,
        path: &str,
        cap: usize,
        open: impl FnOnce() -> std::io::Result<Writer>,
    ) -> std::io::Result<&mut Writer> {
        self.tick += 1;
        let tick = self.tick;
        if !self.files.contains_key(path) {
            if self.files.len() >= cap
                && let Some(oldest) = self
                    .files
                    .iter()
                    .min_by_key(|(_, (t, _))| *t)
                    .map(|(k, _)| k.clone())
                && let Some((_, mut w)) = self.files.remove(&oldest)
                && let Err(e) = w.flush()
            {
                tracing::warn!(path = %w.path().display(), error = %e, "Failed to close file");
            }
            let w = open()?;
            self.files.insert(path.to_string(), (tick, w));
        }
        let entry = self
            .files
            .get_mut(path)
            .ok_or_else(|| std::io::Error::other("group file vanished"))?;
        entry.0 = tick;
        Ok(&mut entry.1)
    }

    fn close_all(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        for (_, (_, mut w)) in self.files.drain() {
            if let Err(e) = w.flush() {
                errors.push(format!("{}: {e}", w.path().display()));
            }
        }
        errors
    }
}

fn registry() -> &'static Mutex<HashMap<String, Weak<FileShared>>> {
    static SHARED: OnceLock<Mutex<HashMap<String, Weak<FileShared>>>> = OnceLock::new();
    SHARED.get_or_init(Default::default)
}

impl FileShared {
    /// The writer of `id` with this config, made once for all of its signals.
    fn get_or_create(id: &str, cfg: &Config) -> Arc<FileShared> {
        // The config is part of the key, so a reloaded or differently configured exporter
        // with the same id never shares files with the old one.
        let key = format!("{id}\u{0}{cfg:?}");
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        if let Some(s) = map.get(&key).and_then(Weak::upgrade) {
            return s;
        }
        let s = Arc::new(FileShared {
            cfg: cfg.clone(),
            state: Mutex::new(State::default()),
            flusher: Mutex::new(None),
        });
        map.insert(key, Arc::downgrade(&s));
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(self: &Arc<Self>) -> Result<(), String> {
        let mut st = self.lock();
        st.users += 1;
        if st.users > 1 {
            return Ok(());
        }
        if !self.cfg.group_by.enabled {
            let path = Path::new(&self.cfg.path);
            if self.cfg.create_directory
                && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            {
                create_dir(dir, self.cfg.directory_mode())
                    .map_err(|e| format!("failed to create directory {}: {e}", dir.display()))?;
            }
            let w = Writer::open(path, self.cfg.append, self.cfg.rotation.as_ref())
                .map_err(|e| format!("open {}: {e}", self.cfg.path))?;
            st.single = Some(w);
        }
        drop(st);
        let weak = Arc::downgrade(self);
        let every = self.cfg.flush_every();
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(s) = weak.upgrade() else { return };
                blocking(|| s.flush_all());
            }
        });
        *self.flusher.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    fn flush_all(&self) {
        let mut st = self.lock();
        if let Some(w) = &mut st.single
            && let Err(e) = w.flush()
        {
            tracing::warn!(path = %w.path().display(), error = %e, "file exporter flush failed");
        }
        for (_, w) in st.groups.files.values_mut() {
            if let Err(e) = w.flush() {
                tracing::warn!(path = %w.path().display(), error = %e, "file exporter flush failed");
            }
        }
    }

    fn shutdown(&self) -> Result<(), String> {
        let mut st = self.lock();
        if st.users == 0 {
            return Ok(());
        }
        st.users -= 1;
        if st.users > 0 {
            return Ok(());
        }
        if let Some(h) = self
            .flusher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            h.abort();
        }
        let mut errors = st.groups.close_all();
        if let Some(mut w) = st.single.take()
            && let Err(e) = w.flush()
        {
            errors.push(format!("{}: {e}", w.path().display()));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Frames one encoded request and writes it to `w`.
    fn write(cfg: &Config, w: &mut Writer, payload: &[u8]) -> Result<(), String> {
        let res = if cfg.lines() {
            w.write_record(&[payload, b"\n"])
        } else {
            let compressed;
            let body: &[u8] = if cfg.zstd() {
                compressed =
                    zstd::bulk::compress(payload, ZSTD_LEVEL).map_err(|e| format!("zstd: {e}"))?;
                &compressed
            } else {
                payload
            };
            let len = u32::try_from(body.len())
                .map_err(|_| format!("record of {} bytes is too large", body.len()))?;
            w.write_record(&[&len.to_be_bytes(), body])
        };
        res.map_err(|e| format!("write {}: {e}", w.path().display()))
    }

    fn encode(&self, req: &Request) -> Vec<u8> {
        match self.cfg.format() {
            Format::Json => pdata::json::encode(req),
            Format::Proto => req.encode_to_vec(),
        }
    }

    fn export(&self, batch: &Batch) -> Result<(), ConsumeError> {
        if self.cfg.group_by.enabled {
            return self.export_grouped(batch);
        }
        // Protobuf goes out as received: no decoding when the batch is still encoded.
        let payload: bytes::Bytes = match self.cfg.format() {
            Format::Proto => batch.encoded(),
            Format::Json => {
                let req = batch
                    .request()
                    .map_err(|e| ConsumeError::permanent(e.to_string()))?;
                pdata::json::encode(&req).into()
            }
        };
        let mut st = self.lock();
        let w = st
            .single
            .as_mut()
            .ok_or_else(|| ConsumeError::permanent("file exporter is not started"))?;
        Self::write(&self.cfg, w, &payload).map_err(ConsumeError::permanent)
    }

    fn export_grouped(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let req = batch
            .request()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        let groups = split_by_attribute(&req, &self.cfg.group_by.resource_attribute);
        if groups.is_empty() {
            return Ok(());
        }
        let (prefix, suffix) = self
            .cfg
            .path
            .split_once('*')
            .unwrap_or((self.cfg.path.as_str(), ""));
        let prefix = writer::clean_prefix(prefix);
        let cap = usize::try_from(self.cfg.group_by.max_open_files)
            .unwrap_or(1)
            .max(1);
        let mut errors = Vec::new();
        let mut st = self.lock();
        for (segment, group) in groups {
            let payload = self.encode(&group);
            let full = writer::group_path(&prefix, suffix, &segment);
            let w = st.groups.get(&full, cap, || {
                let p = PathBuf::from(&full);
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_dir(dir, self.cfg.directory_mode())?;
                }
                Writer::open(&p, self.cfg.append, self.cfg.rotation.as_ref())
            });
            match w {
                Ok(w) => {
                    if let Err(e) = Self::write(&self.cfg, w, &payload) {
                        errors.push(e);
                    }
                }
                Err(e) => errors.push(format!("open {full}: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConsumeError::permanent(errors.join("; ")))
        }
    }
}

/// Runs file I/O: on a multi-threaded runtime the worker hands its other tasks away first,
/// so a slow disk (or a network file system) stalls this exporter, not the pipelines.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn create_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
}

/// The string value of `attr` on a resource; resources without it (or with another type)
/// are dropped by `group_by`, as in Go.
fn segment(resource: &Option<Resource>, attr: &str) -> Option<String> {
    let r = resource.as_ref()?;
    let kv = r.attributes.iter().find(|kv| kv.key == attr)?;
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// Splits a request by the resource attribute's value, in order of first appearance.
fn split_by_attribute(req: &Request, attr: &str) -> Vec<(String, Request)> {
    fn group<T: Clone>(
        items: &[T],
        resource: impl Fn(&T) -> &Option<Resource>,
        attr: &str,
    ) -> Vec<(String, Vec<T>)> {
        let mut out: Vec<(String, Vec<T>)> = Vec::new();
        for item in items {
            let Some(seg) = segment(resource(item), attr) else {
                tracing::debug!("Resource does not contain {attr} attribute, dropping it");
                continue;
            };
            match out.iter_mut().find(|(s, _)| *s == seg) {
                Some((_, v)) => v.push(item.clone()),
                None => out.push((seg, vec![item.clone()])),
            }
        }
        out
    }
    match req {
        // Not a signal of this exporter's factory.
        Request::Profiles(_) => Vec::new(),
        Request::Traces(t) => group(&t.resource_spans, |r| &r.resource, attr)
            .into_iter()
            .map(|(s, resource_spans)| {
                (
                    s,
                    Request::Traces(ExportTraceServiceRequest { resource_spans }),
                )
            })
            .collect(),
        Request::Metrics(m) => group(&m.resource_metrics, |r| &r.resource, attr)
            .into_iter()
            .map(|(s, resource_metrics)| {
                (
                    s,
                    Request::Metrics(ExportMetricsServiceRequest { resource_metrics }),
                )
            })
            .collect(),
        Request::Logs(l) => group(&l.resource_logs, |r| &r.resource, attr)
            .into_iter()
            .map(|(s, resource_logs)| {
                (s, Request::Logs(ExportLogsServiceRequest { resource_logs }))
            })
            .collect(),
    }
}

/// The per-signal face of the shared writer.
struct FilePush {
    shared: Arc<FileShared>,
}

#[async_trait]
impl Push for FilePush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        blocking(|| self.shared.export(batch))
    }

    async fn start(&self, _host: &Host) -> Result<(), String> {
        self.shared.start()
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.shared.shutdown()
    }
}
