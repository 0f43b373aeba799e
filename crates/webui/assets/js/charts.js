// Hand-written SVG charts: sparkline, line chart (with exemplar points), scatter plot,
// stacked bar histogram. Data in, an <svg> element out; labels go through text nodes.

import { s, h, fmtNum, fmtTime } from "./lib.js";

export const PALETTE = ["#2f6fdf", "#d9480f", "#2b8a3e", "#9c36b5", "#c92a2a", "#0b7285", "#e67700", "#5f3dc4", "#862e9c", "#364fc7"];

function extent(values, zero = true) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (lo === Infinity) return [0, 1];
  if (zero) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + (Math.abs(lo) || 1);
  return [lo, hi];
}

function ticks(lo, hi, n = 4) {
  const span = hi - lo;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((m) => span / m <= n) || step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  // one tick at or above the top, so the highest value sits under a labelled line
  if (!out.length || out[out.length - 1] < hi) out.push(+((out.length ? out[out.length - 1] : lo) + step).toPrecision(12));
  return out;
}

function timeTicks(t0, t1, n = 6) {
  const span = t1 - t0;
  const steps = [1e3, 5e3, 15e3, 3e4, 6e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5];
  const step = steps.find((st) => span / st <= n) || 864e5;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

function hhmm(ms, span) {
  const d = new Date(ms);
  const p = (x) => String(x).padStart(2, "0");
  return span < 3e5 ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A tiny line: values [[tMs, v]...] over [t0, t1]. */
export function sparkline(points, { width = 120, height = 28, t0, t1, color = PALETTE[0], label = "" } = {}) {
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "spark", role: "img", "aria-label": label });
  if (!points.length) {
    svg.append(s("line", { x1: 0, x2: width, y1: height - 1, y2: height - 1, class: "spark-empty" }));
    return svg;
  }
  const a = t0 ?? points[0][0];
  const b = t1 ?? points[points.length - 1][0];
  const [lo, hi] = extent(points.map((p) => p[1]));
  const x = (t) => ((t - a) / (b - a || 1)) * (width - 2) + 1;
  const y = (v) => height - 2 - ((v - lo) / (hi - lo)) * (height - 4);
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
  svg.append(s("path", { d, fill: "none", stroke: color, "stroke-width": 1.5 }));
  if (points.length === 1) svg.append(s("circle", { cx: x(points[0][0]), cy: y(points[0][1]), r: 2.5, fill: color }));
  return svg;
}

/**
 * A line chart. series: [{name, points: [[tMs, v]...]}]; exemplars: [{t, v, label, onclick}]
 * drawn as diamonds on the same axes. fmt formats y values.
 */
