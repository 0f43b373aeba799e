//! From a [`CollectorConfig`] to built (not yet started) components.
//!
//! [`parse`] resolves every component type in the registry and decodes and validates every
//! component config, defined-but-unused ones included, as the Go collector does; then it runs
//! the structural checks, connector pairing and cycle detection. [`build`] creates the
//! instances and wires them: receivers (one per id) -> per-pipeline processors -> fan-out ->
//! exporters (one per id and signal) and connectors (one per id and signal pair).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use config::{CollectorConfig, ComponentId, ConfigError, PipelineId, PipelineSignal};
use pdata::Signal;

use crate::component::{
    Component, Connector, Exporter, Extension, Kind, Processor, Receiver, SharedConsumer,
};
use crate::factory::{
    AnyConfig, ConnectorFactory, ExporterFactory, ExtensionFactory, ProcessorFactory,
    ReceiverFactory, ReceiverOutputs, Settings,
};
use crate::fanout::fanout;
use crate::registry::{Lookup, Registry};
use crate::telemetry::Telemetry;
use crate::view::{Latency, PipelineView, ServiceView, Timed};

pub fn signal_of(s: PipelineSignal) -> Signal {
    match s {
        PipelineSignal::Traces => Signal::Traces,
        PipelineSignal::Metrics => Signal::Metrics,
        PipelineSignal::Logs => Signal::Logs,
        PipelineSignal::Profiles => Signal::Profiles,
    }
}

pub fn pipeline_name(id: &PipelineId) -> String {
    let s = signal_of(id.signal).as_str();
    match &id.name {
        Some(n) => format!("{s}/{n}"),
        None => s.to_string(),
    }
}

/// A component type with its parsed config.
pub struct Parsed<F: ?Sized> {
    pub factory: Arc<F>,
    pub config: AnyConfig,
}

/// A validated configuration, ready to build.
pub struct ParsedConfig {
    pub raw: CollectorConfig,
    pub receivers: HashMap<ComponentId, Parsed<dyn ReceiverFactory>>,
    pub processors: HashMap<ComponentId, Parsed<dyn ProcessorFactory>>,
    pub exporters: HashMap<ComponentId, Parsed<dyn ExporterFactory>>,
    pub connectors: HashMap<ComponentId, Parsed<dyn ConnectorFactory>>,
    pub extensions: HashMap<ComponentId, Parsed<dyn ExtensionFactory>>,
    /// Deprecation notices to log once the logger is set up.
    pub warnings: Vec<String>,
}

/// Every problem found, in the order found (so `validate` can name all missing types at once).
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

fn type_error(
    kind: Kind,
    id: &ComponentId,
    not_built: bool,
    valid: Vec<&'static str>,
) -> ConfigError {
    let path = format!("{}::{}", kind.section(), id);
    if not_built {
        ConfigError::new(
            path,
            format!(
                "the \"{}\" {} is not built into ferrotel yet (it exists in the OpenTelemetry Collector); this build has: [{}]",
                id.type_,
                kind,
                valid.join(" ")
            ),
        )
    } else {
        ConfigError::new(
            path,
            format!(
                "unknown type: \"{}\" for id: \"{}\" (valid values: [{}])",
                id.type_,
                id,
                valid.join(" ")
            ),
        )
    }
}

macro_rules! parse_section {
    ($registry:expr, $cfg:expr, $errors:expr, $warnings:expr, $field:ident, $lookup:ident, $kind:expr) => {{
        let mut out = HashMap::new();
        for (id, value) in &$cfg.$field {
            let factory = match $registry.$lookup(&id.type_) {
                Lookup::Found(f) => f.clone(),
                Lookup::Deprecated(f, msg) => {
                    $warnings.push(msg);
                    f.clone()
                }
                Lookup::NotBuilt => {
                    $errors.push(type_error($kind, id, true, $registry.names($kind)));
                    continue;
                }
                Lookup::Removed(instead) => {
                    $errors.push(ConfigError::new(
                        format!("{}::{}", $kind.section(), id),
                        format!(
                            "the \"{}\" {} was removed from the OpenTelemetry Collector: {}",
                            id.type_, $kind, instead
                        ),
                    ));
                    continue;
                }
                Lookup::Unknown => {
                    $errors.push(type_error($kind, id, false, $registry.names($kind)));
                    continue;
                }
            };
            let path = format!("{}::{}", $kind.section(), id);
            match factory.parse_config(value, &path) {
                Ok(config) => {
                    out.insert(id.clone(), Parsed { factory, config });
                }
                Err(e) => $errors.push(e),
            }
        }
        out
    }};
}

