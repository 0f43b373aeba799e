//! `ferrotel-loadgen gen | sink | floor | loki-sink | loki-floor | gen-pod-logs | prom-target |
//! rw-sink`: see the library
//! docs and docs/performance.md.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use loadgen::compress::Compression;
use loadgen::floor::Floor;
use loadgen::generate::{GenConfig, Protocol};
use loadgen::lokifloor::LokiFloorConfig;
use loadgen::lokisink::LokiSink;
use loadgen::podlogs::PodLogsConfig;
use loadgen::server;
use loadgen::sink::{Sink, SinkOptions};
use pdata::Signal;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "ferrotel-loadgen",
    about = "OTLP load generator, counting sinks (OTLP, Loki), floors and pod log files"
)]
struct Cli {
    /// Runtime worker threads (default: the CPUs this process may run on).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum SignalArg {
    Traces,
    Logs,
    Metrics,
}

impl From<SignalArg> for Signal {
    fn from(s: SignalArg) -> Signal {
        match s {
            SignalArg::Traces => Signal::Traces,
            SignalArg::Logs => Signal::Logs,
            SignalArg::Metrics => Signal::Metrics,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Send OTLP exports and print a JSON report.
    Gen {
        #[arg(value_enum)]
        signal: SignalArg,
        #[arg(long, value_enum, default_value = "grpc")]
        protocol: Protocol,
        /// Target host:port (loopback only); default 127.0.0.1:4317 (grpc) / :4318 (http).
        #[arg(long)]
        endpoint: Option<SocketAddr>,
        #[arg(long, value_enum, default_value = "none")]
        compression: Compression,
        /// gzip 0-9, zstd 1-22; default 1: the generator must stay cheap, and the receiver's
        /// decompression cost hardly depends on the level.
        #[arg(long, default_value_t = 1)]
        compression_level: i32,
        /// Items per second; 0 = as fast as acknowledged.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Requests in flight per connection (HTTP/1.1: one connection each).
        #[arg(long, default_value_t = 1)]
        in_flight: usize,
        #[arg(long, default_value_t = 100)]
        items_per_request: usize,
        #[arg(long, value_parser = loadgen::parse_duration)]
        duration: Option<Duration>,
        /// Stop after this many items.
        #[arg(long)]
        count: Option<u64>,
        #[arg(long, value_parser = loadgen::parse_duration, default_value = "10s")]
        timeout: Duration,
        #[arg(long, default_value_t = 0)]
        seq_start: u64,
        #[arg(long, default_value_t = 16)]
        templates: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the refused/failed sequence ranges here (JSON), for the sink's POST /lost.
        #[arg(long)]
        unacked_file: Option<std::path::PathBuf>,
    },
    /// Count received items and sequence numbers; GET /stats; final JSON on SIGINT/SIGTERM.
    Sink {
        #[arg(long, default_value = "127.0.0.1:14317")]
        grpc: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:14318")]
        http: SocketAddr,
        /// Delay before answering each request.
        #[arg(long, value_parser = loadgen::parse_duration, default_value = "0s")]
        delay: Duration,
        /// Fraction (0-1) of requests refused with UNAVAILABLE / 503.
        #[arg(long, default_value_t = 0.0)]
        fail_rate: f64,
    },
    /// Receive, decompress, gzip and forward raw bytes over gRPC: no protobuf decoding.
    Floor {
        #[arg(long, default_value = "127.0.0.1:4317")]
        grpc: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:4318")]
        http: SocketAddr,
        /// Next hop (a sink), gRPC.
        #[arg(long, default_value = "127.0.0.1:14317")]
        forward: SocketAddr,
        #[arg(long, value_enum, default_value = "gzip")]
        compression: Compression,
        #[arg(long)]
        compression_level: Option<i32>,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, value_parser = loadgen::parse_duration, default_value = "10s")]
        timeout: Duration,
    },
    /// Prometheus scrape target: GET /metrics with `--series` samples (text 0.0.4, gzip when
    /// accepted), values growing every scrape; GET /stats.
    PromTarget {
        #[arg(long, default_value = "127.0.0.1:19100")]
        listen: SocketAddr,
        #[arg(long, default_value_t = 100_000)]
        series: usize,
        /// Never gzip, even when the scraper accepts it.
        #[arg(long)]
        no_gzip: bool,
    },
    /// Prometheus remote-write receiver: POST /api/v1/write (snappy protobuf) answered 204,
    /// counted; GET /stats; final JSON on SIGINT/SIGTERM.
    RwSink {
        #[arg(long, default_value = "127.0.0.1:19201")]
        listen: SocketAddr,
    },
    /// Loki push receiver: POST /loki/api/v1/push (snappy protobuf) answered 204, counted;
    /// GET /stats; final JSON on SIGINT/SIGTERM.
    LokiSink {
        #[arg(long, default_value = "127.0.0.1:3100")]
        listen: SocketAddr,
    },
    /// Read a pods tree, push every line to Loki with nothing parsed, print a JSON report.
    LokiFloor {
        /// The `pods` directory: `<dir>/*/*/*.log` are read.
        #[arg(long)]
        pods_dir: std::path::PathBuf,
        /// The Loki sink (loopback only); the push path is /loki/api/v1/push.
        #[arg(long, default_value = "127.0.0.1:3100")]
        endpoint: SocketAddr,
        /// Lines per push request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Requests in flight (one keep-alive connection each).
        #[arg(long, default_value_t = 2)]
        connections: usize,
        #[arg(long, value_parser = loadgen::parse_duration, default_value = "10s")]
        timeout: Duration,
        /// The Loki line written for each file line: `seed`, the Go exporter's line for
        /// seed-agent-filelog.yaml (the same push as the collectors'), or `body` alone.
        #[arg(long, value_enum, default_value_t = loadgen::lokifloor::FloorLines::Seed)]
        lines: loadgen::lokifloor::FloorLines,
    },
    /// Write a /var/log/pods-shaped tree of containerd log files; print its manifest (JSON).
    GenPodLogs {
        /// The tree goes under <root>/pods; the manifest is also written to <root>/manifest.json.
        #[arg(long)]
        root: std::path::PathBuf,
        /// Total size over all files: 1G, 64M, ...
        #[arg(long, value_parser = loadgen::parse_size, default_value = "64M")]
        size: u64,
        /// Bytes of each message (after `stdout F `).
        #[arg(long, default_value_t = 100)]
        message_size: usize,
        #[arg(long, default_value_t = 32)]
        pods: usize,
        /// Every n-th message is split into a P + F pair (0: never).
        #[arg(long, default_value_t = 50)]
        partial_every: u64,
        /// Every n-th line goes to stderr (0: never).
        #[arg(long, default_value_t = 10)]
        stderr_every: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let threads = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrotel-loadgen: starting runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.cmd)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrotel-loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn until_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

async fn serve_both<B: server::Backend>(
    backend: Arc<B>,
    grpc: SocketAddr,
    http: SocketAddr,
    name: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        grpc.ip().is_loopback() && http.ip().is_loopback(),
        "listen on loopback addresses only"
    );
    let (tx, rx) = watch::channel(false);
    let (gl, ga) = server::bind(grpc).await?;
    let (hl, ha) = server::bind(http).await?;
    eprintln!("{name}: listening grpc={ga} http={ha}");
    let g = tokio::spawn(server::serve(gl, backend.clone(), rx.clone()));
    let h = tokio::spawn(server::serve(hl, backend.clone(), rx));
    until_signal().await?;
    let _ = tx.send(true);
    let _ = g.await;
    let _ = h.await;
    println!("{}", backend.stats());
    Ok(())
}

async fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Gen {
            signal,
            protocol,
            endpoint,
            compression,
            compression_level,
            rate,
            connections,
            in_flight,
            items_per_request,
            duration,
            count,
            timeout,
            seq_start,
            templates,
            seed,
            unacked_file,
        } => {
            let endpoint = endpoint.unwrap_or_else(|| match protocol {
                Protocol::Grpc => "127.0.0.1:4317".parse().expect("literal"),
                Protocol::Http => "127.0.0.1:4318".parse().expect("literal"),
            });
            let mut cfg = GenConfig::new(signal.into(), protocol, endpoint);
            cfg.compression = compression;
            cfg.compression_level = Some(compression_level);
            cfg.rate = rate;
            cfg.connections = connections;
            cfg.in_flight = in_flight;
            cfg.items_per_request = items_per_request;
            cfg.duration = duration;
            cfg.count = count;
            cfg.timeout = timeout;
            cfg.seq_start = seq_start;
            cfg.templates = templates;
            cfg.seed = seed;
            cfg.unacked_file = unacked_file;
            if cfg.duration.is_none() && cfg.count.is_none() {
                cfg.duration = Some(Duration::from_secs(30));
            }
            let report = loadgen::generate::run(cfg).await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Cmd::Sink {
            grpc,
            http,
            delay,
            fail_rate,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&fail_rate),
                "--fail-rate must be within 0..1"
            );
            let sink = Arc::new(Sink::new(SinkOptions { delay, fail_rate }));
            serve_both(sink, grpc, http, "sink").await
        }
        Cmd::Floor {
            grpc,
            http,
            forward,
            compression,
            compression_level,
            connections,
            timeout,
        } => {
            anyhow::ensure!(
                forward.ip().is_loopback(),
                "forward to a loopback address only"
            );
            let floor = Arc::new(Floor::new(
                forward,
                connections,
                compression,
                compression_level,
                timeout,
            )?);
            serve_both(floor, grpc, http, "floor").await
        }
        Cmd::LokiSink { listen } => {
            anyhow::ensure!(
                listen.ip().is_loopback(),
                "listen on loopback addresses only"
            );
            let sink = Arc::new(LokiSink::new());
            let (tx, rx) = watch::channel(false);
            let (l, addr) = server::bind(listen).await?;
            eprintln!("loki-sink: listening http={addr}");
            let task = tokio::spawn(loadgen::lokisink::serve(l, sink.clone(), rx));
            until_signal().await?;
            let _ = tx.send(true);
            let _ = task.await;
            println!("{}", serde_json::to_string(&sink.snapshot())?);
            Ok(())
        }
        Cmd::PromTarget {
            listen,
            series,
            no_gzip,
        } => {
            anyhow::ensure!(
                listen.ip().is_loopback(),
                "listen on loopback addresses only"
            );
            let target = Arc::new(loadgen::promtarget::PromTarget::new(series, !no_gzip));
            let (tx, rx) = watch::channel(false);
            let (l, addr) = server::bind(listen).await?;
            eprintln!(
                "prom-target: listening http={addr}, {} samples per scrape",
                target.layout().samples()
            );
            let task = tokio::spawn(loadgen::promtarget::serve(l, target.clone(), rx));
            until_signal().await?;
            let _ = tx.send(true);
            let _ = task.await;
            println!("{}", target.stats());
            Ok(())
        }
        Cmd::RwSink { listen } => {
            anyhow::ensure!(
                listen.ip().is_loopback(),
                "listen on loopback addresses only"
            );
            let sink = Arc::new(loadgen::rwsink::RwSink::new());
            let (tx, rx) = watch::channel(false);
            let (l, addr) = server::bind(listen).await?;
            eprintln!("rw-sink: listening http={addr}");
            let task = tokio::spawn(loadgen::rwsink::serve(l, sink.clone(), rx));
            until_signal().await?;
            let _ = tx.send(true);
            let _ = task.await;
            println!("{}", serde_json::to_string(&sink.snapshot())?);
            Ok(())
        }
        Cmd::LokiFloor {
            pods_dir,
            endpoint,
            batch,
            connections,
            timeout,
            lines,
        } => {
            let mut cfg = LokiFloorConfig::new(pods_dir, endpoint);
            cfg.lines = lines;
            cfg.batch = batch;
            cfg.connections = connections;
            cfg.timeout = timeout;
            let report = loadgen::lokifloor::run(cfg).await?;
            println!("{}", serde_json::to_string(&report)?);
            anyhow::ensure!(
                report.failed_requests == 0,
                "{} pushes were not accepted",
                report.failed_requests
            );
            Ok(())
        }
        Cmd::GenPodLogs {
            root,
            size,
            message_size,
            pods,
            partial_every,
            stderr_every,
            seed,
        } => {
            let mut cfg = PodLogsConfig::new(root.clone(), size, message_size);
            cfg.pods = pods;
            cfg.partial_every = partial_every;
            cfg.stderr_every = stderr_every;
            cfg.seed = seed;
            let manifest =
                tokio::task::spawn_blocking(move || loadgen::podlogs::write_tree(&cfg)).await??;
            let json = serde_json::to_string(&manifest)?;
            std::fs::write(root.join("manifest.json"), &json)?;
            println!("{json}");
            Ok(())
        }
    }
}
