// Logs: a LogQL query, the volume over time stacked by level, the newest lines with severity
// colours, expandable records with every label and structured metadata, live tail (polls for
// new lines every 2 s), trace ids linked to their trace.

import { h, message, errorBox, timeRange, api, fmtNum } from "../lib.js";
import { setParams } from "../nav.js";
import { bars, legend } from "../charts.js";
import { flatten, lokiRange, logLine, nsOf, LEVELS, LEVEL_COLORS } from "./loglines.js";

const DEFAULT = '{service_name=~".+"}';

async function volume(query, range) {
  const step = range.step;
  const base = `count_over_time(${query} [${step}s])`;
  const call = (qq) => api("/loki/api/v1/query_range", { query: qq, start: nsOf(range.start), end: nsOf(range.end), step });
  let res;
  try {
    res = (await call(`sum by (detected_level) (${base})`)).data.result;
  } catch {
    res = (await call(`sum(${base})`)).data.result;
  }
  // Loki evaluates at start, start + step, …; the sample at t counts the step ending at t
  const startS = range.start / 1000;
  const n = Math.floor((range.end / 1000 - startS) / step) + 1;
  const buckets = Array.from({ length: n }, (_, i) => (startS + (i - 1) * step) * 1000);
  const stacks = new Map();
  for (const r of res) {
    const lvl = (r.metric.detected_level || "unknown").toLowerCase();
    const key = LEVELS.includes(lvl) ? lvl : "unknown";
    if (!stacks.has(key)) stacks.set(key, { name: key, color: LEVEL_COLORS[key], values: new Array(n).fill(0) });
    for (const [t, v] of r.values) {
      const i = Math.round((Number(t) - startS) / step);
      if (i >= 0 && i < n) stacks.get(key).values[i] += Number(v);
    }
  }
  const order = [...stacks.values()].sort((a, b) => LEVELS.indexOf(a.name) - LEVELS.indexOf(b.name));
  return { buckets, stacks: order, stepMs: step * 1000 };
}

export async function render(root, ctx) {
  const range = timeRange(ctx.params);
  const query = ctx.params.get("query") || DEFAULT;
  const limit = Number(ctx.params.get("limit")) || 200;
  const live = ctx.params.get("live") === "1";
  const form = h(
    "form",
    { class: "querybar", onsubmit: (e) => {
      e.preventDefault();
      setParams({ query: form.elements.query.value.trim() });
    } },
    h("label", { for: "logql", class: "sr-only" }, "LogQL query"),
    h("input", { id: "logql", name: "query", "data-query": "", value: query, spellcheck: "false", autocomplete: "off", placeholder: '{service_name="checkout"} |= "error"' }),
    h("button", { type: "submit", class: "primary" }, "Run"),
    h("label", { class: "check" }, h("input", { type: "checkbox", id: "live", checked: live, onchange: (e) => setParams({ live: e.target.checked ? "1" : "" }, false) }), " Live tail"),
  );
  root.append(h("h1", null, "Logs"), form);
  let lines;
  let vol = null;
  let indexLabels = null;
  try {
    const [data, v, names] = await Promise.all([
      lokiRange(query, range.start, range.end, limit),
      volume(query, range).catch(() => null),
      api("/loki/api/v1/labels", { start: nsOf(range.start), end: nsOf(range.end) })
        .then((b) => new Set(b.data || []))
        .catch(() => null),
    ]);
    indexLabels = names;
    if (data.resultType && data.resultType !== "streams") {
      root.append(message("This is a metric query; open it on the Metrics page (this page shows log lines).", "error"));
      return;
    }
    lines = flatten(data.result);
    vol = v;
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  if (vol && vol.stacks.length) {
    const total = vol.stacks.reduce((n, st) => n + st.values.reduce((a, b) => a + b, 0), 0);
    root.append(h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", null, `Volume: ${fmtNum(total)} lines`), legend(vol.stacks)), bars(vol.buckets, vol.stacks, { stepMs: vol.stepMs })));
  }
  const list = h("ul", { class: "loglist", id: "log-list" }, lines.map((r) => logLine(r, { indexLabels })));
  const status = h("p", { class: "muted", "aria-live": "polite" }, lines.length >= limit ? `Newest ${limit} lines.` : `${lines.length} lines.`);
  if (!lines.length && !live) {
    root.append(message("No log lines match this query in the selected time range."));
    return;
  }
  root.append(status, list);
  if (!live) return;
  // live tail: every 2 s ask for lines newer than the newest shown
  let newest = lines.length ? BigInt(lines[0].ts) : BigInt(nsOf(Date.now() - 2000));
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !ctx.alive()) return;
    busy = true;
    try {
      const b = await api("/loki/api/v1/query_range", { query, start: (newest + 1n).toString(), end: nsOf(Date.now() + 1000), limit: 500, direction: "forward" });
      const fresh = flatten(b.data.result).filter((r) => BigInt(r.ts) > newest);
      if (fresh.length) {
        newest = BigInt(fresh[0].ts);
        list.prepend(...fresh.map((r) => logLine(r, { indexLabels })));
        while (list.children.length > 2000) list.lastChild.remove();
        status.textContent = `Live: ${fresh.length} new line${fresh.length > 1 ? "s" : ""} at ${new Date().toLocaleTimeString()}.`;
      }
    } catch (e) {
      status.textContent = `Live tail: ${e.message}`;
    } finally {
      busy = false;
    }
  }, 2000);
  return () => clearInterval(timer);
}
