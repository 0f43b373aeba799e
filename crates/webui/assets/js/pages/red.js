// RED queries over the store's derived span metrics (traces_span_metrics_*): rate, error
// rate and latency quantiles per service or per operation. A service's SERVER/CONSUMER spans
// count when it has them, else all its spans (a client-only root service like the shopper).

import { prom, promRange, q } from "../lib.js";

export const CALLS = "traces_span_metrics_calls_total";
export const BUCKET = "traces_span_metrics_duration_seconds_bucket";
const ENTRY = 'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"';

/**
 * `sum by (by) (fn(metric{ENTRY,sel,extra}[w]))` for the groups that have entry-point spans,
 * `or` the same over all their spans for the groups that have none (`unless on` the groups
 * with entry spans, so a server's error rate never counts its client spans' errors).
 */
function entryOr(fn, metric, by, sel, extra, w) {
  const groups = by.filter((l) => l !== "le").join(", ");
  const m = (parts) => `${metric}{${parts.join(",")}}`;
  const hasEntry = `sum by (${groups}) (rate(${CALLS}{${[ENTRY, ...sel].join(",")}}[${w}]))`;
  return `sum by (${by.join(", ")}) (${fn}(${m([ENTRY, ...sel, ...extra])}[${w}])) or (sum by (${by.join(", ")}) (${fn}(${m([...sel, ...extra])}[${w}])) unless on (${groups}) ${hasEntry})`;
}

/** The PromQL of each RED column for groups `by` (e.g. "service_name"). */
export function redQueries(by, sel, w, { entryOnly = true } = {}) {
  const labels = by.split(",").map((x) => x.trim());
  const f = (fn, metric, extraBy, extraSel = []) => {
    const b = [...labels, ...(extraBy ? [extraBy] : [])];
    return entryOnly ? entryOr(fn, metric, b, sel, extraSel, w) : `sum by (${b.join(", ")}) (${fn}(${metric}{${[...sel, ...extraSel].join(",")}}[${w}]))`;
  };
  const quant = (p) => `histogram_quantile(${p}, ${f("rate", BUCKET, "le")})`;
  return {
    rate: f("rate", CALLS),
    errors: f("rate", CALLS, "", ['status_code="STATUS_CODE_ERROR"']),
    p50: quant(0.5),
    p95: quant(0.95),
    p99: quant(0.99),
  };
}

export function keyOf(metric, labels) {
  return labels.map((l) => metric[l] || "").join("\u0000");
}

/** Runs the RED instant queries; → Map(key → {labels, rate, errors, errorRate, p50, p95, p99}). */
export async function red(by, sel, range, opts) {
  const qs = redQueries(by, sel, range.window, opts);
  const labels = by.split(",").map((x) => x.trim());
  const time = range.end / 1000;
  const names = Object.keys(qs);
  const results = await Promise.all(names.map((n) => prom(qs[n], time)));
  const rows = new Map();
  names.forEach((n, i) => {
    for (const r of results[i]) {
      const k = keyOf(r.metric, labels);
      if (!rows.has(k)) rows.set(k, { labels: Object.fromEntries(labels.map((l) => [l, r.metric[l] || ""])) });
      rows.get(k)[n] = Number(r.value[1]);
    }
  });
  for (const row of rows.values()) {
    if (row.rate === undefined) row.rate = 0;
    row.errors = row.errors || 0;
    row.errorRate = row.rate > 0 ? row.errors / row.rate : 0;
  }
  return { rows, queries: qs };
}

/** Rate over time per group, for sparklines: Map(key → [[tMs, v]...]). */
export async function rateSeries(by, sel, range, opts = {}) {
  const w = `${Math.max(60, range.step * 4)}s`;
  const qs = redQueries(by, sel, w, opts);
  const labels = by.split(",").map((x) => x.trim());
  const m = await promRange(qs[opts.what || "rate"], range);
  return new Map(m.map((r) => [keyOf(r.metric, labels), r.values.map(([t, v]) => [t * 1000, Number(v)])]));
}

export function serviceSel(service) {
  return [`service_name=${q(service)}`];
}
