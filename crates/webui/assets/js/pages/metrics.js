// Metrics: a filterable metric-name browser and a label browser, a PromQL query box, a line
// chart (a bare counter name is charted as rate(), a bare histogram name as p50/p95/p99), and
// exemplars from /api/v1/query_exemplars as points that open their trace.

import { h, message, errorBox, timeRange, api, promRange, fmtNum, fmtTime } from "../lib.js";
import { setParams, navigate, href } from "../nav.js";
import { lineChart, legend } from "../charts.js";

const MAX_SERIES = 12;

/** What to chart for a query: a bare metric name becomes rate()/quantiles by its type. */
export function expand(query, type, w) {
  const bare = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?$/.exec(query.trim());
  if (!bare) return { queries: [[null, query]], exemplarQuery: query };
  const name = query.trim().replace(/\{.*$/, "");
  const sel = bare[1] || "";
  if (type === "histogram" || name.endsWith("_bucket")) {
    const b = name.endsWith("_bucket") ? name : `${name}_bucket`;
    return {
      queries: [0.5, 0.95, 0.99].map((p) => [`p${p * 100}`, `histogram_quantile(${p}, sum by (le) (rate(${b}${sel}[${w}])))`]),
      exemplarQuery: `${b}${sel}`,
      note: `${name} is a histogram: p50, p95 and p99 of rate(${b}[${w}]).`,
    };
  }
  if (type === "counter" || /_(total|count|sum)$/.test(name)) {
    return { queries: [[null, `rate(${name}${sel}[${w}])`]], exemplarQuery: `${name}${sel}`, note: `${name} is a counter: charted as rate(${name}[${w}]).` };
  }
  return { queries: [[null, query.trim()]], exemplarQuery: query.trim() };
}

function seriesName(metric, common) {
  const { __name__: n, ...rest } = metric;
  const l = Object.entries(rest)
    .filter(([k]) => !common.has(k))
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ");
  return l ? `${n || ""}{${l}}` : n || "";
}

/** Labels with one value across all series (left out of the legend when there are several). */
function commonLabels(metrics) {
  if (metrics.length < 2) return new Set();
  const out = new Set();
  for (const [k, v] of Object.entries(metrics[0])) if (k !== "__name__" && metrics.every((m) => m[k] === v)) out.add(k);
  return out;
}

export async function render(root, ctx) {
  const range = timeRange(ctx.params);
  const query = ctx.params.get("query") || "";
  const filter = ctx.params.get("filter") || "";
  const form = h(
    "form",
    { class: "querybar", onsubmit: (e) => {
      e.preventDefault();
      setParams({ query: form.elements.query.value.trim() });
    } },
    h("label", { for: "promql", class: "sr-only" }, "PromQL query"),
    h("input", { id: "promql", name: "query", "data-query": "", value: query, spellcheck: "false", autocomplete: "off", placeholder: "PromQL, or pick a metric on the left" }),
    h("button", { type: "submit", class: "primary" }, "Run"),
  );
  root.append(h("h1", null, "Metrics"), form);
  const side = h("aside", { class: "browser" });
  const body = h("div", { class: "metric-main" });
  root.append(h("div", { class: "split" }, side, body));
  let names = [];
  let meta = {};
  try {
    [names, meta] = await Promise.all([
      api("/api/v1/label/__name__/values", { start: range.start / 1000, end: range.end / 1000 }).then((b) => b.data || []),
      api("/api/v1/metadata").then((b) => b.data || {}).catch(() => ({})),
    ]);
  } catch (e) {
    side.append(errorBox(e));
  }
  const typeOf = (n) => {
    const base = n.replace(/_(bucket|count|sum)$/, "");
    const m = meta[n] || meta[base] || meta[n.replace(/_total$/, "")];
    return m && m[0] ? m[0].type : "";
  };
  // the browser: one entry per metric family (histogram parts folded)
  const families = [...new Set(names.map((n) => (typeOf(n) === "histogram" ? n.replace(/_(bucket|count|sum)$/, "") : n)))].sort();
  const filterBox = h("input", { type: "search", placeholder: "filter metrics", "aria-label": "Filter metric names", value: filter });
  const ul = h("ul", { class: "names", id: "metric-names" });
  const fill = () => {
    const f = filterBox.value.toLowerCase();
    ul.replaceChildren(
      ...families
        .filter((n) => n.toLowerCase().includes(f))
        .map((n) => h("li", null, h("a", { href: href("metrics", { query: n }), "data-nav": "", class: query.startsWith(n) ? "active" : null }, n, " ", h("small", null, typeOf(n))))),
    );
  };
  filterBox.addEventListener("input", fill);
  fill();
  side.append(h("h2", null, `Metrics (${families.length})`), filterBox, ul);
  if (!names.length) {
    body.append(message("No metrics in this time range. Send OTLP metrics, or spans (their rate and latency metrics are derived)."));
  }
  if (!query) {
    if (names.length) body.append(message("Pick a metric on the left or type a PromQL query."));
    return;
  }
  const w = `${Math.max(60, range.step * 4)}s`;
  const bareName = (/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(query.trim()) || [""])[0];
  const plan = expand(query, typeOf(bareName), w);
  // label browser for a bare metric
  if (bareName && /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?$/.test(query.trim())) {
    try {
      const match = typeOf(bareName) === "histogram" && !bareName.endsWith("_bucket") ? `${bareName}_bucket` : bareName;
      const ser = (await api("/api/v1/series", { "match[]": match, start: range.start / 1000, end: range.end / 1000 })).data || [];
      const labels = new Map();
      for (const x of ser) for (const [k, v] of Object.entries(x)) if (k !== "__name__" && k !== "le") (labels.get(k) || labels.set(k, new Set()).get(k)).add(v);
      side.append(
        h("h2", null, `Labels of ${bareName}`),
        h(
          "dl",
          { class: "label-browser" },
          [...labels].sort().map(([k, vs]) => [
            h("dt", null, k),
            h("dd", null, [...vs].sort().slice(0, 30).map((v) => h("a", { href: href("metrics", { query: `${bareName}{${k}=${JSON.stringify(v)}}` }), "data-nav": "", class: "chip" }, v))),
          ]),
        ),
      );
    } catch { /* the label browser is optional */ }
  }
  let results;
  let exemplars = [];
  try {
    results = await Promise.all(plan.queries.map(([, qq]) => promRange(qq, range)));
    exemplars = await api("/api/v1/query_exemplars", { query: plan.exemplarQuery, start: range.start / 1000, end: range.end / 1000 })
      .then((b) => b.data || [])
      .catch(() => []);
  } catch (e) {
    body.append(errorBox(e));
    return;
  }
  const series = [];
  const common = commonLabels(results.flat().map((r) => r.metric));
  plan.queries.forEach(([label], i) => {
    for (const r of results[i]) series.push({ name: [label, seriesName(r.metric, common)].filter(Boolean).join(" ") || query, points: r.values.map(([t, v]) => [t * 1000, Number(v)]), step: range.step });
  });
  if (plan.note) body.append(h("p", { class: "muted" }, plan.note));
  if (!series.length) {
    body.append(message("The query returned no data in this time range."));
    return;
  }
  const shown = series.slice(0, MAX_SERIES);
  const quantiles = plan.queries.length > 1 || /histogram_quantile/.test(query);
  const fmt = quantiles && /seconds/.test(query) ? (v) => `${fmtNum(v * 1000)}ms` : fmtNum;
  // exemplars on a quantile chart share its y axis (seconds); on other charts only when the
  // chart plots the same unit (a rate of a histogram does not)
  const showEx = quantiles;
  const points = showEx
    ? exemplars.flatMap((sx) =>
        (sx.exemplars || []).map((e) => {
          const tid = e.labels && (e.labels.trace_id || e.labels.traceID || e.labels.traceId);
          const sid = e.labels && (e.labels.span_id || e.labels.spanID);
          return {
            t: e.timestamp * 1000,
            v: Number(e.value),
            label: `exemplar ${fmtNum(Number(e.value))} at ${fmtTime(e.timestamp * 1000)}${tid ? `: trace ${tid}` : ""}`,
            traceId: tid,
            onclick: tid ? () => navigate(href(`trace/${tid}`, sid ? { span: sid } : {})) : null,
          };
        }),
      ).filter((p) => p.t >= range.start && p.t <= range.end)
    : [];
  body.append(
    h(
      "section",
      { class: "card" },
      lineChart(shown, { t0: range.start, t1: range.end, fmt, exemplars: points, yLabel: query }),
      legend(shown),
      series.length > MAX_SERIES ? h("p", { class: "muted" }, `Showing ${MAX_SERIES} of ${series.length} series; narrow the query.`) : null,
      points.length ? h("p", { class: "muted" }, `◆ ${points.length} exemplar${points.length > 1 ? "s" : ""}: click one to open its trace.`) : null,
    ),
  );
  body.append(
    h(
      "table",
      { class: "grid" },
      h("thead", null, h("tr", null, h("th", null, "Series"), h("th", { class: "num" }, "Last"), h("th", { class: "num" }, "Max"))),
      h(
        "tbody",
        null,
        shown.map((se) => {
          const vals = se.points.map((p) => p[1]).filter(Number.isFinite);
          return h("tr", null, h("td", { class: "mono" }, se.name), h("td", { class: "num" }, vals.length ? fmt(vals[vals.length - 1]) : "–"), h("td", { class: "num" }, vals.length ? fmt(Math.max(...vals)) : "–"));
        }),
      ),
    ),
  );
}
