//! CPU profiles of this process in the format `go tool pprof` reads: a gzip'd
//! `profile.proto` (github.com/google/pprof/proto/profile.proto).
//!
//! Sampling is pprof-rs's: a SIGPROF timer at [`HZ`] interrupts whichever thread is on a
//! CPU and records its stack, so a profile covers every thread of the process (tokio
//! workers, blocking threads, ...), as Go's covers every goroutine. The messages are
//! encoded here with prost (already built for OTLP) rather than through pprof-rs's codec
//! features, which would bring a second prost and prost-build.
//!
//! Only one CPU profile runs at a time in the process (the SIGPROF timer is process-wide):
//! [`CpuProfile::start`] refuses a second one with Go's message.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use prost::Message;

/// Samples per second, Go's `runtime/pprof` rate.
pub const HZ: i32 = 100;

/// Frames in these libraries are not unwound from the signal handler: unwinding through
/// them (libc's allocator, the vDSO) can deadlock or crash, as pprof-rs documents.
const BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];

/// The one CPU profile of the process may run.
static BUSY: AtomicBool = AtomicBool::new(false);

/// Go's `pprof.StartCPUProfile` error when a profile is already running.
pub const ALREADY_IN_USE: &str = "cpu profiling already in use";

/// A running CPU profile; dropping it stops sampling.
pub struct CpuProfile {
    guard: Option<pprof::ProfilerGuard<'static>>,
}

impl CpuProfile {
    pub fn start() -> Result<Self, String> {
        if BUSY
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ALREADY_IN_USE.into());
        }
        match pprof::ProfilerGuardBuilder::default()
            .frequency(HZ)
            .blocklist(BLOCKLIST)
            .build()
        {
            Ok(guard) => Ok(CpuProfile { guard: Some(guard) }),
            Err(e) => {
                BUSY.store(false, Ordering::Release);
                Err(e.to_string())
            }
        }
    }

    /// Stops sampling and returns the profile, gzip'd profile.proto.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        let guard = self
            .guard
            .take()
            .ok_or_else(|| "profile already finished".to_string())?;
        let report = guard.report().build().map_err(|e| e.to_string())?;
        drop(guard);
        let profile = encode(&report);
        gzip(&profile.encode_to_vec())
    }
}

impl Drop for CpuProfile {
    fn drop(&mut self) {
        self.guard.take();
        BUSY.store(false, Ordering::Release);
    }
}

/// Resolves one stack so the unwinder and symbolizer have loaded the binary's unwind tables
/// and debug info (what pprof-rs would otherwise do when the first profile starts).
pub fn warm_up() {
    let _ = backtrace::Backtrace::new();
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::default(),
    );
    enc.write_all(data).map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())
}

/// Interns strings for the profile's string table (index 0 is the empty string).
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings::default();
        s.get("");
        s
    }

    fn get(&mut self, v: &str) -> i64 {
        if let Some(i) = self.index.get(v) {
            return *i;
        }
        let i = self.table.len() as i64;
        self.table.push(v.to_string());
        self.index.insert(v.to_string(), i);
        i
    }
}

/// Whether a frame belongs to the sampler itself (the signal handler and the unwinder),
/// which every sample would otherwise start with.
fn is_sampler_frame(frame: &[pprof::Symbol]) -> bool {
    frame.iter().all(|s| {
        let n = s.name();
        n.starts_with("pprof::") || n.starts_with("backtrace::") || n.starts_with("<pprof::")
    })
}

