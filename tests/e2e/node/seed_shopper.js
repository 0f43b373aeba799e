// The seeds' shopper as a Node app: one visit traced with the official OpenTelemetry JS SDK
// (a CLIENT span "GET /products" with an INTERNAL child) and two log records emitted while
// those spans are active (the SDK puts their trace and span ids on the records), exported
// with the OTLP HTTP/JSON exporters. Run by tests/e2e/test_embedded_store_apis.py.
//
// Usage: node seed_shopper.js --url http://127.0.0.1:PORT --service NAME
// Prints {"traceId","spans":[{spanId,parentSpanId,name,kind,startNs,endNs}],"logs":[{body,traceId,spanId}],
// "failures":[]} on stdout; exits 1 if an export did not succeed.
'use strict';

const api = require('@opentelemetry/api');
const { logs, SeverityNumber } = require('@opentelemetry/api-logs');
const { ExportResultCode, hrTimeToNanoseconds } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const { SimpleLogRecordProcessor, InMemoryLogRecordExporter } = require('@opentelemetry/sdk-logs');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');

function parseArgs(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['url', 'service']) if (!out[k]) throw new Error(`missing --${k}`);
  return out;
}

const failures = [];
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

async function main() {
  const args = parseArgs(process.argv);
  const memSpans = new InMemorySpanExporter();
  const memLogs = new InMemoryLogRecordExporter();
  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource: resourceFromAttributes({ 'service.name': args.service, 'service.version': '2.0.0', 'deployment.environment': 'e2e' }),
    spanProcessors: [
      new SimpleSpanProcessor(checked('traces', new OTLPTraceExporter({ url: `${args.url}/v1/traces` }))),
      new SimpleSpanProcessor(memSpans),
    ],
    logRecordProcessors: [
      new SimpleLogRecordProcessor({ exporter: checked('logs', new OTLPLogExporter({ url: `${args.url}/v1/logs` })) }),
      new SimpleLogRecordProcessor({ exporter: memLogs }),
    ],
    instrumentations: [],
  });
  sdk.start();

  const tracer = api.trace.getTracer('shopper-node.app', '2.0.0');
  const logger = logs.getLogger('shopper-node.app', '2.0.0');
  // explicit times (ms since epoch, fractional) a few seconds in the past: exact durations
  const t0 = Date.now() - 5000;
  tracer.startActiveSpan('GET /products', { kind: api.SpanKind.CLIENT, startTime: t0, attributes: { 'http.request.method': 'GET', 'url.full': 'http://grocery-store/products' } }, (visit) => {
    logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'node shopper visit: looking for cheese', timestamp: t0 + 1, attributes: { item: 'cheese' } });
    tracer.startActiveSpan('render basket', { kind: api.SpanKind.INTERNAL, startTime: t0 + 10 }, (render) => {
      logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'node shopper basket: cheese unavailable', timestamp: t0 + 20 });
      render.end(t0 + 40);
    });
    visit.end(t0 + 100);
  });

  // the in-memory exporters forget everything on shutdown: read them first
  const spans = memSpans.getFinishedSpans().map((s) => ({
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext ? s.parentSpanContext.spanId : (s.parentSpanId || null),
    name: s.name,
    kind: s.kind,
    startNs: hrTimeToNanoseconds(s.startTime).toString(),
    endNs: hrTimeToNanoseconds(s.endTime).toString(),
  }));
  const records = memLogs.getFinishedLogRecords().map((r) => ({
    body: r.body,
    traceId: r.spanContext ? r.spanContext.traceId : null,
    spanId: r.spanContext ? r.spanContext.spanId : null,
    timeNs: hrTimeToNanoseconds(r.hrTime).toString(),
  }));
  const traceId = memSpans.getFinishedSpans()[0].spanContext().traceId;
  await sdk.shutdown();
  process.stdout.write(JSON.stringify({ traceId, spans, logs: records, failures }) + '\n');
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exitCode = 2;
});
