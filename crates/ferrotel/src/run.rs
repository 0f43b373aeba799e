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

/// What ferrotel runs when no `--config` is given: OTLP in, batch, the embedded store out
/// (traces, metrics, logs), and the store's extension serving the UI and the query APIs.
/// `@DATA_DIR@` is replaced by [`default_data_dir`] (quoted); every value can be overridden
/// with `--set` (the keys are in [`DEFAULT_OVERRIDES`]).
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
  embedded_store:
extensions:
  embedded_store:
    endpoint: localhost:16686
    directory: @DATA_DIR@
    max_size_mib: 1024
service:
  extensions: [embedded_store]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [embedded_store]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [embedded_store]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [embedded_store]
"#;

/// The `--set` keys that move what the default configuration listens on or writes to, with
/// what each one moves (named in the startup lines and in the error when a port is taken).
pub const DEFAULT_OVERRIDES: [(&str, &str); 5] = [
    ("receivers::otlp::protocols::grpc::endpoint", "OTLP gRPC"),
    ("receivers::otlp::protocols::http::endpoint", "OTLP HTTP"),
    ("extensions::embedded_store::endpoint", "UI and query APIs"),
    ("extensions::embedded_store::directory", "data directory"),
    ("service::telemetry::metrics::address", "self-metrics"),
];

/// Where the default configuration keeps its data: `$XDG_DATA_HOME/ferrotel`, else
/// `$HOME/.local/share/ferrotel`, else `./ferrotel-data`.
pub fn default_data_dir(env: impl Fn(&str) -> Option<String>) -> std::path::PathBuf {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(x) = set("XDG_DATA_HOME").filter(|x| std::path::Path::new(x).is_absolute()) {
        return std::path::Path::new(&x).join("ferrotel");
    }
    if let Some(h) = set("HOME") {
        return std::path::Path::new(&h).join(".local/share/ferrotel");
    }
    std::path::PathBuf::from("ferrotel-data")
}

/// [`DEFAULT_CONFIG`] with its data directory filled in.
pub fn default_config(data_dir: &std::path::Path) -> String {
    // A JSON string is a valid YAML double-quoted scalar: any path survives.
    let quoted = serde_json::Value::String(data_dir.display().to_string()).to_string();
    DEFAULT_CONFIG.replace("@DATA_DIR@", &quoted)
}

fn sources(args: &ConfigArgs) -> (Vec<String>, bool) {
    if args.configs.is_empty() {
        let dir = default_data_dir(config::process_env);
        (vec![format!("yaml:{}", default_config(&dir))], true)
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

/// The value at `path` under the component `id` of a config section, as text.
fn raw_str<'a>(
    section: impl IntoIterator<Item = (&'a config::ComponentId, &'a config::Value)>,
    id: &str,
    path: &str,
) -> Option<String> {
    let (_, v) = section.into_iter().find(|(k, _)| k.to_string() == id)?;
    let v = v.get_path(path)?;
    v.as_str()
        .map(str::to_string)
        .or_else(|| match v.resolved() {
            config::Value::Int(i) => Some(i.to_string()),
            _ => None,
        })
}

/// The listening endpoints of the default configuration as resolved (after `--set`), with
/// the `--set` key that moves each and what listens there.
fn default_endpoints(raw: &CollectorConfig) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    for (key, what) in DEFAULT_OVERRIDES {
        let ep = match key.split("::").collect::<Vec<_>>().as_slice() {
            ["receivers", id, rest @ ..] => raw_str(&raw.receivers, id, &rest.join("::")),
            ["extensions", id, rest @ ..] => raw_str(&raw.extensions, id, &rest.join("::")),
            ["service", "telemetry", "metrics", "address"] => {
                Some(raw.service.telemetry.metrics.address.clone())
            }
            _ => None,
        };
        if let Some(ep) = ep.filter(|_| !key.ends_with("directory")) {
            out.push((key, what, ep));
        }
    }
    out
}

fn port_of(endpoint: &str) -> Option<u16> {
    endpoint.rsplit(':').next()?.parse().ok()
}