export function lineChart(series, { t0, t1, width = 1100, height = 260, fmt = fmtNum, exemplars = [], yLabel = "" } = {}) {
  const pad = { l: 64, r: 12, t: 10, b: 24 };
  const W = width - pad.l - pad.r;
  const H = height - pad.t - pad.b;
  const all = series.flatMap((se) => se.points.map((p) => p[1])).concat(exemplars.map((e) => e.v));
  const [lo, hi0] = extent(all);
  const yt = ticks(lo, hi0);
  const hi = yt[yt.length - 1];
  const x = (t) => pad.l + ((t - t0) / (t1 - t0 || 1)) * W;
  const y = (v) => pad.t + H - ((v - lo) / (hi - lo)) * H;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": yLabel || "chart", preserveAspectRatio: "xMinYMin meet" });
  const grid = s("g", { class: "grid" });
  for (const v of yt) {
    grid.append(s("line", { x1: pad.l, x2: pad.l + W, y1: y(v), y2: y(v) }), s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
  }
  for (const t of timeTicks(t0, t1)) {
    grid.append(s("line", { x1: x(t), x2: x(t), y1: pad.t, y2: pad.t + H, class: "v" }), s("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, hhmm(t, t1 - t0)));
  }
  svg.append(grid);
  series.forEach((se, i) => {
    const color = se.color || PALETTE[i % PALETTE.length];
    // a gap where a step has no sample (more than 2.5 steps apart)
    let d = "";
    let prev = null;
    const gap = se.step ? se.step * 2500 : Infinity;
    for (const [t, v] of se.points) {
      if (!Number.isFinite(v)) {
        prev = null;
        continue;
      }
      d += `${prev === null || t - prev > gap ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      prev = t;
    }
    const g = s("g", { class: "series" }, s("title", null, se.name));
    g.append(s("path", { d, fill: "none", stroke: color, "stroke-width": 1.8 }));
    if (se.points.length === 1) {
      const [t, v] = se.points[0];
      g.append(s("circle", { cx: x(t), cy: y(v), r: 3, fill: color }));
    }
    svg.append(g);
  });
  const ex = s("g", { class: "exemplars" });
  for (const e of exemplars) {
    const cx = x(e.t);
    const cy = y(e.v);
    const dot = s(
      "path",
      { d: `M${cx},${cy - 6}L${cx + 6},${cy}L${cx},${cy + 6}L${cx - 6},${cy}Z`, class: "exemplar", tabindex: 0, role: "link", "aria-label": e.label, onclick: e.onclick, onkeydown: (k) => k.key === "Enter" && e.onclick && e.onclick() },
      s("title", null, e.label),
    );
    ex.append(dot);
  }
  svg.append(ex);
  return svg;
}

export function legend(series) {
  return h(
    "ul",
    { class: "legend" },
    series.map((se, i) => h("li", null, h("span", { class: "swatch", style: { background: se.color || PALETTE[i % PALETTE.length] } }), se.name)),
  );
}

/** Scatter of traces: points [{t (ms), v (µs), error, label, onclick}]. */
export function scatter(points, { t0, t1, width = 1100, height = 180, fmt } = {}) {
  const pad = { l: 64, r: 12, t: 10, b: 24 };
  const W = width - pad.l - pad.r;
  const H = height - pad.t - pad.b;
  const [lo, hi0] = extent(points.map((p) => p.v));
  const yt = ticks(lo, hi0);
  const hi = yt[yt.length - 1];
  // the found traces' own time span (padded), as Jaeger's scatter plot
  const firstT = t0 ?? Math.min(...points.map((p) => p.t));
  const lastT = t1 ?? Math.max(...points.map((p) => p.t));
  const padT = Math.max((lastT - firstT) * 0.05, 5000);
  const a = firstT - padT;
  const b = lastT + padT;
  const x = (t) => pad.l + ((t - a) / (b - a || 1)) * W;
  const y = (v) => pad.t + H - ((v - lo) / (hi - lo)) * H;
  const svg = s("svg", { class: "chart scatter", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": "trace durations over time" });
  const grid = s("g", { class: "grid" });
  for (const v of yt) grid.append(s("line", { x1: pad.l, x2: pad.l + W, y1: y(v), y2: y(v) }), s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, fmt ? fmt(v) : fmtNum(v)));
  for (const t of timeTicks(a, b)) grid.append(s("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, hhmm(t, b - a)));
  svg.append(grid);
  for (const p of points) {
    svg.append(
      s(
        "circle",
        { cx: x(p.t), cy: y(p.v), r: 5, class: p.error ? "dot error" : "dot", tabindex: 0, role: "link", "aria-label": p.label, onclick: p.onclick, onkeydown: (k) => k.key === "Enter" && p.onclick() },
        s("title", null, p.label),
      ),
    );
  }
  return svg;
}

/** Stacked bars: buckets [t...], stacks [{name, color, values: [n per bucket]}]. */
export function bars(buckets, stacks, { width = 1100, height = 110, stepMs } = {}) {
  const pad = { l: 48, r: 12, t: 6, b: 20 };
  const W = width - pad.l - pad.r;
  const H = height - pad.t - pad.b;
  const totals = buckets.map((_, i) => stacks.reduce((n, st) => n + (st.values[i] || 0), 0));
  const [, hi0] = extent(totals);
  const yt = ticks(0, hi0, 2);
  const hi = yt[yt.length - 1];
  const t0 = buckets[0];
  const t1 = buckets[buckets.length - 1] + (stepMs || 0);
  const x = (t) => pad.l + ((t - t0) / (t1 - t0 || 1)) * W;
  const bw = Math.max(1, (stepMs ? (stepMs / (t1 - t0 || 1)) * W : W / buckets.length) - 1);
  const svg = s("svg", { class: "chart bars", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": "log volume" });
  const grid = s("g", { class: "grid" });
  for (const v of yt) grid.append(s("text", { x: pad.l - 6, y: pad.t + H - (v / hi) * H + 4, "text-anchor": "end" }, fmtNum(v)));
  for (const t of timeTicks(t0, t1)) grid.append(s("text", { x: x(t), y: height - 5, "text-anchor": "middle" }, hhmm(t, t1 - t0)));
  svg.append(grid);
  buckets.forEach((t, i) => {
    let base = pad.t + H;
    for (const st of stacks) {
      const v = st.values[i] || 0;
      if (!v) continue;
      const bh = (v / hi) * H;
      base -= bh;
      svg.append(s("rect", { x: x(t), y: base, width: bw, height: bh, fill: st.color }, s("title", null, `${fmtTime(t)} ${st.name}: ${v}`)));
    }
  });
  return svg;
}
