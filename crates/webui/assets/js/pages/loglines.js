// Rendering Loki log lines (shared by the Logs page and the trace view).

import { h, fmtTime, traceIdOf, api } from "../lib.js";
import { link } from "../nav.js";

export const LEVELS = ["fatal", "critical", "error", "warn", "info", "debug", "trace", "unknown"];
export const LEVEL_COLORS = { fatal: "#7b1fa2", critical: "#7b1fa2", error: "#d32f2f", warn: "#ef8c00", info: "#2e7d32", debug: "#1565c0", trace: "#6a7886", unknown: "#9aa5b1" };

export function levelOf(labels) {
  const l = String(labels.detected_level || labels.level || labels.severity_text || "").toLowerCase();
  if (l.startsWith("warn")) return "warn";
  if (l.startsWith("err")) return "error";
  if (l.startsWith("crit")) return "critical";
  if (l.startsWith("fatal")) return "fatal";
  if (l.startsWith("debug")) return "debug";
  if (l.startsWith("trace")) return "trace";
  if (l.startsWith("info")) return "info";
  return "unknown";
}

/** Loki streams → [{ts (ns string), ms, line, labels, level, traceId}] newest first. */
export function flatten(result) {
  const out = [];
  for (const st of result || []) {
    for (const [ts, line, meta] of st.values || []) {
      const labels = { ...st.stream, ...(meta && meta.structuredMetadata ? meta.structuredMetadata : {}) };
      out.push({ ts, ms: Number(BigInt(ts) / 1000000n), line, labels, level: levelOf(labels), traceId: traceIdOf(labels, line) });
    }
  }
  out.sort((a, b) => (BigInt(b.ts) > BigInt(a.ts) ? 1 : BigInt(b.ts) < BigInt(a.ts) ? -1 : 0));
  return out;
}

export function nsOf(ms) {
  return (BigInt(Math.round(ms)) * 1000000n).toString();
}

export async function lokiRange(query, startMs, endMs, limit = 200, direction = "backward") {
  const b = await api("/loki/api/v1/query_range", { query, start: nsOf(startMs), end: nsOf(endMs), limit, direction });
  return b.data;
}

/** One expandable log line (button row + hidden details with every label). */
export function logLine(r, { onSpan, indexLabels } = {}) {
  // with the store's index label names known, the stream labels and the structured
  // metadata (trace_id, span_id, severity, attributes) are listed apart
  const keys = Object.keys(r.labels).sort();
  const pairs = (ks) => ks.map((k) => [h("dt", null, k), h("dd", null, r.labels[k])]);
  const idx = indexLabels ? keys.filter((k) => indexLabels.has(k)) : keys;
  const meta = indexLabels ? keys.filter((k) => !indexLabels.has(k)) : [];
  const details = h(
    "dl",
    { class: "labels", hidden: true },
    indexLabels ? h("dt", { class: "group" }, "Labels") : null,
    pairs(idx),
    meta.length ? h("dt", { class: "group" }, "Structured metadata") : null,
    pairs(meta),
  );
  const toggle = h(
    "button",
    { type: "button", class: "expand", "aria-expanded": "false", "aria-label": "show all labels", onclick: () => {
      details.hidden = !details.hidden;
      toggle.setAttribute("aria-expanded", String(!details.hidden));
      toggle.textContent = details.hidden ? "▸" : "▾";
    } },
    "▸",
  );
  const spanId = r.labels.span_id;
  return h(
    "li",
    { class: ["log", `lvl-${r.level}`], "data-level": r.level },
    h(
      "div",
      { class: "logrow" },
      toggle,
      h("time", { datetime: new Date(r.ms).toISOString() }, fmtTime(r.ms, true)),
      h("span", { class: `lvl lvl-${r.level}` }, r.level === "unknown" ? "—" : r.level),
      h("span", { class: "svc" }, r.labels.service_name || ""),
      h("span", { class: "body" }, r.line),
      r.traceId && !onSpan ? link(`trace/${r.traceId}`, spanId ? { span: spanId } : {}, h("span", { class: "trace-link", "data-trace": r.traceId }, `trace ${r.traceId.slice(0, 8)}`)) : null,
      onSpan && spanId ? h("button", { type: "button", class: "linkish", onclick: () => onSpan(spanId) }, `span ${spanId.slice(0, 8)}`) : null,
    ),
    details,
  );
}
