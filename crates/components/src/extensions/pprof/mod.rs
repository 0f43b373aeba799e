//! `pprof`: the contrib extension serving Go's `net/http/pprof` paths, with what a Rust
//! process can offer.
//!
//! - `/debug/pprof/profile?seconds=N` (default 30, as Go): a CPU profile of the whole
//!   process over N seconds, gzip'd profile.proto, which `go tool pprof` and `pprof` read.
//!   One at a time: a second request while one runs gets Go's 500 "Could not enable CPU
//!   profiling: cpu profiling already in use" (also while `save_to_file` profiles the run).
//! - `/debug/pprof/`: an index of what is served; `/debug/pprof/cmdline`: the command line;
//!   `/debug/pprof/symbol`: `num_symbols: 0` (profiles arrive symbolized, nothing to look up).
//! - Go's runtime profiles (`goroutine`, `heap`, `allocs`, `block`, `mutex`, `threadcreate`)
//!   and the execution `trace` do not exist in a Rust process: 404 saying so.
//! - `block_profile_fraction` / `mutex_profile_fraction` set Go runtime sampling rates;
//!   there is nothing to set in Rust, so they are accepted and a non-zero value is logged
//!   once at start.
//! - `save_to_file`: the file is created at start (failing start if it cannot be, as in Go)
//!   and the CPU profile of the whole run is written to it at shutdown.
//! - As in Go, only one pprof extension may run per process.

pub mod config;
mod profile;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use hyper::body::Incoming;
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, Extension, Host};

use super::{ExtensionServer, HttpResponse, html_escape, not_found, query_param, respond};

pub use self::config::Config;
pub use self::profile::{ALREADY_IN_USE, CpuProfile, HZ, proto};

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "pprof"
    }

    fn stability(&self) -> Stability {
        Stability::Beta
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(Pprof::new(set.id.to_string(), cfg.clone())))
    }
}

/// One running pprof extension per process, as Go enforces.
static INSTANCE_RUNNING: AtomicBool = AtomicBool::new(false);

/// The whole-run profile of `save_to_file`: a thread holds it (the sampler's guard is not
/// `Send`) until told to stop, then writes the file.
struct RunProfile {
    stop: std::sync::mpsc::Sender<()>,
    done: std::thread::JoinHandle<Result<(), String>>,
}

pub struct Pprof {
    id: String,
    cfg: Config,
    server: ExtensionServer,
    owns_instance: AtomicBool,
    run_profile: Mutex<Option<RunProfile>>,
    /// Cancels CPU profiles being taken for HTTP requests when shutting down.
    closing: Arc<AtomicBool>,
}

impl Pprof {
    pub fn new(id: String, cfg: Config) -> Self {
        Pprof {
            id,
            cfg,
            server: ExtensionServer::default(),
            owns_instance: AtomicBool::new(false),
            run_profile: Mutex::new(None),
            closing: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.local_addr()
    }

    fn release_instance(&self) {
        if self.owns_instance.swap(false, Ordering::AcqRel) {
            INSTANCE_RUNNING.store(false, Ordering::Release);
        }
    }

    async fn start_inner(&self) -> Result<(), String> {
        if self.cfg.block_profile_fraction != 0 {
            tracing::info!(extension = %self.id, block_profile_fraction = self.cfg.block_profile_fraction, "block_profile_fraction has no effect: it sets the Go runtime's blocking profiler, which a Rust process does not have");
        }
        if self.cfg.mutex_profile_fraction != 0 {
            tracing::info!(extension = %self.id, mutex_profile_fraction = self.cfg.mutex_profile_fraction, "mutex_profile_fraction has no effect: it sets the Go runtime's mutex contention profiler, which a Rust process does not have");
        }
        let closing = self.closing.clone();
        let addr = self
            .server
            .start("pprof", &self.cfg.endpoint, move |req| {
                handle(req, closing.clone())
            })
            .await?;
        tracing::info!(extension = %self.id, endpoint = %addr, "Starting net/http/pprof server");
        // The first stack walk of the process loads and indexes the binary's debug info,
        // which takes seconds: done now, a profile request starts sampling at once.
        tokio::task::spawn_blocking(profile::warm_up);
        if !self.cfg.save_to_file.is_empty() {
            let file = std::fs::File::create(&self.cfg.save_to_file)
                .map_err(|e| format!("open {}: {e}", self.cfg.save_to_file))?;
            let profile = CpuProfile::start()?;
            let (stop, stopped) = std::sync::mpsc::channel::<()>();
            let done = std::thread::Builder::new()
                .name("pprof-save".into())
                .spawn(move || {
                    let _ = stopped.recv();
                    let data = profile.finish()?;
                    let mut file = file;
                    std::io::Write::write_all(&mut file, &data).map_err(|e| e.to_string())
                })
                .map_err(|e| e.to_string())?;
            *self.run_profile.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(RunProfile { stop, done });
        }
        Ok(())
    }
}

#[async_trait]
impl Component for Pprof {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        if INSTANCE_RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err("only a single pprof extension instance can be running per process".into());
        }
        self.owns_instance.store(true, Ordering::Release);
        self.closing.store(false, Ordering::Release);
        let r = self.start_inner().await;
        if r.is_err() {
            self.server.stop().await;
            self.release_instance();
        }
        r
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.closing.store(true, Ordering::Release);
        let run = self
            .run_profile
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let mut result = Ok(());
        if let Some(run) = run {
            let _ = run.stop.send(());
            result = tokio::task::spawn_blocking(move || run.done.join())
                .await
                .map_err(|e| e.to_string())
                .and_then(|j| j.map_err(|_| "the profile writer panicked".to_string()))
                .and_then(|r| r)
                .map_err(|e| format!("writing the CPU profile to {}: {e}", self.cfg.save_to_file));
            if result.is_ok() {
                tracing::info!(extension = %self.id, file = %self.cfg.save_to_file, "CPU profile of the run written");
            }
        }
        self.server.stop().await;
        self.release_instance();
        result
    }
}

