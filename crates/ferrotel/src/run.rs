//! Loading, validating and running a configuration; signal handling and reload.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use config::CollectorConfig;
use runtime::graph::{self, ParsedConfig};
use runtime::service::Service;
use runtime::{Registry, Telemetry};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::cli::ConfigArgs;

/// What ferrotel runs when no `--config` is given: OTLP in, batch, debug out.
pub const DEFAULT_CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
      http:
        endpoint: localhost:4318
processors:
  batch:
exporters:
  debug:
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
"#;

fn sources(args: &ConfigArgs) -> (Vec<String>, bool) {
    if args.configs.is_empty() {
        (vec![format!("yaml:{DEFAULT_CONFIG}")], true)
    } else {
        (args.configs.clone(), false)
    }
}

/// Loads and fully checks the configuration (types, component configs, pipelines, graph).
fn load(args: &ConfigArgs, registry: &Registry) -> Result<ParsedConfig, String> {
    let (uris, _) = sources(args);
    // The loader warns (unset environment variables) before the collector's own logger
    // exists, whose settings come from this very config: show those warnings on stderr.
    let early_logger = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(tracing::Level::WARN)
        .finish();
    let cfg: CollectorConfig =
        tracing::subscriber::with_default(early_logger, || config::load(&uris, &args.sets))
            .map_err(|e| format!("failed to get config: {e}"))?;
    graph::parse(registry, cfg).map_err(|e| format!("invalid configuration: {e}"))
}

pub fn validate(args: &ConfigArgs) -> ExitCode {
    let registry = components::registry();
    let parsed = match load(args, &registry) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    // Components may create their clients (not connect them) while being built, and those
    // belong to a runtime: build inside one, as `run` does, without starting anything.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _entered = rt.enter();
    if let Err(e) = graph::build(&parsed, &Telemetry::default()) {
        eprintln!("Error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

pub fn components_yaml() -> String {
    let r = components::registry();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "buildinfo:\n    command: ferrotel\n    description: ferrotel, an OpenTelemetry Collector in Rust\n    version: {}",
        env!("CARGO_PKG_VERSION")
    );
    let mut section = |title: &str, rows: Vec<(String, Vec<(String, &'static str)>)>| {
        let _ = writeln!(out, "{title}:");
        for (name, stab) in rows {
            let _ = writeln!(
                out,
                "    - name: {name}\n      module: ferrotel-components\n      stability:"
            );
            for (sig, s) in stab {
                let _ = writeln!(out, "        {sig}: {s}");
            }
        }
    };
    let sig_rows = |list: &[(pdata::Signal, runtime::Stability)]| {
        list.iter()
            .map(|(s, st)| (s.as_str().to_string(), st.as_str()))
            .collect::<Vec<_>>()
    };
    section(
        "receivers",
        r.receivers
            .values()
            .map(|f| (f.type_name().to_string(), sig_rows(f.signals())))
            .collect(),
    );
    section(
        "processors",
        r.processors
            .values()
            .map(|f| (f.type_name().to_string(), sig_rows(f.signals())))
            .collect(),
    );
    section(
        "exporters",
        r.exporters
            .values()
            .map(|f| (f.type_name().to_string(), sig_rows(f.signals())))
            .collect(),
    );
    section(
        "connectors",
        r.connectors
            .values()
            .map(|f| {
                let rows = f
                    .pairs()
                    .iter()
                    .map(|(a, b, st)| (format!("{a}_to_{b}"), st.as_str()))
                    .collect();
                (f.type_name().to_string(), rows)
            })
            .collect(),
    );
    section(
        "extensions",
        r.extensions
            .values()
            .map(|f| {
                (
                    f.type_name().to_string(),
                    vec![("extension".to_string(), f.stability().as_str())],
                )
            })
            .collect(),
    );
    let _ = writeln!(out, "deprecated_aliases:");
    for (kind, old, new) in r.aliases() {
        let _ = writeln!(
            out,
            "    - {{kind: {}, name: {old}, use: {new}}}",
            kind.as_str()
        );
    }
    let _ = writeln!(
        out,
        "providers:\n    - scheme: env\n    - scheme: file\n    - scheme: yaml"
    );
    out
}

fn init_logging(cfg: &config::TelemetryConfig) {
    use tracing_subscriber::EnvFilter;
    let level = match cfg.logs.level.to_ascii_lowercase().as_str() {
        "debug" => "debug",
        "warn" => "warn",
        "error" | "dpanic" | "panic" | "fatal" => "error",
        _ => "info",
    };
    let filter = EnvFilter::try_from_env("FERROTEL_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if cfg.logs.encoding == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn parse_duration(s: &str) -> Duration {
    config::decode::<config::Duration>(&config::Value::String(s.to_string()), "--shutdown-timeout")
        .map(|d| d.0)
        .unwrap_or(Duration::from_secs(25))
}

pub fn run(args: ConfigArgs) -> ExitCode {
    let registry = components::registry();
    let parsed = match load(&args, &registry) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&parsed.raw.service.telemetry);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(args, registry, parsed)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Running {
    service: Service,
    metrics_stop: CancellationToken,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
}

async fn start(parsed: &ParsedConfig) -> Result<Running, String> {
    for w in &parsed.warnings {
        tracing::warn!("{w}");
    }
    let tcfg = &parsed.raw.service.telemetry;
    let tel = Telemetry::new(&tcfg.metrics.level);
    runtime::telemetry::register_process_metrics(&tel);
    let built = graph::build(parsed, &tel)?;
    let metrics_stop = CancellationToken::new();
    let metrics_task = if tcfg.metrics.level != "none" {
        Some(
            runtime::telemetry::serve(&tcfg.metrics.address, tel.clone(), metrics_stop.clone())
                .await?,
        )
    } else {
        None
    };
    let service = Service::new(built);
    if let Err(e) = service.start().await {
        metrics_stop.cancel();
        return Err(e);
    }
    Ok(Running {
        service,
        metrics_stop,
        metrics_task,
    })
}

async fn stop(r: Running, per_component: Duration) {
    r.service.shutdown(per_component).await;
    r.metrics_stop.cancel();
    if let Some(t) = r.metrics_task {
        let _ = t.await;
    }
}

async fn serve(args: ConfigArgs, registry: Registry, parsed: ParsedConfig) -> Result<(), String> {
    // Listen for signals first: a SIGTERM that arrives while starting must drain, not kill.
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let (_, default) = sources(&args);
    if default {
        tracing::info!(
            "No --config given: running the built-in default (OTLP gRPC on localhost:4317 and HTTP on localhost:4318 -> batch -> debug exporter)"
        );
    }
    let per_component = parse_duration(&args.shutdown_timeout);
    crate::memory::spawn_trimmer(Duration::from_secs(5));
    let mut running = start(&parsed).await?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("Received signal from OS"); break; }
            _ = int.recv() => { tracing::info!("Received signal from OS"); break; }
            _ = hup.recv() => {
                tracing::info!("Config updated, restart service");
                match load(&args, &registry) {
                    Ok(new) => {
                        stop(running, per_component).await;
                        running = start(&new).await?;
                    }
                    Err(e) => tracing::error!("reload refused, keeping the running configuration: {e}"),
                }
            }
        }
    }
    tracing::info!("Starting shutdown...");
    stop(running, per_component).await;
    tracing::info!("Shutdown complete.");
    Ok(())
}
