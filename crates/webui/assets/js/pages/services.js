// Services: one row per service with request rate, error rate and p50/p95/p99 over the
// chosen range, a rate sparkline; /ui/services/<s> shows one service and its operations.

import { h, message, errorBox, timeRange, fmtNum, fmtPct, fmtSeconds, q, api, promRange } from "../lib.js";
import { link, href } from "../nav.js";
import { sparkline, lineChart } from "../charts.js";
import { red, rateSeries, serviceSel, redQueries } from "./red.js";

export async function render(root, ctx) {
  if (ctx.args.length) return renderService(root, ctx, ctx.args[0]);
  const range = timeRange(ctx.params);
  root.append(h("h1", null, "Services"));
  let rows;
  let known = [];
  let spark = new Map();
  try {
    [rows, spark, known] = await Promise.all([
      red("service_name", [], range).then((r) => r.rows),
      rateSeries("service_name", [], range).catch(() => new Map()),
      api("/api/services").then((b) => b.data || []).catch(() => []),
    ]);
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  // services with spans but no derived metrics in the range yet still get a row
  for (const s of known) if (!rows.has(s)) rows.set(s, { labels: { service_name: s }, rate: NaN, errorRate: NaN });
  if (!rows.size) {
    root.append(message("No services in this time range. Send OTLP traces to this ferrotel (OTEL_EXPORTER_OTLP_ENDPOINT) or widen the range; span metrics appear about 15 s after the first spans."));
    return;
  }
  const list = [...rows.values()].sort((a, b) => a.labels.service_name.localeCompare(b.labels.service_name));
  root.append(
    h("p", { class: "muted" }, `Rates and latencies over ${range.from === "now-1h" ? "the last hour" : "the selected range"}, from the span metrics derived from traces (SERVER/CONSUMER spans where a service has them, else all its spans).`),
    h(
      "table",
      { class: "grid services", id: "services-table" },
      h("thead", null, h("tr", null, ["Service", "Rate (req/s)", "Error rate", "p50", "p95", "p99", "Rate over time"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        list.map((r) => {
          const name = r.labels.service_name;
          return h(
            "tr",
            { "data-service": name },
            h("th", { scope: "row" }, link(`services/${encodeURIComponent(name)}`, {}, name)),
            h("td", { class: "num rate" }, fmtNum(r.rate)),
            h("td", { class: ["num", r.errorRate > 0 ? "bad" : ""] }, fmtPct(r.errorRate)),
            h("td", { class: "num" }, fmtSeconds(r.p50)),
            h("td", { class: "num" }, fmtSeconds(r.p95)),
            h("td", { class: "num" }, fmtSeconds(r.p99)),
            h("td", null, sparkline(spark.get(name) || [], { t0: range.start, t1: range.end, label: `${name} request rate` })),
          );
        }),
      ),
    ),
  );
}

async function renderService(root, ctx, service) {
  const range = timeRange(ctx.params);
  const sel = serviceSel(service);
  root.append(
    h("p", { class: "crumbs" }, link("services", {}, "Services"), " / "),
    h("h1", null, service),
    h(
      "p",
      { class: "links" },
      link("traces", { service }, "Traces"),
      link("logs", { query: `{service_name=${q(service)}}` }, "Logs"),
      link("metrics", { query: redQueries("service_name", sel, "1m").rate }, "Metrics"),
      link("graph", { service }, "Service graph"),
    ),
  );
  let ops;
  try {
    const qs = redQueries("service_name", sel, `${Math.max(60, range.step * 4)}s`);
    const [opsRes, rate, errors, p95] = await Promise.all([
      red("span_name, span_kind", sel, range, { entryOnly: false }),
      promRange(qs.rate, range),
      promRange(qs.errors, range),
      promRange(qs.p95, range),
    ]);
    ops = opsRes.rows;
    const pts = (m) => (m[0] ? m[0].values.map(([t, v]) => [t * 1000, Number(v)]) : []);
    const charts = h("div", { class: "charts3" });
    for (const [title, m, fmt] of [["Requests/s", rate, fmtNum], ["Errors/s", errors, fmtNum], ["p95 latency", p95, fmtSeconds]]) {
      const series = [{ name: title, points: pts(m), step: range.step }];
      charts.append(h("section", { class: "card" }, h("h2", null, title), series[0].points.length ? lineChart(series, { t0: range.start, t1: range.end, width: 420, height: 160, fmt }) : message("No data in this range.")));
    }
    root.append(charts);
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  root.append(h("h2", null, "Operations"));
  if (!ops.size) {
    root.append(message(`No span metrics for ${service} in this time range.`));
    return;
  }
  const list = [...ops.values()].sort((a, b) => b.rate - a.rate || a.labels.span_name.localeCompare(b.labels.span_name));
  root.append(
    h(
      "table",
      { class: "grid ops" },
      h("thead", null, h("tr", null, ["Operation", "Kind", "Rate (req/s)", "Error rate", "p50", "p95", "p99", ""].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        list.map((r) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, r.labels.span_name),
            h("td", null, (r.labels.span_kind || "").replace("SPAN_KIND_", "").toLowerCase()),
            h("td", { class: "num" }, fmtNum(r.rate)),
            h("td", { class: ["num", r.errorRate > 0 ? "bad" : ""] }, fmtPct(r.errorRate)),
            h("td", { class: "num" }, fmtSeconds(r.p50)),
            h("td", { class: "num" }, fmtSeconds(r.p95)),
            h("td", { class: "num" }, fmtSeconds(r.p99)),
            h("td", null, h("a", { href: href("traces", { service, operation: r.labels.span_name }), "data-nav": "" }, "traces")),
          ),
        ),
      ),
    ),
  );
}
