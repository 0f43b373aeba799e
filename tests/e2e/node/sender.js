// Sends traces, logs and metrics with the official OpenTelemetry JS SDK (@opentelemetry/sdk-node),
// TWICE from the same providers: through ferrotel (--via, with the OTLP HTTP/JSON or the OTLP gRPC
// exporters) and straight to the test's reference sink (--direct, always the OTLP gRPC exporters,
// i.e. protobuf). The test compares what came out of ferrotel with what reached the reference sink.
//
// Usage: node sender.js --protocol http-json|grpc --via URL --direct URL --run-id ID [--compression gzip|none]
// Prints a JSON summary; exits 1 if any export did not succeed.
'use strict';

const api = require('@opentelemetry/api');
const { logs, SeverityNumber } = require('@opentelemetry/api-logs');
const { TraceState, ExportResultCode } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { PeriodicExportingMetricReader, AggregationType } = require('@opentelemetry/sdk-metrics');

function parseArgs(argv) {
  const out = { compression: 'none' };
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, '').replace(/-/g, '_')] = argv[i + 1];
  for (const k of ['protocol', 'via', 'direct', 'run_id']) if (!out[k]) throw new Error(`missing --${k}`);
  return out;
}

const failures = [];

function exportersFor(protocol, url, compression) {
  const temporality = (t) => ({ temporalityPreference: t });
  if (protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
    const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc');
    const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc');
    const c = compression === 'gzip' ? { compression: 'gzip' } : {};
    return {
      spans: new OTLPTraceExporter({ url, ...c }),
      logs: new OTLPLogExporter({ url, ...c }),
      metrics: (t) => new OTLPMetricExporter({ url, ...c, ...temporality(t) }),
    };
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
  const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-http');
  const c = compression === 'gzip' ? { compression: 'gzip' } : {};
  return {
    spans: new OTLPTraceExporter({ url: `${url}/v1/traces`, ...c }),
    logs: new OTLPLogExporter({ url: `${url}/v1/logs`, ...c }),
    metrics: (t) => new OTLPMetricExporter({ url: `${url}/v1/metrics`, ...c, ...temporality(t) }),
  };
}

// Wraps an exporter so that a failed export is noticed.
function checked(name, exporter) {
  return {
    export(items, cb) {
      exporter.export(items, (res) => {
        if (res.code !== ExportResultCode.SUCCESS) failures.push(`${name}: ${res.error ? res.error.message : res.code}`);
        cb(res);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => (exporter.forceFlush ? exporter.forceFlush() : Promise.resolve()),
  };
}

// One reader's collection handed to two OTLP exporters: identical points on both paths.
function teeMetrics(pairs) {
  return {
    export(metrics, cb) {
      let left = pairs.length;
      let result = { code: ExportResultCode.SUCCESS };
      for (const [name, e] of pairs) {
        e.export(metrics, (res) => {
          if (res.code !== ExportResultCode.SUCCESS) {
            failures.push(`${name}: metrics ${res.error ? res.error.message : res.code}`);
            result = res;
          }
          if (--left === 0) cb(result);
        });
      }
    },
    selectAggregationTemporality: (t) => pairs[0][1].selectAggregationTemporality(t),
    forceFlush: async () => { for (const [, e] of pairs) await e.forceFlush(); },
    shutdown: async () => { for (const [, e] of pairs) await e.shutdown(); },
  };
}

async function main() {
  const args = parseArgs(process.argv);
  const via = exportersFor(args.protocol, args.via, args.compression);
  const direct = exportersFor('grpc', args.direct, 'none');
  const { AggregationTemporalityPreference } = require('@opentelemetry/exporter-metrics-otlp-http');
  const CUM = AggregationTemporalityPreference.CUMULATIVE;
  const DELTA = AggregationTemporalityPreference.DELTA;
  const never = 1_000_000_000; // ms: collections happen on forceFlush/shutdown only

  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource: resourceFromAttributes({
      'service.name': 'e2e-node',
      'service.version': '4.5.6',
      'e2e.run': args.run_id,
      'e2e.int': 42,
      'e2e.double': 3.25,
      'e2e.bool': true,
      'e2e.strings': ['a', 'b', 'ü'],
    }),
    spanProcessors: [
      new BatchSpanProcessor(checked('via', via.spans), { scheduledDelayMillis: 200 }),
      new BatchSpanProcessor(checked('direct', direct.spans), { scheduledDelayMillis: 200 }),
    ],
    logRecordProcessors: [
      new BatchLogRecordProcessor({ exporter: checked('via', via.logs), scheduledDelayMillis: 200 }),
      new BatchLogRecordProcessor({ exporter: checked('direct', direct.logs), scheduledDelayMillis: 200 }),
    ],
    metricReaders: [
      new PeriodicExportingMetricReader({ exporter: teeMetrics([['via', via.metrics(CUM)], ['direct', direct.metrics(CUM)]]), exportIntervalMillis: never, exportTimeoutMillis: 10000 }),
      new PeriodicExportingMetricReader({ exporter: teeMetrics([['via', via.metrics(DELTA)], ['direct', direct.metrics(DELTA)]]), exportIntervalMillis: never, exportTimeoutMillis: 10000 }),
    ],
    views: [
      { instrumentName: 'e2e.latency', aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0, 5, 10, 25, 100], recordMinMax: true } } },
      { instrumentName: 'e2e.payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 40 } } },
    ],
    instrumentations: [],
  });
  sdk.start();

  const tracer = api.trace.getTracer('e2e.tracer', '0.1.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.21.0' });
  const meter = api.metrics.getMeter('e2e.meter', '0.2.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' });
  const logger = logs.getLogger('e2e.app', '0.3.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.25.0' });

  const requests = meter.createCounter('e2e.requests', { unit: '{request}', description: 'requests served' });
  const bytes = meter.createCounter('e2e.bytes', { unit: 'By', description: 'bytes, as a float counter' });
  const depth = meter.createUpDownCounter('e2e.queue.depth', { unit: '{item}', description: 'queue depth' });
  const latency = meter.createHistogram('e2e.latency', { unit: 'ms', description: 'latency' });
  const size = meter.createHistogram('e2e.payload.size', { unit: 'By', description: 'exponential histogram' });
  const temp = meter.createObservableGauge('e2e.temperature', { unit: 'Cel' });
  temp.addCallback((r) => { r.observe(21.5, { room: 'a' }); r.observe(-3, { room: 'b' }); });

  const remote = {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    traceFlags: api.TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor=v1,ot=th:0'),
  };
  const parentCtx = api.trace.setSpanContext(api.context.active(), remote);

  const log = (severityNumber, severityText, body, attributes) => logger.emit({ severityNumber, severityText, body, attributes });

  tracer.startActiveSpan('e2e.root', { kind: api.SpanKind.SERVER, attributes: { 'http.route': '/checkout', 'http.status_code': 200, ratio: 0.5, ok: true, tags: ['x', 'y'], nums: [1.5, 2.5], flags: [true, false] } }, parentCtx, (root) => {
    root.addEvent('started', { step: 1 });
    log(SeverityNumber.DEBUG, 'DEBUG', 'debug line 1');
    log(SeverityNumber.INFO, 'INFO', 'checkout started for alice', { 'user.id': 7, 'cart.total': 19.99 });
    tracer.startActiveSpan('e2e.db', { kind: api.SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, (db) => {
      requests.add(1, { route: '/checkout', ok: true });
      latency.record(12.5, { route: '/checkout' });
      db.addEvent('query', { 'db.statement': 'SELECT 1' }, [1700000000, 123456789]);
      log(SeverityNumber.WARN, 'WARN', 'slow query: 12.5 ms');
      db.end();
    });
    let pubCtx;
    tracer.startActiveSpan('e2e.publish', { kind: api.SpanKind.PRODUCER }, (pub) => {
      pubCtx = pub.spanContext();
      bytes.add(1.5, { dir: 'out' });
      size.record(1024, { topic: 'orders' });
      pub.end();
    });
    tracer.startActiveSpan('e2e.consume', { kind: api.SpanKind.CONSUMER, links: [{ context: pubCtx, attributes: { 'link.kind': 'follows', n: 1 } }, { context: remote, attributes: { remote: true } }] }, (c) => {
      depth.add(5, { queue: 'q1' });
      logger.emit({
        eventName: 'e2e.order.placed',
        severityNumber: SeverityNumber.INFO3,
        severityText: 'INFO3',
        body: { msg: 'structured', nested: { k: [1, 'two', 3.5, false] } },
        attributes: { 'empty.list': [], i: -1, d: 0.25 },
      });
      c.end();
    });
    tracer.startActiveSpan('e2e.fail', (fail) => {
      try {
        throw new TypeError('boom: card declined');
      } catch (e) {
        fail.recordException(e);
        fail.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' });
        log(SeverityNumber.ERROR, 'ERROR', 'payment failed', { 'exception.type': e.name, 'exception.message': e.message });
      }
      fail.end();
    });
    root.setStatus({ code: api.SpanStatusCode.OK });
    for (const v of [0, 3, 5, 7, 10, 99, 150]) latency.record(v, { route: '/checkout' });
    log(SeverityNumber.FATAL, 'FATAL', 'critical: disk full');
    root.end();
  });

  // Explicit nanosecond timestamps must arrive to the nanosecond.
  const odd = tracer.startSpan('e2e.explicit-times', { startTime: [1700000000, 1] });
  odd.addEvent('mid', [1700000000, 500000003]);
  odd.end([1700000001, 999999999]);

  const mp = api.metrics.getMeterProvider();
  await mp.forceFlush();
  for (const v of [1, 2, 3]) {
    requests.add(v, { route: '/other' });
    depth.add(-1, { queue: 'q1' });
    latency.record(v * 30, { route: '/other' });
    size.record(v * 7, { topic: 'orders' });
  }
  log(SeverityNumber.INFO, 'INFO', 'no span here');
  await mp.forceFlush();
  await sdk.shutdown();
  process.stdout.write(JSON.stringify({ failures }) + '\n');
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exitCode = 2;
});