/// Resolves types, decodes and validates every component config and the pipelines.
pub fn parse(registry: &Registry, cfg: CollectorConfig) -> Result<ParsedConfig, ConfigErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let receivers = parse_section!(
        registry,
        cfg,
        errors,
        warnings,
        receivers,
        lookup_receiver,
        Kind::Receiver
    );
    let processors = parse_section!(
        registry,
        cfg,
        errors,
        warnings,
        processors,
        lookup_processor,
        Kind::Processor
    );
    let exporters = parse_section!(
        registry,
        cfg,
        errors,
        warnings,
        exporters,
        lookup_exporter,
        Kind::Exporter
    );
    let connectors = parse_section!(
        registry,
        cfg,
        errors,
        warnings,
        connectors,
        lookup_connector,
        Kind::Connector
    );
    let extensions = parse_section!(
        registry,
        cfg,
        errors,
        warnings,
        extensions,
        lookup_extension,
        Kind::Extension
    );
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    cfg.validate().map_err(|e| ConfigErrors(vec![e]))?;
    let parsed = ParsedConfig {
        raw: cfg,
        receivers,
        processors,
        exporters,
        connectors,
        extensions,
        warnings,
    };
    check_graph(&parsed).map_err(|e| ConfigErrors(vec![e]))?;
    Ok(parsed)
}