/// When starting failed because a port is taken: which one, and the `--set` that moves it.
fn port_hint(err: &str, endpoints: &[(&str, &str, String)]) -> Option<String> {
    if !err.contains("in use") {
        return None;
    }
    endpoints.iter().find_map(|(key, what, ep)| {
        let port = port_of(ep)?;
        let needle = format!(":{port}");
        let hit = err.match_indices(&needle).any(|(i, _)| {
            !err[i + needle.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        });
        hit.then(|| {
            let host = ep.rsplit_once(':').map_or("localhost", |(h, _)| h);
            let host = if host.is_empty() { "localhost" } else { host };
            format!(
                "Port {port} ({what}) is already in use: stop what listens there, or move ferrotel's {what} elsewhere, e.g. --set {key}={host}:{}",
                port.wrapping_add(1)
            )
        })
    })
}

/// The host to show in a URL for a configured endpoint and the port actually bound.
fn url_host(endpoint: &str) -> String {
    let host = endpoint.rsplit_once(':').map_or("", |(h, _)| h);
    match host {
        "" | "0.0.0.0" | "[::]" | "::" => "localhost".to_string(),
        h => h.to_string(),
    }
}

/// What the default configuration runs and where, for a human: the UI's URL (with the port
/// really bound), the data directory and its cap, the OTLP endpoints, the environment
/// variable an SDK needs, and the Grafana datasource URLs.
fn default_banner(running: &Running, raw: &CollectorConfig) -> Vec<String> {
    use components::extensions::embedded_store::EmbeddedStore;
    let eps = default_endpoints(raw);
    let ep = |key: &str| {
        eps.iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, e)| e.clone())
            .unwrap_or_default()
    };
    let grpc = ep(DEFAULT_OVERRIDES[0].0);
    let http = ep(DEFAULT_OVERRIDES[1].0);
    let store = running
        .service
        .host()
        .extensions
        .iter()
        .find_map(|(_, e)| e.as_any().downcast_ref::<EmbeddedStore>());
    let mut lines = vec![
        "ferrotel is running the built-in default configuration (no --config given):".to_string(),
    ];
    if let Some(s) = store {
        let base = match s.local_addr() {
            Some(a) => format!("http://{}:{}", url_host(&s.config().endpoint), a.port()),
            None => format!("http://{}", s.config().endpoint),
        };
        lines.push(format!("  UI:          {base}/ui/"));
        let dir = std::fs::canonicalize(&s.config().directory)
            .map_or(s.config().directory.clone(), |p| p.display().to_string());
        lines.push(format!(
            "  Data:        {dir} (capped at {} MiB, the oldest data is evicted first)",
            s.config().max_size_mib
        ));
        lines.push(format!("  OTLP gRPC:   {grpc}"));
        lines.push(format!("  OTLP HTTP:   {http}"));
        lines.push("Point an OpenTelemetry SDK at it:".to_string());
        lines.push(format!(
            "  export OTEL_EXPORTER_OTLP_ENDPOINT=http://{}:{}",
            url_host(&http),
            port_of(&http).unwrap_or(4318)
        ));
        lines.push("Grafana datasources:".to_string());
        lines.extend(ui::banner(&base).into_iter().map(|l| format!("  {l}")));
    }
    lines.push(
        "Move a port or the directory with --set, e.g. --set extensions::embedded_store::endpoint=localhost:16687".to_string(),
    );
    lines
}

