//! The buffering and deciding of `tail_sampling` (Go's `processor.go`): spans are grouped by
//! trace id and held; a trace is decided about `decision_wait` after its first span by
//! evaluating every policy; sampled spans go on, the others are dropped; later spans follow
//! the decision while it is remembered (in memory, or in the decision caches).
//!
//! Memory is bounded by `num_traces`: trace ids enter a FIFO as they first arrive, and when
//! it is full the oldest trace leaves memory; one still undecided is counted in
//! `otelcol_processor_tail_sampling_sampling_trace_dropped_too_early` and logged with its
//! span count, so no span is lost silently.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans};
use pdata::{Batch, Request};
use runtime::telemetry::{Counter, Gauge, Histogram, ProcessorMetrics, Telemetry};
use runtime::{ConsumeError, SharedConsumer};
use tokio::time::Instant;

use super::config::Config;
use super::policies::{self, Decision, Evaluator, Lru, TraceData, TraceId};

/// Buckets of the latency and age histograms (the OpenTelemetry SDK's defaults).
const BOUNDS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// The final decision of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Final {
    Sampled,
    NotSampled,
    /// Not sampled because a `drop` policy matched (reported as `decision="dropped"`).
    Dropped,
}

/// Spans per request sent downstream (the batch processor's default `send_batch_size`).
pub const RELEASE_SPANS: usize = 8192;

impl Final {
    fn sampled(self) -> bool {
        self == Final::Sampled
    }
}

/// Counters by the `sampled`/`decision` attributes: sampled, not_sampled, dropped.
struct ByDecision([Counter; 3]);

impl ByDecision {
    fn new(tel: &Telemetry, name: &'static str, help: &'static str, policy: Option<&str>) -> Self {
        let make = |sampled: &str, decision: &str| {
            let mut labels = vec![("sampled", sampled), ("decision", decision)];
            if let Some(p) = policy {
                labels.insert(0, ("policy", p));
            }
            tel.counter(name, help, &labels)
        };
        ByDecision([
            make("true", "sampled"),
            make("false", "not_sampled"),
            make("false", "dropped"),
        ])
    }

    fn add(&self, d: Decision) {
        let i = match d {
            Decision::Sampled | Decision::InvertSampled => 0,
            Decision::NotSampled | Decision::InvertNotSampled => 1,
            Decision::Dropped => 2,
        };
        self.0[i].add(1);
    }

    fn add_final(&self, f: Final) {
        let i = match f {
            Final::Sampled => 0,
            Final::NotSampled => 1,
            Final::Dropped => 2,
        };
        self.0[i].add(1);
    }
}

struct Policy {
    name: String,
    eval: Box<dyn Evaluator>,
    counts: ByDecision,
    /// `count_spans_sampled`, behind the `metricstatcountspanssampled` gate.
    span_counts: Option<[Counter; 3]>,
    latency: Histogram,
}

/// Gate: count spans per policy decision too.
pub const GATE_COUNT_SPANS: &str = "processor.tailsamplingprocessor.metricstatcountspanssampled";
/// Gate: name the sampling policy in the kept spans' scope attributes.
pub const GATE_RECORD_POLICY: &str = "processor.tailsamplingprocessor.recordpolicy";

struct Metrics {
    global: ByDecision,
    dropped_too_early: Counter,
    dropped_too_large: Counter,
    evaluation_errors: Counter,
    new_traces: Counter,
    early_sampled: Counter,
    early_not_sampled: Counter,
    on_memory: Gauge,
    timer_latency: Histogram,
    removal_age: Histogram,
    late_span_age: Histogram,
}