/// Builds the profile.proto message from a pprof-rs report: one Location per sampled
/// address, its Lines the functions inlined there (innermost first, as the format wants),
/// each sample labelled with its thread's name.
pub fn encode(report: &pprof::Report) -> proto::Profile {
    let mut strings = Strings::new();
    let mut functions: HashMap<(String, String), u64> = HashMap::new();
    let mut function_table = Vec::new();
    let mut locations: HashMap<usize, u64> = HashMap::new();
    let mut location_table: Vec<proto::Location> = Vec::new();
    let period = 1_000_000_000 / i64::from(report.timing.frequency.max(1));
    let thread_key = strings.get("thread");
    let mut samples = Vec::with_capacity(report.data.len());
    for (frames, count) in &report.data {
        let mut location_id = Vec::with_capacity(frames.frames.len());
        let mut own = true;
        for frame in &frames.frames {
            // The sampler's own frames are at the leaf end; skip them until the first real one.
            if own && is_sampler_frame(frame) {
                continue;
            }
            own = false;
            let address = frame
                .first()
                .and_then(|s| s.addr)
                .map(|a| a as usize)
                .unwrap_or(0);
            let known = if address != 0 {
                locations.get(&address).copied()
            } else {
                None
            };
            let id = match known {
                Some(id) => id,
                None => {
                    let mut lines = Vec::with_capacity(frame.len());
                    for sym in frame {
                        let name = sym.name();
                        let file = sym.filename().into_owned();
                        let key = (name, file);
                        let fid = match functions.get(&key) {
                            Some(f) => *f,
                            None => {
                                let fid = function_table.len() as u64 + 1;
                                function_table.push(proto::Function {
                                    id: fid,
                                    name: strings.get(&key.0),
                                    system_name: strings.get(&sym.sys_name()),
                                    filename: strings.get(&key.1),
                                    start_line: 0,
                                });
                                functions.insert(key, fid);
                                fid
                            }
                        };
                        lines.push(proto::Line {
                            function_id: fid,
                            line: i64::from(sym.lineno()),
                            column: 0,
                        });
                    }
                    let id = location_table.len() as u64 + 1;
                    location_table.push(proto::Location {
                        id,
                        mapping_id: 0,
                        address: address as u64,
                        line: lines,
                        is_folded: false,
                    });
                    if address != 0 {
                        locations.insert(address, id);
                    }
                    id
                }
            };
            location_id.push(id);
        }
        let count = *count as i64;
        samples.push(proto::Sample {
            location_id,
            value: vec![count, count * period],
            label: vec![proto::Label {
                key: thread_key,
                str: strings.get(&frames.thread_name_or_id()),
                num: 0,
                num_unit: 0,
            }],
        });
    }
    let samples_t = proto::ValueType {
        r#type: strings.get("samples"),
        unit: strings.get("count"),
    };
    let cpu_t = proto::ValueType {
        r#type: strings.get("cpu"),
        unit: strings.get("nanoseconds"),
    };
    proto::Profile {
        sample_type: vec![samples_t, cpu_t],
        sample: samples,
        mapping: Vec::new(),
        location: location_table,
        function: function_table,
        string_table: strings.table,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: report
            .timing
            .start_time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0),
        duration_nanos: report.timing.duration.as_nanos() as i64,
        period_type: Some(cpu_t),
        period,
        comment: Vec::new(),
        default_sample_type: 0,
    }
}

/// The messages of profile.proto that a CPU profile uses, with the published field numbers.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(int64, tag = "7")]
        pub drop_frames: i64,
        #[prost(int64, tag = "8")]
        pub keep_frames: i64,
        #[prost(int64, tag = "9")]
        pub time_nanos: i64,
        #[prost(int64, tag = "10")]
        pub duration_nanos: i64,
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        #[prost(int64, tag = "12")]
        pub period: i64,
        #[prost(int64, repeated, tag = "13")]
        pub comment: Vec<i64>,
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct ValueType {
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
        #[prost(message, repeated, tag = "3")]
        pub label: Vec<Label>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(int64, tag = "1")]
        pub key: i64,
        #[prost(int64, tag = "2")]
        pub str: i64,
        #[prost(int64, tag = "3")]
        pub num: i64,
        #[prost(int64, tag = "4")]
        pub num_unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        #[prost(int64, tag = "5")]
        pub filename: i64,
        #[prost(int64, tag = "6")]
        pub build_id: i64,
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
        #[prost(bool, tag = "8")]
        pub has_filenames: bool,
        #[prost(bool, tag = "9")]
        pub has_line_numbers: bool,
        #[prost(bool, tag = "10")]
        pub has_inline_frames: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        #[prost(uint64, tag = "3")]
        pub address: u64,
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
        #[prost(bool, tag = "5")]
        pub is_folded: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        #[prost(int64, tag = "2")]
        pub line: i64,
        #[prost(int64, tag = "3")]
        pub column: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        #[prost(int64, tag = "4")]
        pub filename: i64,
        #[prost(int64, tag = "5")]
        pub start_line: i64,
    }
}