async fn serve(args: ConfigArgs, registry: Registry, parsed: ParsedConfig) -> Result<(), String> {
    // Listen for signals first: a SIGTERM that arrives while starting must drain, not kill.
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let (_, default) = sources(&args);
    if default {
        tracing::info!(
            "No --config given: running the built-in default (OTLP gRPC and HTTP -> batch -> embedded store, UI and query APIs on the store's port)"
        );
    }
    let per_component = parse_duration(&args.shutdown_timeout);
    crate::memory::spawn_trimmer(Duration::from_secs(5));
    let mut running = match start(&parsed).await {
        Ok(r) => r,
        Err(e) if default => {
            return Err(match port_hint(&e, &default_endpoints(&parsed.raw)) {
                Some(hint) => format!("{e}\n{hint}"),
                None => e,
            });
        }
        Err(e) => return Err(e),
    };
    if default {
        // For the human who started it, on stdout (the log stays on stderr).
        println!("{}", default_banner(&running, &parsed.raw).join("\n"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_data_directory_follows_xdg_then_home_then_the_working_directory() {
        use std::path::PathBuf;
        assert_eq!(
            default_data_dir(env(&[("XDG_DATA_HOME", "/x/data"), ("HOME", "/home/u")])),
            PathBuf::from("/x/data/ferrotel")
        );
        assert_eq!(
            default_data_dir(env(&[("XDG_DATA_HOME", ""), ("HOME", "/home/u")])),
            PathBuf::from("/home/u/.local/share/ferrotel")
        );
        // The XDG spec ignores relative paths.
        assert_eq!(
            default_data_dir(env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/u")])),
            PathBuf::from("/home/u/.local/share/ferrotel")
        );
        assert_eq!(default_data_dir(env(&[])), PathBuf::from("ferrotel-data"));
    }

    fn load_default(dir: &str, sets: &[&str]) -> ParsedConfig {
        let uri = format!("yaml:{}", default_config(std::path::Path::new(dir)));
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let cfg = config::load(&[uri], &sets).expect("the default config loads");
        graph::parse(&components::registry(), cfg).expect("the default config is valid")
    }

    #[test]
    fn the_default_runs_otlp_into_the_embedded_store_with_its_ui() {
        let p = load_default("/data/with \"quotes\" and: colons", &[]);
        let raw = &p.raw;
        for signal in ["traces", "metrics", "logs"] {
            let pl = raw
                .service
                .pipelines
                .iter()
                .find(|(id, _)| id.to_string() == signal)
                .map(|(_, pl)| pl)
                .unwrap_or_else(|| panic!("no {signal} pipeline"));
            let names =
                |ids: &[config::ComponentId]| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
            assert_eq!(names(&pl.receivers), ["otlp"], "{signal}");
            assert_eq!(names(&pl.processors), ["batch"], "{signal}");
            assert_eq!(names(&pl.exporters), ["embedded_store"], "{signal}");
        }
        assert_eq!(
            raw.service
                .extensions
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>(),
            ["embedded_store"]
        );
        let ext = |path: &str| raw_str(&raw.extensions, "embedded_store", path);
        assert_eq!(ext("endpoint").as_deref(), Some("localhost:16686"));
        assert_eq!(
            ext("directory").as_deref(),
            Some("/data/with \"quotes\" and: colons")
        );
        assert_eq!(ext("max_size_mib").as_deref(), Some("1024"));
        let eps = default_endpoints(raw);
        let ep = |k: &str| eps.iter().find(|(key, _, _)| *key == k).unwrap().2.clone();
        assert_eq!(
            ep("receivers::otlp::protocols::grpc::endpoint"),
            "localhost:4317"
        );
        assert_eq!(
            ep("receivers::otlp::protocols::http::endpoint"),
            "localhost:4318"
        );
        assert_eq!(ep("service::telemetry::metrics::address"), "localhost:8888");
    }

    #[test]
    fn the_documented_set_flags_move_every_address_and_the_directory() {
        let p = load_default(
            "/unused",
            &[
                "receivers::otlp::protocols::grpc::endpoint=127.0.0.1:1001",
                "receivers::otlp::protocols::http::endpoint=127.0.0.1:1002",
                "extensions::embedded_store::endpoint=127.0.0.1:1003",
                "extensions::embedded_store::directory=/tmp/x",
                "service::telemetry::metrics::address=127.0.0.1:1004",
                "extensions::embedded_store::max_size_mib=64",
            ],
        );
        let raw = &p.raw;
        let eps = default_endpoints(raw);
        let got: Vec<(&str, &str)> = eps.iter().map(|(k, _, e)| (*k, e.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    "receivers::otlp::protocols::grpc::endpoint",
                    "127.0.0.1:1001"
                ),
                (
                    "receivers::otlp::protocols::http::endpoint",
                    "127.0.0.1:1002"
                ),
                ("extensions::embedded_store::endpoint", "127.0.0.1:1003"),
                ("service::telemetry::metrics::address", "127.0.0.1:1004"),
            ]
        );
        let ext = |path: &str| raw_str(&raw.extensions, "embedded_store", path);
        assert_eq!(ext("directory").as_deref(), Some("/tmp/x"));
        assert_eq!(ext("max_size_mib").as_deref(), Some("64"));
        // The typed extension config sees the same values.
        let (_, e) = p
            .extensions
            .iter()
            .find(|(id, _)| id.to_string() == "embedded_store")
            .unwrap();
        let c: &components::extensions::embedded_store::Config = runtime::factory::typed(&e.config);
        assert_eq!(
            (c.endpoint.as_str(), c.directory.as_str(), c.max_size_mib),
            ("127.0.0.1:1003", "/tmp/x", 64)
        );
    }

    #[test]
    fn a_taken_port_is_named_with_the_flag_that_moves_it() {
        let p = load_default("/unused", &[]);
        let eps = default_endpoints(&p.raw);
        let err = "failed to start \"embedded_store\" extension: listen tcp 127.0.0.1:16686: Address already in use (os error 98)";
        let hint = port_hint(err, &eps).unwrap();
        assert!(hint.contains("Port 16686"), "{hint}");
        assert!(
            hint.contains("--set extensions::embedded_store::endpoint=localhost:16687"),
            "{hint}"
        );
        let err = "failed to listen for OTLP/gRPC on localhost:4317: Address already in use (os error 98)";
        let hint = port_hint(err, &eps).unwrap();
        assert!(
            hint.contains("--set receivers::otlp::protocols::grpc::endpoint=localhost:4318"),
            "{hint}"
        );
        // A port number that is a prefix of another is not mistaken for it.
        assert!(port_hint("listen tcp 127.0.0.1:43170: Address already in use", &eps).is_none());
        assert!(port_hint("listen tcp 127.0.0.1:16686: permission denied", &eps).is_none());
    }
}
