// Sends spans made with the official OpenTelemetry JS SDK to ferrotel's `jaeger` receiver on
// three paths, each with its own run id (attribute `e2e.run` = `<run>-<path>`):
//   udp:  @opentelemetry/exporter-jaeger's UDP sender (jaeger-client, Thrift binary, agent port)
//   http: @opentelemetry/exporter-jaeger's HTTP sender (POST /api/traces, Thrift binary)
//   grpc: the same exporter's Thrift spans (its own `spanToThrift`) converted to Jaeger's
//         api_v2 protobuf as Jaeger's collector converts Thrift (the parent becomes a CHILD_OF
//         reference, microseconds become timestamps), sent with @grpc/grpc-js to PostSpans.
//
// Usage: node jaeger_sender.js --run-id ID --udp-port N --http-url URL --grpc HOST:PORT
// Prints, per path, the SDK's spans as JSON (ids in hex, times in ns); exits 1 on a failed send.
'use strict';

const api = require('@opentelemetry/api');
const { ExportResultCode, hrTimeToNanoseconds } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const { JaegerExporter } = require('@opentelemetry/exporter-jaeger');
const { spanToThrift } = require('@opentelemetry/exporter-jaeger/build/src/transform');
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

function parseArgs(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, '').replace(/-/g, '_')] = argv[i + 1];
  for (const k of ['run_id', 'udp_port', 'http_url', 'grpc']) if (!out[k]) throw new Error(`missing --${k}`);
  return out;
}

// Jaeger's model.proto / collector.proto (package jaeger.api_v2), field numbers as published.
const root = protobuf.Root.fromJSON({
  nested: {
    google: { nested: { protobuf: { nested: {
      Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
    } } } },
    jaeger: { nested: { api_v2: { nested: {
      ValueType: { values: { STRING: 0, BOOL: 1, INT64: 2, FLOAT64: 3, BINARY: 4 } },
      SpanRefType: { values: { CHILD_OF: 0, FOLLOWS_FROM: 1 } },
      KeyValue: { fields: {
        key: { type: 'string', id: 1 }, vType: { type: 'ValueType', id: 2 }, vStr: { type: 'string', id: 3 },
        vBool: { type: 'bool', id: 4 }, vInt64: { type: 'int64', id: 5 }, vFloat64: { type: 'double', id: 6 },
        vBinary: { type: 'bytes', id: 7 },
      } },
      Log: { fields: { timestamp: { type: 'google.protobuf.Timestamp', id: 1 }, fields: { rule: 'repeated', type: 'KeyValue', id: 2 } } },
      SpanRef: { fields: { traceId: { type: 'bytes', id: 1 }, spanId: { type: 'bytes', id: 2 }, refType: { type: 'SpanRefType', id: 3 } } },
      Process: { fields: { serviceName: { type: 'string', id: 1 }, tags: { rule: 'repeated', type: 'KeyValue', id: 2 } } },
      Span: { fields: {
        traceId: { type: 'bytes', id: 1 }, spanId: { type: 'bytes', id: 2 }, operationName: { type: 'string', id: 3 },
        references: { rule: 'repeated', type: 'SpanRef', id: 4 }, flags: { type: 'uint32', id: 5 },
        startTime: { type: 'google.protobuf.Timestamp', id: 6 }, duration: { type: 'google.protobuf.Duration', id: 7 },
        tags: { rule: 'repeated', type: 'KeyValue', id: 8 }, logs: { rule: 'repeated', type: 'Log', id: 9 },
        process: { type: 'Process', id: 10 }, processId: { type: 'string', id: 11 }, warnings: { rule: 'repeated', type: 'string', id: 12 },
      } },
      Batch: { fields: { spans: { rule: 'repeated', type: 'Span', id: 1 }, process: { type: 'Process', id: 2 } } },
      PostSpansRequest: { fields: { batch: { type: 'Batch', id: 1 } } },
      PostSpansResponse: { fields: {} },
    } } } },
  },
});
const PostSpansRequest = root.lookupType('jaeger.api_v2.PostSpansRequest');
const PostSpansResponse = root.lookupType('jaeger.api_v2.PostSpansResponse');

// Thrift TagType (by name, as thriftrw gives it, or by number) → api_v2 ValueType.
const TAG_TYPES = { STRING: 0, BOOL: 1, LONG: 2, DOUBLE: 3, BINARY: 4, 0: 0, 1: 3, 2: 1, 3: 2, 4: 4 };
const TAG_NAMES = { 0: 'STRING', 1: 'DOUBLE', 2: 'BOOL', 3: 'LONG', 4: 'BINARY' };

function protoTag(tag) {
  const t = { ...tag, vType: TAG_NAMES[tag.vType] || tag.vType };
  const kv = { key: t.key, vType: TAG_TYPES[t.vType] };
  if (t.vType === 'STRING') kv.vStr = t.vStr;
  if (t.vType === 'BOOL') kv.vBool = t.vBool;
  if (t.vType === 'DOUBLE') kv.vFloat64 = t.vDouble;
  if (t.vType === 'LONG') kv.vInt64 = protobuf.util.Long.fromString(BigInt.asIntN(64, BigInt('0x' + t.vLong.toString('hex'))).toString());
  if (t.vType === 'BINARY') kv.vBinary = t.vBinary;
  return kv;
}

