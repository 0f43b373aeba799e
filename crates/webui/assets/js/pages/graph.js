// Service graph: nodes and edges with request and error counts over the range, from the
// derived traces_service_graph_* counters (or /api/dependencies when there are none yet),
// laid out left to right by call depth.

import { h, s, message, errorBox, timeRange, fmtNum, prom, api } from "../lib.js";
import { navigate, href } from "../nav.js";

async function edges(range) {
  const w = range.window;
  const t = range.end / 1000;
  const [req, failed] = await Promise.all([
    prom(`sum by (client, server) (increase(traces_service_graph_request_total[${w}]))`, t),
    prom(`sum by (client, server) (increase(traces_service_graph_request_failed_total[${w}]))`, t),
  ]);
  const map = new Map();
  for (const r of req) map.set(`${r.metric.client}\u0000${r.metric.server}`, { from: r.metric.client, to: r.metric.server, calls: Math.round(Number(r.value[1])), errors: 0 });
  for (const r of failed) {
    const e = map.get(`${r.metric.client}\u0000${r.metric.server}`);
    if (e) e.errors = Math.round(Number(r.value[1]));
  }
  if (map.size) return { list: [...map.values()], source: "traces_service_graph_request_total / _failed_total" };
  const deps = await api("/api/dependencies", { endTs: Math.round(range.end), lookback: Math.round(range.end - range.start) });
  return { list: (deps.data || []).map((d) => ({ from: d.parent, to: d.child, calls: d.callCount, errors: NaN })), source: "/api/dependencies" };
}

/** Columns by call depth (longest path from a root; cycles cut). */
export function layout(list) {
  const nodes = new Set();
  const out = new Map();
  for (const e of list) {
    nodes.add(e.from);
    nodes.add(e.to);
    if (!out.has(e.from)) out.set(e.from, []);
    if (e.from !== e.to) out.get(e.from).push(e.to);
  }
  const depth = new Map([...nodes].map((n) => [n, 0]));
  for (let i = 0; i < nodes.size; i++) {
    let changed = false;
    for (const e of list) {
      if (e.from === e.to) continue;
      const d = depth.get(e.from) + 1;
      if (d > depth.get(e.to) && d < nodes.size) {
        depth.set(e.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const cols = [];
  for (const n of [...nodes].sort()) {
    const d = depth.get(n);
    (cols[d] = cols[d] || []).push(n);
  }
  return cols.map((c) => c || []);
}

export async function render(root, ctx) {
  const range = timeRange(ctx.params);
  const focus = ctx.params.get("service") || "";
  root.append(h("h1", null, "Service graph"));
  let g;
  try {
    g = await edges(range);
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  if (!g.list.length) {
    root.append(message("No calls between services in this time range. Edges appear when a CLIENT (or PRODUCER) span has a SERVER (CONSUMER) child in another service."));
    return;
  }
  const cols = layout(g.list);
  const NW = 170;
  const NH = 44;
  const CW = 300;
  const RH = 90;
  const rows = Math.max(...cols.map((c) => c.length));
  const W = cols.length * CW;
  const H = (rows - 1) * RH + NH + 24;
  const pos = new Map();
  cols.forEach((c, i) => c.forEach((n, j) => pos.set(n, { x: 20 + i * CW, y: 10 + j * RH + ((rows - c.length) * RH) / 2 })));
  const svg = s("svg", { class: "chart graph", viewBox: `0 0 ${W} ${H}`, width: Math.min(W, 1200), role: "img", "aria-label": "service graph" });
  svg.append(s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, s("path", { d: "M0,0L10,5L0,10Z", class: "arrowhead" }))));
  for (const e of g.list) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    const x1 = a.x + NW;
    const y1 = a.y + NH / 2;
    const x2 = b.x;
    const y2 = b.y + NH / 2;
    const mx = (x1 + x2) / 2;
    const d = e.from === e.to ? `M${a.x + NW - 30},${a.y}C${a.x + NW},${a.y - 40} ${a.x + NW + 30},${a.y} ${a.x + NW},${a.y + 10}` : `M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    const err = e.errors > 0;
    const label = `${fmtNum(e.calls)} req${Number.isNaN(e.errors) ? "" : `, ${fmtNum(e.errors)} err`}`;
    svg.append(
      s(
        "g",
        { class: ["edge", err ? "error" : ""].join(" "), "data-from": e.from, "data-to": e.to },
        s("title", null, `${e.from} → ${e.to}: ${label}`),
        s("path", { d, "marker-end": "url(#arrow)" }),
        s("text", { x: mx, y: (y1 + y2) / 2 - 6, "text-anchor": "middle" }, label),
      ),
    );
  }
  for (const [n, p] of pos) {
    const go = () => navigate(href(`services/${encodeURIComponent(n)}`));
    svg.append(
      s(
        "g",
        { class: ["node", n === focus ? "focus" : ""].join(" "), "data-service": n, tabindex: 0, role: "link", "aria-label": `service ${n}`, onclick: go, onkeydown: (k) => k.key === "Enter" && go() },
        s("rect", { x: p.x, y: p.y, width: NW, height: NH, rx: 6 }),
        s("text", { x: p.x + NW / 2, y: p.y + NH / 2 + 5, "text-anchor": "middle" }, n.length > 22 ? `${n.slice(0, 21)}…` : n),
      ),
    );
  }
  root.append(
    h("div", { class: "card graph-wrap" }, svg),
    h("p", { class: "muted" }, `Counts over the selected range, from ${g.source}. Click a service for its operations.`),
    h(
      "table",
      { class: "grid edges" },
      h("thead", null, h("tr", null, ["Client", "Server", "Requests", "Failed"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, g.list.map((e) => h("tr", null, h("td", null, e.from), h("td", null, e.to), h("td", { class: "num" }, fmtNum(e.calls)), h("td", { class: ["num", e.errors > 0 ? "bad" : ""] }, fmtNum(e.errors))))),
    ),
  );
}
