//! `ferrotel-loadgen gen | sink | floor`: see the library docs and docs/performance.md.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use loadgen::compress::Compression;
use loadgen::floor::Floor;
use loadgen::generate::{GenConfig, Protocol};
use loadgen::server;
use loadgen::sink::{Sink, SinkOptions};
use pdata::Signal;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "ferrotel-loadgen",
    about = "OTLP load generator, counting sink and floor"
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
            ));
            serve_both(floor, grpc, http, "floor").await
        }
    }
}
