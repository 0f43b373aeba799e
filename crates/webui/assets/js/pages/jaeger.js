// Reading the Jaeger legacy trace JSON (/api/traces) the store serves.

export function tag(tags, key) {
  const t = (tags || []).find((x) => x.key === key);
  return t ? t.value : undefined;
}

export function isError(span) {
  const e = tag(span.tags, "error");
  return e === true || e === "true" || String(tag(span.tags, "otel.status_code")).toUpperCase() === "ERROR";
}

export function parentOf(span) {
  const r = (span.references || []).find((x) => x.refType === "CHILD_OF" && x.traceID === span.traceID);
  return r ? r.spanID : null;
}

/** Summary of one trace: root, start, duration (µs), services, span and error counts. */
export function summary(t) {
  const ids = new Set(t.spans.map((x) => x.spanID));
  const roots = t.spans.filter((x) => !parentOf(x) || !ids.has(parentOf(x)));
  const root = roots.sort((a, b) => a.startTime - b.startTime)[0] || t.spans[0];
  const start = Math.min(...t.spans.map((x) => x.startTime));
  const end = Math.max(...t.spans.map((x) => x.startTime + x.duration));
  const svc = (x) => (t.processes[x.processID] || {}).serviceName || "?";
  const services = new Map();
  for (const x of t.spans) services.set(svc(x), (services.get(svc(x)) || 0) + 1);
  return {
    id: t.traceID,
    root,
    rootService: svc(root),
    name: root ? root.operationName : "?",
    start,
    duration: end - start,
    spans: t.spans.length,
    errors: t.spans.filter(isError).length,
    services,
    svc,
  };
}

/** Span tree in display order: [{span, depth, children: n}] (children sorted by start). */
export function tree(t) {
  const byId = new Map(t.spans.map((x) => [x.spanID, x]));
  const kids = new Map();
  const roots = [];
  for (const x of t.spans) {
    const p = parentOf(x);
    if (p && byId.has(p) && p !== x.spanID) {
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(x);
    } else roots.push(x);
  }
  const order = (a, b) => a.startTime - b.startTime;
  const out = [];
  const seen = new Set();
  const walk = (x, depth) => {
    if (seen.has(x.spanID)) return;
    seen.add(x.spanID);
    const c = (kids.get(x.spanID) || []).sort(order);
    out.push({ span: x, depth, children: c.length });
    for (const k of c) walk(k, depth + 1);
  };
  for (const r of roots.sort(order)) walk(r, 0);
  return out;
}