impl Metrics {
    fn new(tel: &Telemetry) -> Metrics {
        Metrics {
            global: ByDecision::new(
                tel,
                "otelcol_processor_tail_sampling_global_count_traces_sampled",
                "Global count of traces that were sampled or not by at least one policy",
                None,
            ),
            dropped_too_early: tel.counter(
                "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
                "Count of traces that needed to be dropped before the configured wait time",
                &[],
            ),
            dropped_too_large: tel.counter(
                "otelcol_processor_tail_sampling_traces_dropped_too_large",
                "Count of traces that were dropped because they were too large",
                &[],
            ),
            evaluation_errors: tel.counter(
                "otelcol_processor_tail_sampling_sampling_policy_evaluation_error",
                "Count of sampling policy evaluation errors",
                &[],
            ),
            new_traces: tel.counter(
                "otelcol_processor_tail_sampling_new_trace_id_received",
                "Counts the arrival of new traces",
                &[],
            ),
            early_sampled: tel.counter(
                "otelcol_processor_tail_sampling_early_releases_from_cache_decision",
                "Number of spans that were able to be immediately released due to a decision cache hit.",
                &[("sampled", "true")],
            ),
            early_not_sampled: tel.counter(
                "otelcol_processor_tail_sampling_early_releases_from_cache_decision",
                "Number of spans that were able to be immediately released due to a decision cache hit.",
                &[("sampled", "false")],
            ),
            on_memory: tel.gauge(
                "otelcol_processor_tail_sampling_sampling_traces_on_memory",
                "Tracks the number of traces current on memory",
                &[],
            ),
            timer_latency: tel.histogram(
                "otelcol_processor_tail_sampling_sampling_decision_timer_latency",
                "Latency (in milliseconds) of each run of the sampling decision timer",
                &[],
                BOUNDS,
            ),
            removal_age: tel.histogram(
                "otelcol_processor_tail_sampling_sampling_trace_removal_age",
                "Time (in seconds) from arrival of a new trace until its removal from memory",
                &[],
                BOUNDS,
            ),
            late_span_age: tel.histogram(
                "otelcol_processor_tail_sampling_sampling_late_span_age",
                "Time (in seconds) from the sampling decision was taken and the arrival of a late span",
                &[],
                BOUNDS,
            ),
        }
    }
}

struct Trace {
    data: TraceData,
    /// Encoded size of the spans received, kept only with `maximum_trace_size_bytes`.
    bytes: u64,
    /// Its root span arrived (and, with `decision_wait_after_root_received`, its decision
    /// was brought forward).
    root_seen: bool,
    /// Tells this stay in memory from an earlier one of the same id (a trace forgotten and
    /// seen again), so a stale FIFO or batch entry never touches the new one.
    generation: u64,
    arrival: Instant,
    decision: Option<(Final, Instant)>,
}

struct State {
    traces: HashMap<TraceId, Trace>,
    /// Arrival order, for eviction at `num_traces`.
    fifo: VecDeque<(TraceId, u64)>,
    /// Ids waiting for their decision, one batch per tick (Go's `idbatcher`).
    batches: VecDeque<Vec<(TraceId, u64)>>,
    current: Vec<(TraceId, u64)>,
    sampled_cache: Option<Lru<TraceId, ()>>,
    non_sampled_cache: Option<Lru<TraceId, ()>>,
    policies: Vec<Policy>,
    next_generation: u64,
    /// Traces and spans dropped before their decision since the last tick (logged there,
    /// once, rather than once per trace under overload).
    evicted: (u64, i64),
}

/// The tail sampler of one pipeline.
pub struct TailSampler {
    state: Mutex<State>,
    next: SharedConsumer,
    metrics: Metrics,
    processor: ProcessorMetrics,
    num_traces: usize,
    sample_on_first_match: bool,
    drop_pending_on_shutdown: bool,
    record_policy: bool,
    max_trace_bytes: u64,
    /// The decision batch (index into `State::batches`) a trace moves to when its root span
    /// arrives; `None` when `decision_wait_after_root_received` is off or not sooner.
    root_batch: Option<usize>,
    id: String,
}

fn trace_id(bytes: &[u8]) -> TraceId {
    let mut id = [0u8; 16];
    let n = bytes.len().min(16);
    id[..n].copy_from_slice(&bytes[..n]);
    id
}

fn span_count(rs: &ResourceSpans) -> usize {
    rs.scope_spans.iter().map(|ss| ss.spans.len()).sum()
}

/// The feature gates this processor reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gates {
    pub count_spans: bool,
    pub record_policy: bool,
}

impl Gates {
    /// As set for this process (`--feature-gates`).
    pub fn from_process() -> Gates {
        Gates {
            count_spans: runtime::featuregate::enabled(GATE_COUNT_SPANS, false),
            record_policy: runtime::featuregate::enabled(GATE_RECORD_POLICY, false),
        }
    }
}

