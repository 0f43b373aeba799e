// Collector: the running pipelines as a graph (receivers → processors → exporters, connectors
// joining pipelines) and a live table of self-metrics per component, with rates from two
// polls of /api/ferrotel/collector.

import { h, s, message, errorBox, api, fmtNum } from "../lib.js";

const POLL_MS = 5000;
const ITEMS = ["spans", "metric_points", "log_records", "profiles"];

/** Self-metric series → Map("kind/name" → {kind, name, accepted, refused, sent, failed, queue, capacity}). */
export function perComponent(metrics) {
  const out = new Map();
  const get = (kind, name) => {
    const k = `${kind}/${name}`;
    if (!out.has(k)) out.set(k, { kind, name, accepted: 0, refused: 0, sent: 0, failed: 0, queue: null, capacity: null, has: new Set() });
    return out.get(k);
  };
  for (const m of metrics || []) {
    const n = m.name || "";
    const v = Number(m.value) || 0;
    const l = m.labels || {};
    let r;
    if ((r = /^otelcol_receiver_(accepted|refused)_(\w+)$/.exec(n)) && l.receiver && ITEMS.includes(r[2])) {
      const c = get("receiver", l.receiver);
      c[r[1]] += v;
      c.has.add(r[1]);
    } else if ((r = /^otelcol_processor_(incoming|outgoing|accepted|refused|dropped)_(\w+)$/.exec(n)) && l.processor) {
      const c = get("processor", l.processor);
      const f = { incoming: "accepted", accepted: "accepted", outgoing: "sent", refused: "refused", dropped: "failed" }[r[1]];
      c[f] += v;
      c.has.add(f);
    } else if ((r = /^otelcol_exporter_(sent|send_failed|enqueue_failed)_(\w+)$/.exec(n)) && l.exporter) {
      const c = get("exporter", l.exporter);
      const f = r[1] === "sent" ? "sent" : "failed";
      c[f] += v;
      c.has.add(f);
    } else if (n === "otelcol_exporter_queue_size" && l.exporter) {
      const c = get("exporter", l.exporter);
      c.queue = (c.queue || 0) + v;
    } else if (n === "otelcol_exporter_queue_capacity" && l.exporter) {
      const c = get("exporter", l.exporter);
      c.capacity = (c.capacity || 0) + v;
    } else if ((r = /^otelcol_connector_(\w+)$/.exec(n)) && l.connector) {
      get("connector", l.connector);
    }
  }
  return out;
}

/** A total as a full number (1,234,567), a fraction compactly. */
function count(v) {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : fmtNum(v);
}

function pipelineGraph(pipelines) {
  const BW = 150;
  const BH = 30;
  const COL = [190, 400, 610]; // pipeline names in the gutter left of the first column
  const rowsOf = (p) => Math.max(1, p.receivers.length, p.processors.length, p.exporters.length);
  let y = 10;
  const boxes = [];
  const lines = [];
  const where = new Map(); // connector name → [{x, y, role}]
  for (const p of pipelines) {
    const top = y;
    const n = rowsOf(p);
    const place = (list, col, kind) =>
      list.map((c, i) => {
        const by = top + 8 + i * (BH + 10);
        const conn = (p.connectors || []).includes(c);
        boxes.push({ x: COL[col], y: by, label: c, kind: conn ? "connector" : kind });
        if (conn) (where.get(c) || where.set(c, []).get(c)).push({ x: COL[col], y: by, role: kind });
        return { x: COL[col], y: by };
      });
    const rec = place(p.receivers, 0, "receiver");
    // processors in a chain, one column each would be wide: stack them in one column in order
    const pro = place(p.processors.length ? [p.processors.join(" → ")] : [], 1, "processor");
    const exp = place(p.exporters, 2, "exporter");
    const mid = pro.length ? pro : exp;
    for (const a of rec) for (const b of mid) lines.push([a.x + BW, a.y + BH / 2, b.x, b.y + BH / 2]);
    if (pro.length) for (const b of exp) lines.push([pro[0].x + BW, pro[0].y + BH / 2, b.x, b.y + BH / 2]);
    boxes.push({ x: 8, y: top + 8, label: p.name, sub: p.signal, kind: "title" });
    y = top + 8 + n * (BH + 10) + 22;
  }
  const links = [];
  for (const [, ps] of where) {
    const outs = ps.filter((q) => q.role === "exporter");
    const ins = ps.filter((q) => q.role === "receiver");
    // from the bottom of the exporting box to the top of the receiving one
    for (const a of outs) for (const b of ins) links.push([a.x + BW / 2, a.y + BH, b.x + BW / 2, b.y]);
  }
  const W = COL[2] + BW + 20;
  const svg = s("svg", { class: "chart pipelines", viewBox: `0 0 ${W} ${y}`, width: Math.min(W, 1100), role: "img", "aria-label": "pipelines" });
  svg.append(s("defs", null, s("marker", { id: "conn-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0L10,5L0,10Z", fill: "#e67700" }))));
  for (const [x1, y1, x2, y2] of lines) svg.append(s("path", { d: `M${x1},${y1}C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`, class: "flow" }));
  for (const [x1, y1, x2, y2] of links) {
    const dy = Math.max(30, Math.abs(y2 - y1) / 2);
    svg.append(s("path", { d: `M${x1},${y1}C${x1},${y1 + dy} ${x2},${y2 - dy} ${x2},${y2}`, class: "connector-link", "marker-end": "url(#conn-arrow)" }));
  }
  for (const b of boxes) {
    if (b.kind === "title") {
      svg.append(s("text", { x: b.x, y: b.y + 13, class: "ptitle" }, b.label.length > 24 ? `${b.label.slice(0, 23)}…` : b.label, s("title", null, b.label)), s("text", { x: b.x, y: b.y + 28, class: "psub" }, b.sub));
      continue;
    }
    svg.append(s("g", { class: `box ${b.kind}` }, s("title", null, `${b.kind} ${b.label}`), s("rect", { x: b.x, y: b.y, width: BW, height: BH, rx: 4 }), s("text", { x: b.x + BW / 2, y: b.y + BH / 2 + 4, "text-anchor": "middle" }, b.label.length > 24 ? `${b.label.slice(0, 23)}…` : b.label)));
  }
  return svg;
}