/// Signals checks, connector pairing and cycles.
fn check_graph(p: &ParsedConfig) -> Result<(), ConfigError> {
    let pipes = &p.raw.service.pipelines;
    for id in p.connectors.keys() {
        for (kind, map_has) in [
            ("exporter", p.exporters.contains_key(id)),
            ("receiver", p.receivers.contains_key(id)),
        ] {
            if map_has {
                return Err(ConfigError::new(
                    format!("connectors::{id}"),
                    format!(
                        "ambiguous ID: Found both \"{id}\" {kind} and \"{id}\" connector. Change one of the components' IDs to eliminate ambiguity (e.g. rename \"{id}\" connector to \"{id}/connector\")."
                    ),
                ));
            }
        }
    }
    for (pid, pipe) in pipes {
        let sig = signal_of(pid.signal);
        let path = format!("service::pipelines::{}", pipeline_name(pid));
        for r in &pipe.receivers {
            if let Some(rf) = p.receivers.get(r)
                && !rf.factory.signals().iter().any(|(s, _)| *s == sig)
            {
                return Err(ConfigError::new(
                    path,
                    format!(
                        "failed to create \"{r}\" receiver for data type \"{sig}\": telemetry type is not supported"
                    ),
                ));
            }
        }
        for pr in &pipe.processors {
            if let Some(f) = p.processors.get(pr)
                && !f.factory.signals().iter().any(|(s, _)| *s == sig)
            {
                return Err(ConfigError::new(
                    path,
                    format!(
                        "failed to create \"{pr}\" processor, in pipeline \"{}\": telemetry type is not supported",
                        pipeline_name(pid)
                    ),
                ));
            }
        }
        for e in &pipe.exporters {
            if let Some(f) = p.exporters.get(e)
                && !f.factory.signals().iter().any(|(s, _)| *s == sig)
            {
                return Err(ConfigError::new(
                    path,
                    format!(
                        "failed to create \"{e}\" exporter for data type \"{sig}\": telemetry type is not supported"
                    ),
                ));
            }
        }
    }
    // Connector pairing: used as exporter in A needs a receiver pipeline B with (A, B) supported.
    for (cid, c) in &p.connectors {
        let pairs = c.factory.pairs();
        let as_exporter: BTreeSet<Signal> = pipes
            .iter()
            .filter(|(_, pc)| pc.exporters.contains(cid))
            .map(|(pid, _)| signal_of(pid.signal))
            .collect();
        let as_receiver: BTreeSet<Signal> = pipes
            .iter()
            .filter(|(_, pc)| pc.receivers.contains(cid))
            .map(|(pid, _)| signal_of(pid.signal))
            .collect();
        for a in &as_exporter {
            if !as_receiver
                .iter()
                .any(|b| pairs.iter().any(|(f, t, _)| f == a && t == b))
            {
                return Err(ConfigError::new(
                    format!("connectors::{cid}"),
                    format!(
                        "connector \"{cid}\" used as exporter in [{a}] pipeline but not used in any supported receiver pipeline"
                    ),
                ));
            }
        }
        for b in &as_receiver {
            if !as_exporter
                .iter()
                .any(|a| pairs.iter().any(|(f, t, _)| f == a && t == b))
            {
                return Err(ConfigError::new(
                    format!("connectors::{cid}"),
                    format!(
                        "connector \"{cid}\" used as receiver in [{b}] pipeline but not used in any supported exporter pipeline"
                    ),
                ));
            }
        }
    }
    // Cycles: pipeline -> connector -> pipeline edges.
    let ids: Vec<&PipelineId> = pipes.keys().collect();
    let edges = |from: &PipelineId| -> Vec<(ComponentId, &PipelineId)> {
        let mut out = Vec::new();
        for e in &pipes[from].exporters {
            if let Some(c) = p.connectors.get(e) {
                for to in &ids {
                    let a = signal_of(from.signal);
                    let b = signal_of(to.signal);
                    if pipes[*to].receivers.contains(e)
                        && c.factory.pairs().iter().any(|(f, t, _)| *f == a && *t == b)
                    {
                        out.push((e.clone(), *to));
                    }
                }
            }
        }
        out
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks: HashMap<&PipelineId, Mark> = ids.iter().map(|i| (*i, Mark::New)).collect();
    fn dfs<'a>(
        at: &'a PipelineId,
        marks: &mut HashMap<&'a PipelineId, Mark>,
        stack: &mut Vec<String>,
        edges: &dyn Fn(&PipelineId) -> Vec<(ComponentId, &'a PipelineId)>,
    ) -> Result<(), ConfigError> {
        marks.insert(at, Mark::Active);
        stack.push(pipeline_name(at));
        for (conn, to) in edges(at) {
            match marks[to] {
                Mark::Active => {
                    stack.push(format!("connector \"{conn}\""));
                    stack.push(pipeline_name(to));
                    return Err(ConfigError::new(
                        "",
                        format!("cycle detected: {}", stack.join(" -> ")),
                    ));
                }
                Mark::New => {
                    stack.push(format!("connector \"{conn}\""));
                    dfs(to, marks, stack, edges)?;
                    stack.pop();
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(at, Mark::Done);
        Ok(())
    }
    for id in &ids {
        if marks[*id] == Mark::New {
            dfs(id, &mut marks, &mut Vec::new(), &edges)?;
        }
    }
    Ok(())
}

/// One started-or-stoppable component, with a label for logs and errors.
pub struct Node {
    pub kind: Kind,
    pub id: ComponentId,
    /// The pipelines this instance belongs to (for status reporting).
    pub pipelines: Vec<String>,
    pub component: Arc<dyn Component>,
}

/// Built components, in the order they must start (extensions, then downstream before
/// upstream, receivers last). Shutdown runs the reverse.
pub struct Built {
    pub extensions: Vec<(ComponentId, Arc<dyn Extension>)>,
    pub nodes: Vec<Node>,
    /// The pipelines and extensions, as extensions (zpages) show them.
    pub view: ServiceView,
}

struct Builder<'a> {
    p: &'a ParsedConfig,
    tel: &'a Telemetry,
    exporters: HashMap<(ComponentId, Signal), Arc<dyn Exporter>>,
    connectors: HashMap<(ComponentId, Signal, Signal), Arc<dyn Connector>>,
    heads: HashMap<PipelineId, SharedConsumer>,
    nodes: Vec<Node>,
    latency: HashMap<PipelineId, Arc<Latency>>,
    mutates: HashMap<PipelineId, bool>,
}

impl Builder<'_> {
    /// Names of the pipelines of `signal` (any signal if `None`) that list `id` as receiver
    /// (`as_receiver`) or exporter.
    fn pipelines_with(
        &self,
        id: &ComponentId,
        signal: Option<Signal>,
        as_receiver: bool,
    ) -> Vec<String> {
        self.p
            .raw
            .service
            .pipelines
            .iter()
            .filter(|(pid, pc)| {
                signal.is_none_or(|s| signal_of(pid.signal) == s)
                    && if as_receiver {
                        pc.receivers.contains(id)
                    } else {
                        pc.exporters.contains(id)
                    }
            })
            .map(|(pid, _)| pipeline_name(pid))
            .collect()
    }

    fn settings(&self, kind: Kind, id: &ComponentId) -> Settings {
        Settings {
            id: id.clone(),
            kind,
            telemetry: self.tel.clone(),
        }
    }

    fn exporter(&mut self, id: &ComponentId, sig: Signal) -> Result<Arc<dyn Exporter>, String> {
        if let Some(e) = self.exporters.get(&(id.clone(), sig)) {
            return Ok(e.clone());
        }
        let parsed = &self.p.exporters[id];
        let e = parsed
            .factory
            .create(self.settings(Kind::Exporter, id), &parsed.config, sig)
            .map_err(|e| {
                format!("failed to create \"{id}\" exporter for data type \"{sig}\": {e}")
            })?;
        self.exporters.insert((id.clone(), sig), e.clone());
        let pipelines = self.pipelines_with(id, Some(sig), false);
        self.nodes.push(Node {
            kind: Kind::Exporter,
            id: id.clone(),
            pipelines,
            component: upcast_exporter(e.clone()),
        });
        Ok(e)
    }

    fn head(&mut self, pid: &PipelineId) -> Result<SharedConsumer, String> {
        if let Some(h) = self.heads.get(pid) {
            return Ok(h.clone());
        }
        let pipe = self.p.raw.service.pipelines[pid].clone();
        let sig = signal_of(pid.signal);
        let mut tail: Vec<SharedConsumer> = Vec::new();
        for e in &pipe.exporters {
            if self.p.connectors.contains_key(e) {
                for to_sig in Signal::EVERY {
                    if let Some(c) = self.connector(e, sig, to_sig)? {
                        tail.push(upcast_connector_consumer(c));
                    }
                }
            } else {
                tail.push(upcast_exporter_consumer(self.exporter(e, sig)?));
            }
        }
        let mut next = fanout(tail);
        let mut mutates = false;
        for pr in pipe.processors.iter().rev() {
            let parsed = &self.p.processors[pr];
            let proc = parsed
                .factory
                .create(
                    self.settings(Kind::Processor, pr),
                    &parsed.config,
                    sig,
                    next,
                )
                .map_err(|e| {
                    format!(
                        "failed to create \"{pr}\" processor, in pipeline \"{}\": {e}",
                        pipeline_name(pid)
                    )
                })?;
            mutates |= proc.mutates_data();
            self.nodes.push(Node {
                kind: Kind::Processor,
                id: pr.clone(),
                pipelines: vec![pipeline_name(pid)],
                component: upcast_processor(proc.clone()),
            });
            next = upcast_processor_consumer(proc);
        }
        let latency = Arc::new(Latency::default());
        let next: SharedConsumer = Arc::new(Timed {
            next,
            latency: latency.clone(),
        });
        self.latency.insert(pid.clone(), latency);
        self.mutates.insert(pid.clone(), mutates);
        self.heads.insert(pid.clone(), next.clone());
        Ok(next)
    }

    /// The connector instance (id, from, to), if some pipeline of signal `to` receives from it.
    fn connector(
        &mut self,
        id: &ComponentId,
        from: Signal,
        to: Signal,
    ) -> Result<Option<Arc<dyn Connector>>, String> {
        if let Some(c) = self.connectors.get(&(id.clone(), from, to)) {
            return Ok(Some(c.clone()));
        }
        let parsed = &self.p.connectors[id];
        if !parsed
            .factory
            .pairs()
            .iter()
            .any(|(f, t, _)| *f == from && *t == to)
        {
            return Ok(None);
        }
        let targets: Vec<PipelineId> = self
            .p
            .raw
            .service
            .pipelines
            .iter()
            .filter(|(pid, pc)| signal_of(pid.signal) == to && pc.receivers.contains(id))
            .map(|(pid, _)| pid.clone())
            .collect();
        if targets.is_empty() {
            return Ok(None);
        }
        let mut heads = Vec::new();
        for t in &targets {
            heads.push((t.to_string(), self.head(t)?));
        }
        let parsed = &self.p.connectors[id];
        let set = self.settings(Kind::Connector, id);
        let c = match parsed
            .factory
            .create_router(&set, &parsed.config, from, to, &heads)
        {
            Some(r) => r,
            None => parsed.factory.create(
                set,
                &parsed.config,
                from,
                to,
                fanout(heads.into_iter().map(|(_, h)| h).collect()),
            ),
        }
        .map_err(|e| format!("failed to create \"{id}\" connector, from {from} to {to}: {e}"))?;
        self.connectors.insert((id.clone(), from, to), c.clone());
        let mut pipelines = self.pipelines_with(id, Some(from), false);
        pipelines.extend(self.pipelines_with(id, Some(to), true));
        self.nodes.push(Node {
            kind: Kind::Connector,
            id: id.clone(),
            pipelines,
            component: upcast_connector(c.clone()),
        });
        Ok(Some(c))
    }
}

fn upcast_exporter(e: Arc<dyn Exporter>) -> Arc<dyn Component> {
    e
}
fn upcast_exporter_consumer(e: Arc<dyn Exporter>) -> SharedConsumer {
    e
}
fn upcast_processor(p: Arc<dyn Processor>) -> Arc<dyn Component> {
    p
}
fn upcast_processor_consumer(p: Arc<dyn Processor>) -> SharedConsumer {
    p
}
fn upcast_connector(c: Arc<dyn Connector>) -> Arc<dyn Component> {
    c
}
fn upcast_connector_consumer(c: Arc<dyn Connector>) -> SharedConsumer {
    c
}
fn upcast_receiver(r: Arc<dyn Receiver>) -> Arc<dyn Component> {
    r
}

/// The configuration as one tree again (for extensions that show it: healthcheckv2's
/// `/config`).
fn config_tree(raw: &CollectorConfig) -> config::Value {
    use config::{Mapping, Value};
    let section = |m: &indexmap::IndexMap<ComponentId, Value>| {
        Value::Map(m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    };
    let ids =
        |v: &[ComponentId]| Value::Seq(v.iter().map(|i| Value::String(i.to_string())).collect());
    let mut pipelines = Mapping::new();
    for (pid, pc) in &raw.service.pipelines {
        let mut m = Mapping::new();
        m.insert("receivers".into(), ids(&pc.receivers));
        m.insert("processors".into(), ids(&pc.processors));
        m.insert("exporters".into(), ids(&pc.exporters));
        pipelines.insert(pipeline_name(pid), Value::Map(m));
    }
    let mut service = Mapping::new();
    service.insert("extensions".into(), ids(&raw.service.extensions));
    service.insert("pipelines".into(), Value::Map(pipelines));
    let mut root = Mapping::new();
    root.insert("receivers".into(), section(&raw.receivers));
    root.insert("processors".into(), section(&raw.processors));
    root.insert("exporters".into(), section(&raw.exporters));
    root.insert("connectors".into(), section(&raw.connectors));
    root.insert("extensions".into(), section(&raw.extensions));
    root.insert("service".into(), Value::Map(service));
    Value::Map(root)
}

/// Creates every component the pipelines use and wires them.
pub fn build(p: &ParsedConfig, tel: &Telemetry) -> Result<Built, String> {
    let mut b = Builder {
        p,
        tel,
        exporters: HashMap::new(),
        connectors: HashMap::new(),
        heads: HashMap::new(),
        nodes: Vec::new(),
        latency: HashMap::new(),
        mutates: HashMap::new(),
    };
    let mut extensions = Vec::new();
    for id in &p.raw.service.extensions {
        let parsed = &p.extensions[id];
        let ext = parsed
            .factory
            .create(b.settings(Kind::Extension, id), &parsed.config)
            .map_err(|e| format!("failed to create extension \"{id}\": {e}"))?;
        extensions.push((id.clone(), ext));
    }
    // Exporters first, so they start before anything that feeds them.
    let pipeline_ids: Vec<PipelineId> = p.raw.service.pipelines.keys().cloned().collect();
    for pid in &pipeline_ids {
        let pipe = &p.raw.service.pipelines[pid];
        for e in pipe.exporters.clone() {
            if p.exporters.contains_key(&e) {
                b.exporter(&e, signal_of(pid.signal))?;
            }
        }
    }
    for pid in &pipeline_ids {
        b.head(pid)?;
    }
    // Receivers: one instance per id, feeding every pipeline that lists it.
    let mut receiver_ids: Vec<ComponentId> = Vec::new();
    for pipe in p.raw.service.pipelines.values() {
        for r in &pipe.receivers {
            if p.receivers.contains_key(r) && !receiver_ids.contains(r) {
                receiver_ids.push(r.clone());
            }
        }
    }
    for rid in receiver_ids {
        let mut outputs = ReceiverOutputs::default();
        for sig in Signal::EVERY {
            let heads: Vec<SharedConsumer> = p
                .raw
                .service
                .pipelines
                .iter()
                .filter(|(pid, pc)| signal_of(pid.signal) == sig && pc.receivers.contains(&rid))
                .map(|(pid, _)| b.heads[pid].clone())
                .collect();
            if !heads.is_empty() {
                outputs.set(sig, fanout(heads));
            }
        }
        let parsed = &p.receivers[&rid];
        let r = parsed
            .factory
            .create(b.settings(Kind::Receiver, &rid), &parsed.config, outputs)
            .map_err(|e| format!("failed to create \"{rid}\" receiver: {e}"))?;
        let pipelines = b.pipelines_with(&rid, None, true);
        b.nodes.push(Node {
            kind: Kind::Receiver,
            id: rid,
            pipelines,
            component: upcast_receiver(r),
        });
    }
    let names = |ids: &[ComponentId]| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let pipelines = p
        .raw
        .service
        .pipelines
        .iter()
        .map(|(pid, pc)| PipelineView {
            name: pipeline_name(pid),
            signal: signal_of(pid.signal).as_str().to_string(),
            receivers: names(&pc.receivers),
            processors: names(&pc.processors),
            exporters: names(&pc.exporters),
            connectors: pc
                .receivers
                .iter()
                .chain(&pc.exporters)
                .filter(|c| p.connectors.contains_key(*c))
                .map(|c| c.to_string())
                .collect(),
            mutates_data: b.mutates.get(pid).copied().unwrap_or(false),
            latency: b.latency.get(pid).cloned().unwrap_or_default(),
        })
        .collect();
    let view = ServiceView {
        pipelines,
        extensions: names(&p.raw.service.extensions),
        config: config_tree(&p.raw),
        ..ServiceView::default()
    };
    Ok(Built {
        extensions,
        nodes: b.nodes,
        view,
    })
}