impl TailSampler {
    pub fn new(
        cfg: &Config,
        id: &config::ComponentId,
        tel: &Telemetry,
        next: SharedConsumer,
        gates: Gates,
    ) -> Result<TailSampler, String> {
        let epoch = Instant::now();
        let mut policies = Vec::with_capacity(cfg.policies.len());
        for p in &cfg.policies {
            let eval = policies::build(p, epoch)
                .map_err(|e| format!("failed to create policy evaluator for {:?}: {e}", p.name))?;
            // Go names a policy after the processor instance when it has a name.
            let label = match &id.name {
                Some(n) if !n.is_empty() => format!("{n}.{}", p.name),
                _ => p.name.clone(),
            };
            let span_counts = gates.count_spans.then(|| {
                let c = |sampled: &str, decision: &str| {
                    tel.counter(
                        "otelcol_processor_tail_sampling_count_spans_sampled",
                        "Count of spans that were sampled or not per sampling policy",
                        &[
                            ("policy", &label),
                            ("sampled", sampled),
                            ("decision", decision),
                        ],
                    )
                };
                [
                    c("true", "sampled"),
                    c("false", "not_sampled"),
                    c("false", "dropped"),
                ]
            });
            policies.push(Policy {
                name: p.name.clone(),
                span_counts,
                eval,
                counts: ByDecision::new(
                    tel,
                    "otelcol_processor_tail_sampling_count_traces_sampled",
                    "Count of traces that were sampled or not per sampling policy",
                    Some(&label),
                ),
                latency: tel.histogram(
                    "otelcol_processor_tail_sampling_sampling_decision_latency",
                    "Latency (in microseconds) of a given sampling policy",
                    &[("policy", &label)],
                    BOUNDS,
                ),
            });
        }
        // One batch per second of decision_wait (at least one): a trace is decided on the
        // tick that takes its batch, decision_wait to decision_wait + 1s after its arrival.
        let n_batches = (cfg.decision_wait.0.as_secs_f64().floor() as usize).max(1);
        let cache = |size: usize| (size > 0).then(|| Lru::new(size));
        Ok(TailSampler {
            state: Mutex::new(State {
                traces: HashMap::with_capacity(
                    (cfg.expected_new_traces_per_sec as usize)
                        .saturating_mul(n_batches)
                        .min(cfg.num_traces as usize),
                ),
                fifo: VecDeque::new(),
                batches: (0..n_batches).map(|_| Vec::new()).collect(),
                current: Vec::with_capacity(cfg.expected_new_traces_per_sec as usize),
                sampled_cache: cache(cfg.decision_cache.sampled_cache_size),
                non_sampled_cache: cache(cfg.decision_cache.non_sampled_cache_size),
                policies,
                next_generation: 0,
                evicted: (0, 0),
            }),
            next,
            metrics: Metrics::new(tel),
            processor: ProcessorMetrics::new(tel, &id.to_string(), pdata::Signal::Traces),
            num_traces: cfg.num_traces.max(1) as usize,
            sample_on_first_match: cfg.sample_on_first_match,
            drop_pending_on_shutdown: cfg.drop_pending_traces_on_shutdown,
            record_policy: gates.record_policy,
            max_trace_bytes: cfg.maximum_trace_size_bytes,
            // Batch k is decided on the (k+1)th tick from now: k = ceil(wait) keeps at least
            // the wait, as decision_wait's batches do.
            root_batch: {
                let w = cfg.decision_wait_after_root_received.0.as_secs_f64();
                let k = w.ceil() as usize;
                (w > 0.0 && k < n_batches).then_some(k)
            },
            id: id.to_string(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes spans in: held for their trace's decision, or passed on / dropped at once when
    /// the decision is known.
    pub async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.processor.incoming.add(items);
        if items == 0 {
            return Ok(());
        }
        let client = batch.client_info().cloned();
        let req = batch
            .into_request()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        let Request::Traces(req) = req else {
            return Err(ConsumeError::permanent("tail_sampling takes traces only"));
        };
        let now = Instant::now();
        let mut forward: Vec<ResourceSpans> = Vec::new();
        {
            let mut st = self.lock();
            for rs in req.resource_spans {
                for (id, piece) in split_by_trace(rs) {
                    self.take_piece(&mut st, id, piece, now, &mut forward);
                }
            }
            self.metrics.on_memory.set(st.traces.len() as i64);
        }
        if forward.is_empty() {
            return Ok(());
        }
        let mut out = Batch::from_request(Request::Traces(ExportTraceServiceRequest {
            resource_spans: forward,
        }));
        out.set_client_info(client);
        self.send(out).await;
        Ok(())
    }

    fn take_piece(
        &self,
        st: &mut State,
        id: TraceId,
        piece: ResourceSpans,
        now: Instant,
        forward: &mut Vec<ResourceSpans>,
    ) {
        let n = span_count(&piece) as i64;
        if let Some(c) = st.sampled_cache.as_mut()
            && c.get(&id).is_some()
        {
            self.metrics.early_sampled.add(n as u64);
            forward.push(piece);
            return;
        }
        if let Some(c) = st.non_sampled_cache.as_mut()
            && c.get(&id).is_some()
        {
            self.metrics.early_not_sampled.add(n as u64);
            return;
        }
        let piece_bytes = if self.max_trace_bytes > 0 {
            prost::Message::encoded_len(&piece) as u64
        } else {
            0
        };
        let has_root = self.root_batch.is_some()
            && piece
                .scope_spans
                .iter()
                .any(|ss| ss.spans.iter().any(|s| s.parent_span_id.is_empty()));
        if let Some(t) = st.traces.get_mut(&id) {
            t.data.span_count += n;
            match t.decision {
                None => {
                    if has_root && !t.root_seen {
                        t.root_seen = true;
                        let entry = (id, t.generation);
                        self.bring_forward(st, entry);
                        let Some(t) = st.traces.get_mut(&id) else {
                            return;
                        };
                        t.data.batches.push(piece);
                        t.bytes += piece_bytes;
                        if self.max_trace_bytes > 0 && t.bytes > self.max_trace_bytes {
                            self.drop_too_large(st, id, now);
                        }
                        return;
                    }
                    t.data.batches.push(piece);
                    t.bytes += piece_bytes;
                    if self.max_trace_bytes > 0 && t.bytes > self.max_trace_bytes {
                        self.drop_too_large(st, id, now);
                    }
                }
                Some((f, at)) => {
                    self.metrics
                        .late_span_age
                        .record(now.saturating_duration_since(at).as_secs() as f64);
                    if f.sampled() {
                        forward.push(piece);
                    }
                }
            }
            return;
        }
        let generation = st.next_generation;
        st.next_generation += 1;
        st.traces.insert(
            id,
            Trace {
                data: TraceData {
                    batches: vec![piece],
                    span_count: n,
                },
                bytes: piece_bytes,
                root_seen: has_root,
                generation,
                arrival: now,
                decision: None,
            },
        );
        st.current.push((id, generation));
        if has_root {
            self.bring_forward(st, (id, generation));
        }
        st.fifo.push_back((id, generation));
        self.metrics.new_traces.add(1);
        while st.fifo.len() > self.num_traces {
            let Some((old, g)) = st.fifo.pop_front() else {
                break;
            };
            self.forget(st, &old, g, now);
        }
        if self.max_trace_bytes > 0 && piece_bytes > self.max_trace_bytes {
            self.drop_too_large(st, id, now);
        }
    }

    /// `decision_wait_after_root_received`: the trace is also put in an earlier decision
    /// batch; the later entry finds it decided and is skipped.
    fn bring_forward(&self, st: &mut State, entry: (TraceId, u64)) {
        if let Some(k) = self.root_batch
            && let Some(b) = st.batches.get_mut(k)
        {
            b.push(entry);
        }
    }

    /// `maximum_trace_size_bytes` exceeded: the trace is decided not sampled now, its spans
    /// dropped (counted in `traces_dropped_too_large`, not as dropped too early), and its
    /// later spans follow that decision.
    fn drop_too_large(&self, st: &mut State, id: TraceId, now: Instant) {
        let Some(t) = st.traces.get_mut(&id) else {
            return;
        };
        self.metrics.dropped_too_large.add(1);
        t.decision = Some((Final::NotSampled, now));
        t.data.batches = Vec::new();
        let generation = t.generation;
        if let Some(c) = st.non_sampled_cache.as_mut() {
            c.put(id, ());
            self.forget(st, &id, generation, now);
        }
    }

    /// Removes a trace from memory if `generation` is still its stay; one not decided yet is
    /// lost, and counted.
    fn forget(&self, st: &mut State, id: &TraceId, generation: u64, now: Instant) {
        if st.traces.get(id).is_none_or(|t| t.generation != generation) {
            return;
        }
        let Some(t) = st.traces.remove(id) else {
            return;
        };
        self.metrics
            .removal_age
            .record(now.saturating_duration_since(t.arrival).as_secs() as f64);
        if t.decision.is_none() {
            self.metrics.dropped_too_early.add(1);
            st.evicted.0 += 1;
            st.evicted.1 += t.data.span_count;
        }
    }

    /// One decision tick: decides the traces whose wait is over and passes the sampled ones
    /// on.
    pub async fn tick(&self) {
        let started = std::time::Instant::now();
        let release = {
            let mut st = self.lock();
            let due = st.batches.pop_front().unwrap_or_default();
            let current = std::mem::take(&mut st.current);
            st.batches.push_back(current);
            let release = self.decide_all(&mut st, due);
            self.metrics.on_memory.set(st.traces.len() as i64);
            let (traces, spans) = std::mem::take(&mut st.evicted);
            if traces > 0 {
                tracing::warn!(
                    processor = %self.id,
                    traces,
                    spans,
                    "traces dropped before their sampling decision: num_traces reached (raise num_traces or lower decision_wait)"
                );
            }
            release
        };
        self.release(release).await;
        self.metrics
            .timer_latency
            .record(started.elapsed().as_millis() as f64);
    }

    fn decide_all(&self, st: &mut State, ids: Vec<(TraceId, u64)>) -> Vec<ResourceSpans> {
        let now = Instant::now();
        let mut release = Vec::new();
        for (id, generation) in ids {
            let State {
                traces, policies, ..
            } = &mut *st;
            let Some(t) = traces
                .get_mut(&id)
                .filter(|t| t.generation == generation && t.decision.is_none())
            else {
                // Forgotten before its time: counted when it was dropped.
                continue;
            };
            let (f, by) = decide(
                policies,
                &id,
                &mut t.data,
                now,
                self.sample_on_first_match,
                &self.metrics,
            );
            self.metrics.global.add_final(f);
            t.decision = Some((f, now));
            let mut spans = std::mem::take(&mut t.data.batches);
            if self.record_policy
                && f.sampled()
                && let Some(i) = by
            {
                let p = &policies[i];
                set_scope_attribute(&mut spans, "tailsampling.policy", &p.name);
                if let Some(sub) = p.eval.sampled_by() {
                    set_scope_attribute(&mut spans, "tailsampling.composite_policy", sub);
                }
            }
            if f.sampled() {
                release.extend(spans);
                if let Some(c) = st.sampled_cache.as_mut() {
                    c.put(id, ());
                    // Remembered by the cache: the trace leaves memory now.
                    self.forget(st, &id, generation, now);
                }
            } else if let Some(c) = st.non_sampled_cache.as_mut() {
                c.put(id, ());
                self.forget(st, &id, generation, now);
            }
        }
        release
    }

    /// Sends what a tick sampled, in requests of about [`RELEASE_SPANS`] spans (whole
    /// resource groups, so a trace's spans from one sender stay together): a busy tick can
    /// sample hundreds of thousands of spans, more than any receiver takes in one request.
    async fn release(&self, spans: Vec<ResourceSpans>) {
        let mut part = Vec::new();
        let mut n = 0;
        for rs in spans {
            let k: usize = rs.scope_spans.iter().map(|s| s.spans.len()).sum();
            if n > 0 && n + k > RELEASE_SPANS {
                self.send_part(std::mem::take(&mut part)).await;
                n = 0;
            }
            n += k;
            part.push(rs);
        }
        if !part.is_empty() {
            self.send_part(part).await;
        }
    }

    async fn send_part(&self, resource_spans: Vec<ResourceSpans>) {
        let batch = Batch::from_request(Request::Traces(ExportTraceServiceRequest {
            resource_spans,
        }));
        self.send(batch).await;
    }

    async fn send(&self, batch: Batch) {
        let n = batch.item_count() as u64;
        self.processor.outgoing.add(n);
        // As in Go, the spans were accepted long ago: a refusal downstream is logged, not
        // returned to whoever sends the next batch.
        if let Err(e) = self.next.consume(batch).await {
            tracing::warn!(processor = %self.id, error = %e, spans = n, "Error sending spans to destination");
        }
    }

    /// At shutdown: the traces still waiting are decided on what arrived (or dropped with
    /// `drop_pending_traces_on_shutdown`, and logged).
    pub async fn flush(&self) {
        let release = {
            let mut st = self.lock();
            let mut pending: Vec<(TraceId, u64)> = st.batches.drain(..).flatten().collect();
            pending.append(&mut st.current);
            if self.drop_pending_on_shutdown {
                let spans: i64 = pending
                    .iter()
                    .filter_map(|(id, g)| st.traces.get(id).filter(|t| t.generation == *g))
                    .filter(|t| t.decision.is_none())
                    .map(|t| t.data.span_count)
                    .sum();
                if spans > 0 {
                    tracing::info!(processor = %self.id, spans, "dropping the spans of undecided traces at shutdown (drop_pending_traces_on_shutdown)");
                }
                Vec::new()
            } else {
                self.decide_all(&mut st, pending)
            }
        };
        self.release(release).await;
    }
}

/// Evaluates every policy (or up to the first sample vote with `sample_on_first_match`; a
/// drop vote ends it) and combines the votes as Go does: a drop beats everything, then an
/// inverted not-sample, then any sample, then an inverted sample without a not-sample;
/// otherwise not sampled. Errors are counted and the policy ignored.
/// Also returns the policy the sample is credited to (the first that voted sample, else the
/// first inverted sample), for the `recordpolicy` gate.
fn decide(
    policies: &mut [Policy],
    id: &TraceId,
    data: &mut TraceData,
    now: Instant,
    first_match: bool,
    metrics: &Metrics,
) -> (Final, Option<usize>) {
    let (mut dropped, mut inv_not, mut not) = (false, false, false);
    let (mut sampled, mut inv_sampled): (Option<usize>, Option<usize>) = (None, None);
    let started = std::time::Instant::now();
    for (i, p) in policies.iter_mut().enumerate() {
        let d = p.eval.evaluate(id, data, now);
        p.latency.record(started.elapsed().as_micros() as f64);
        let d = match d {
            Ok(d) => d,
            Err(e) => {
                metrics.evaluation_errors.add(1);
                tracing::debug!(error = %e, "Sampling policy error");
                continue;
            }
        };
        p.counts.add(d);
        if let Some(c) = &p.span_counts {
            let k = match d {
                Decision::Sampled | Decision::InvertSampled => 0,
                Decision::NotSampled | Decision::InvertNotSampled => 1,
                Decision::Dropped => 2,
            };
            c[k].add(data.span_count.max(0) as u64);
        }
        match d {
            Decision::Dropped => {
                dropped = true;
                break;
            }
            Decision::InvertNotSampled => inv_not = true,
            Decision::Sampled => {
                sampled.get_or_insert(i);
                if first_match {
                    break;
                }
            }
            Decision::InvertSampled => {
                inv_sampled.get_or_insert(i);
            }
            Decision::NotSampled => not = true,
        }
    }
    if dropped {
        (Final::Dropped, None)
    } else if inv_not {
        (Final::NotSampled, None)
    } else if sampled.is_some() {
        (Final::Sampled, sampled)
    } else if inv_sampled.is_some() && !not {
        (Final::Sampled, inv_sampled)
    } else {
        (Final::NotSampled, None)
    }
}

/// Go's `SetAttrOnScopeSpans`: a string attribute on every scope of the trace.
fn set_scope_attribute(spans: &mut [ResourceSpans], key: &str, value: &str) {
    use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
    for rs in spans {
        for ss in &mut rs.scope_spans {
            let scope = ss.scope.get_or_insert_with(InstrumentationScope::default);
            let v = Some(AnyValue {
                value: Some(Value::StringValue(value.to_string())),
            });
            match scope.attributes.iter_mut().find(|kv| kv.key == key) {
                Some(kv) => kv.value = v,
                None => scope.attributes.push(KeyValue {
                    key: key.to_string(),
                    value: v,
                    ..Default::default()
                }),
            }
        }
    }
}

/// Splits one resource's spans by trace id; each piece keeps the resource and the scopes
/// of its spans, in order.
fn split_by_trace(rs: ResourceSpans) -> Vec<(TraceId, ResourceSpans)> {
    let ResourceSpans {
        resource,
        scope_spans,
        schema_url,
    } = rs;
    let mut pieces: Vec<(TraceId, ResourceSpans, usize)> = Vec::new();
    let mut index: HashMap<TraceId, usize> = HashMap::new();
    for (j, ss) in scope_spans.into_iter().enumerate() {
        let ScopeSpans {
            scope,
            spans,
            schema_url: scope_schema,
        } = ss;
        for span in spans {
            let id = trace_id(&span.trace_id);
            let i = *index.entry(id).or_insert_with(|| {
                pieces.push((
                    id,
                    ResourceSpans {
                        resource: resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: schema_url.clone(),
                    },
                    usize::MAX,
                ));
                pieces.len() - 1
            });
            let (_, piece, last_scope) = &mut pieces[i];
            if *last_scope != j {
                piece.scope_spans.push(ScopeSpans {
                    scope: scope.clone(),
                    spans: Vec::new(),
                    schema_url: scope_schema.clone(),
                });
                *last_scope = j;
            }
            if let Some(last) = piece.scope_spans.last_mut() {
                last.spans.push(span);
            }
        }
    }
    pieces.into_iter().map(|(id, rs, _)| (id, rs)).collect()
}