function micros(buf) {
  return BigInt('0x' + buf.toString('hex'));
}

function timestamp(us) {
  return { seconds: protobuf.util.Long.fromString((us / 1000000n).toString()), nanos: Number((us % 1000000n) * 1000n) };
}

// Jaeger's Thrift → model conversion (model/converter/thrift/jaeger): the parent span id
// becomes a CHILD_OF reference in front of the span's own references.
function thriftToProto(ts) {
  const traceId = Buffer.concat([ts.traceIdHigh, ts.traceIdLow]);
  const refs = ts.references.map((r) => ({
    traceId: Buffer.concat([r.traceIdHigh, r.traceIdLow]),
    spanId: r.spanId,
    refType: r.refType === 'CHILD_OF' ? 0 : 1,
  }));
  if (ts.parentSpanId.length === 8 && micros(ts.parentSpanId) !== 0n
      && !refs.some((r) => r.refType === 0 && r.spanId.equals(ts.parentSpanId))) {
    refs.unshift({ traceId, spanId: ts.parentSpanId, refType: 0 });
  }
  const start = micros(ts.startTime);
  const dur = micros(ts.duration);
  return {
    traceId,
    spanId: ts.spanId,
    operationName: ts.operationName,
    references: refs,
    flags: ts.flags,
    startTime: timestamp(start),
    duration: { seconds: protobuf.util.Long.fromString((dur / 1000000n).toString()), nanos: Number((dur % 1000000n) * 1000n) },
    tags: ts.tags.map(protoTag),
    logs: ts.logs.map((l) => ({ timestamp: timestamp(micros(l.timestamp)), fields: l.fields.map(protoTag) })),
  };
}

function describe(span) {
  const ns = (t) => hrTimeToNanoseconds(t).toString();
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext ? span.parentSpanContext.spanId : '',
    name: span.name,
    kind: span.kind,
    status: { code: span.status.code, message: span.status.message || '' },
    attributes: span.attributes,
    resource: span.resource.attributes,
    scope: { name: span.instrumentationScope.name, version: span.instrumentationScope.version || '' },
    events: span.events.map((e) => ({ name: e.name, timeNs: ns(e.time), attributes: e.attributes || {} })),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    startNs: ns(span.startTime),
    endNs: ns(span.endTime),
  };
}

function makeSpans(runId) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'js-shop', 'deployment.environment': 'e2e' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('e2e.jaeger.js', '4.5.6');
  const common = { 'e2e.run': runId };
  const root = tracer.startSpan('checkout', { kind: api.SpanKind.SERVER, attributes: { ...common, 'http.method': 'POST', 'http.status_code': 201, cart: 'c1' } });
  const ctx = api.trace.setSpan(api.context.active(), root);
  const child = tracer.startSpan('charge card', { kind: api.SpanKind.CLIENT, attributes: { ...common, amount: 12.5, retried: true, tags: ['a', 'b'] }, links: [{ context: root.spanContext() }] }, ctx);
  child.addEvent('declined', { code: 'insufficient', attempt: 2 });
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' });
  child.end();
  const work = tracer.startSpan('render', { kind: api.SpanKind.INTERNAL, attributes: common }, ctx);
  work.setStatus({ code: api.SpanStatusCode.OK });
  work.end();
  const pub = tracer.startSpan('publish order', { kind: api.SpanKind.PRODUCER, attributes: common }, ctx);
  pub.end();
  root.end();
  return memory.getFinishedSpans();
}

function exportWith(exporter, spans) {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (res) => {
      if (res.code !== ExportResultCode.SUCCESS) return reject(new Error(`export failed: ${res.error}`));
      exporter.shutdown().then(resolve, reject);
    });
  });
}

function postSpans(target, request) {
  const Client = grpc.makeGenericClientConstructor({
    PostSpans: {
      path: '/jaeger.api_v2.CollectorService/PostSpans',
      requestStream: false,
      responseStream: false,
      requestSerialize: (m) => Buffer.from(PostSpansRequest.encode(PostSpansRequest.fromObject(m)).finish()),
      responseDeserialize: (b) => PostSpansResponse.decode(b),
    },
  }, 'CollectorService');
  const client = new Client(target, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.PostSpans(request, { deadline: Date.now() + 10000 }, (err, resp) => {
      client.close();
      if (err) reject(err); else resolve(resp);
    });
  });
}

async function main() {
  const args = parseArgs(process.argv);
  const out = {};
  const udp = makeSpans(`${args.run_id}-udp`);
  await exportWith(new JaegerExporter({ host: '127.0.0.1', port: Number(args.udp_port) }), udp);
  out.udp = udp.map(describe);
  const http = makeSpans(`${args.run_id}-http`);
  await exportWith(new JaegerExporter({ endpoint: args.http_url }), http);
  out.http = http.map(describe);
  const viaGrpc = makeSpans(`${args.run_id}-grpc`);
  const thriftSpans = viaGrpc.map(spanToThrift);
  await postSpans(args.grpc, {
    batch: { process: { serviceName: 'js-shop', tags: [] }, spans: thriftSpans.map(thriftToProto) },
  });
  out.grpc = viaGrpc.map(describe);
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