export async function render(root, ctx) {
  root.append(h("h1", null, "Collector"));
  let first;
  try {
    first = await api("/api/ferrotel/collector");
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  const info = h("p", { class: "summary" });
  const fillInfo = (st) => {
    const parts = [h("span", null, `ferrotel ${st.version || "?"}`)];
    if (Number.isFinite(st.uptime_seconds)) parts.push(h("span", null, `up ${fmtNum(st.uptime_seconds)} s`));
    parts.push(h("span", null, `${(st.pipelines || []).length} pipelines`), h("span", null, `extensions: ${(st.extensions || []).join(", ") || "none"}`));
    info.replaceChildren(...parts);
  };
  fillInfo(first);
  root.append(info);
  const pipes = first.pipelines || [];
  root.append(h("h2", null, "Pipelines"), pipes.length ? h("section", { class: "card" }, pipelineGraph(pipes)) : message("No pipelines are running."));
  const tableBox = h("div", { id: "collector-metrics" });
  const note = h("p", { class: "muted", "aria-live": "polite" });
  root.append(h("h2", null, "Components"), note, tableBox);
  let prev = { at: performance.now(), comps: perComponent(first.metrics) };
  const draw = (comps, rates) => {
    if (!comps.size) {
      tableBox.replaceChildren(message("The collector reports no component self-metrics (service::telemetry::metrics::level none?)."));
      return;
    }
    const order = { receiver: 0, processor: 1, connector: 2, exporter: 3 };
    const list = [...comps.values()].filter((c) => c.has.size || c.queue !== null).sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name));
    const cell = (c, f) => {
      const known = c.has.has(f);
      const r = rates && rates.get(`${c.kind}/${c.name}`);
      return h("td", { class: ["num", f === "failed" || f === "refused" ? (c[f] > 0 ? "bad" : "") : ""], "data-field": f }, known ? count(c[f]) : "–", known && r && Number.isFinite(r[f]) ? h("small", null, ` ${fmtNum(r[f])}/s`) : null);
    };
    tableBox.replaceChildren(
      h(
        "table",
        { class: "grid components" },
        h("thead", null, h("tr", null, ["Component", "Accepted", "Refused", "Sent", "Failed", "Queue"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          null,
          list.map((c) =>
            h(
              "tr",
              { "data-component": `${c.kind}/${c.name}` },
              h("th", { scope: "row" }, h("span", { class: `kind ${c.kind}` }, c.kind), " ", c.name),
              cell(c, "accepted"),
              cell(c, "refused"),
              cell(c, "sent"),
              cell(c, "failed"),
              h("td", { class: "num" }, c.queue === null ? "–" : `${count(c.queue)}${c.capacity ? ` / ${count(c.capacity)}` : ""}`),
            ),
          ),
        ),
      ),
    );
  };
  draw(prev.comps, null);
  note.textContent = `Totals since start; rates appear after the next poll (every ${POLL_MS / 1000} s).`;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !ctx.alive()) return;
    busy = true;
    try {
      const st = await api("/api/ferrotel/collector");
      const now = performance.now();
      const comps = perComponent(st.metrics);
      const dt = (now - prev.at) / 1000;
      const rates = new Map();
      for (const [k, c] of comps) {
        const p = prev.comps.get(k);
        if (!p) continue;
        rates.set(k, Object.fromEntries(["accepted", "refused", "sent", "failed"].map((f) => [f, Math.max(0, (c[f] - p[f]) / dt)])));
      }
      prev = { at: now, comps };
      fillInfo(st);
      draw(comps, rates);
      note.textContent = `Totals since start, rates over the last ${dt.toFixed(1)} s; updated ${new Date().toLocaleTimeString()}.`;
    } catch (e) {
      note.textContent = `Update failed: ${e.message}`;
    } finally {
      busy = false;
    }
  }, POLL_MS);
  return () => clearInterval(timer);
}