impl Extension for Pprof {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The runtime profiles of Go's `runtime/pprof`, which a Rust process does not have.
const GO_ONLY: &[(&str, &str)] = &[
    ("allocs", "A sampling of all past memory allocations"),
    (
        "block",
        "Stack traces that led to blocking on synchronization primitives",
    ),
    ("goroutine", "Stack traces of all current goroutines"),
    ("heap", "A sampling of memory allocations of live objects"),
    ("mutex", "Stack traces of holders of contended mutexes"),
    (
        "threadcreate",
        "Stack traces that led to the creation of new OS threads",
    ),
    ("trace", "A trace of execution of the current program"),
];

/// Go's `serveError`: plain text with the `X-Go-Pprof` marker.
fn serve_error(status: u16, message: &str) -> HttpResponse {
    let mut r = respond(status, "text/plain; charset=utf-8", format!("{message}\n"));
    r.headers_mut()
        .insert("x-go-pprof", http::HeaderValue::from_static("1"));
    r.headers_mut().insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    r
}

async fn handle(
    req: http::Request<Incoming>,
    closing: Arc<AtomicBool>,
) -> Result<HttpResponse, Infallible> {
    let path = req.uri().path();
    if path == "/debug/pprof" {
        let mut r = respond(301, "text/html; charset=utf-8", "");
        r.headers_mut().insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("/debug/pprof/"),
        );
        return Ok(r);
    }
    let Some(name) = path.strip_prefix("/debug/pprof/") else {
        return Ok(not_found());
    };
    Ok(match name {
        "" => respond(200, "text/html; charset=utf-8", index()),
        "profile" => cpu_profile(req.uri().query(), closing).await,
        "cmdline" => {
            let args: Vec<String> = std::env::args().collect();
            let mut r = respond(200, "text/plain; charset=utf-8", args.join("\0"));
            r.headers_mut().insert(
                "x-content-type-options",
                http::HeaderValue::from_static("nosniff"),
            );
            r
        }
        // pprof asks here to symbolize addresses; profiles from here are symbolized already.
        "symbol" => respond(200, "text/plain; charset=utf-8", "num_symbols: 0\n"),
        other => match GO_ONLY.iter().find(|(n, _)| *n == other) {
            Some(_) => serve_error(
                404,
                &format!(
                    "Unknown profile: {other} is a profile of the Go runtime; ferrotel is written in Rust and has none. CPU profiles: /debug/pprof/profile?seconds=N"
                ),
            ),
            None => serve_error(404, "Unknown profile"),
        },
    })
}

/// Sets a flag when the request is dropped (the client went away), to stop its profile.
struct DroppedFlag(Arc<AtomicBool>);

impl Drop for DroppedFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

async fn cpu_profile(query: Option<&str>, closing: Arc<AtomicBool>) -> HttpResponse {
    // Go: `seconds` that is not a positive integer means the default, 30.
    let seconds = query_param(query, "seconds")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(30);
    let dropped = Arc::new(AtomicBool::new(false));
    let _flag = DroppedFlag(dropped.clone());
    let taken = tokio::task::spawn_blocking(move || {
        let profile = CpuProfile::start()?;
        let until = Instant::now() + Duration::from_secs(seconds as u64);
        while Instant::now() < until
            && !closing.load(Ordering::Acquire)
            && !dropped.load(Ordering::Acquire)
        {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        profile.finish()
    })
    .await;
    match taken {
        Ok(Ok(data)) => {
            let mut r = respond(200, "application/octet-stream", data);
            r.headers_mut().insert(
                http::header::CONTENT_DISPOSITION,
                http::HeaderValue::from_static("attachment; filename=\"profile\""),
            );
            r.headers_mut().insert(
                "x-content-type-options",
                http::HeaderValue::from_static("nosniff"),
            );
            r
        }
        Ok(Err(e)) => serve_error(500, &format!("Could not enable CPU profiling: {e}")),
        Err(e) => serve_error(500, &format!("Could not take the CPU profile: {e}")),
    }
}

/// The index page: what this process serves, and what Go would list that it has not.
fn index() -> String {
    let mut out = String::from(
        "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/\n<br>\n<p>ferrotel (Rust): CPU profiles of the whole process, in the format <code>go tool pprof</code> reads.</p>\n<table>\n<thead><td>Profile</td><td>Description</td></thead>\n",
    );
    out.push_str("<tr><td><a href='profile?seconds=30'>profile</a></td><td>CPU profile of every thread, sampled at ");
    out.push_str(&HZ.to_string());
    out.push_str(" Hz. Use the <code>seconds</code> parameter for its duration (default 30). One at a time.</td></tr>\n");
    out.push_str("<tr><td><a href='cmdline?debug=1'>cmdline</a></td><td>The command line of this process, NUL-separated.</td></tr>\n");
    out.push_str("</table>\n<p>Not available in a Rust process (Go runtime profiles):</p>\n<ul>\n");
    for (name, what) in GO_ONLY {
        out.push_str(&format!(
            "<li>{} &mdash; {}</li>\n",
            html_escape(name),
            html_escape(what)
        ));
    }
    out.push_str("</ul>\n<p>Example: <code>go tool pprof http://HOST/debug/pprof/profile?seconds=30</code></p>\n</body>\n</html>\n");
    out
}
