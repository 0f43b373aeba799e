// Trace view: waterfall with collapsible spans (indented by parent), error spans marked,
// span details (attributes, events, links, resource, scope, status), the span's and the
// trace's log lines, and links to the service's metrics and logs around the span's time.

import { h, message, errorBox, api, fmtDuration, fmtTime, q } from "../lib.js";
import { link, setParams } from "../nav.js";
import { summary, tree, isError, tag } from "./jaeger.js";
import { flatten, lokiRange, logLine } from "./loglines.js";

const HIDDEN = new Set(["otel.scope.name", "otel.scope.version", "span.kind", "otel.status_code", "otel.status_description", "error"]);

export async function render(root, ctx) {
  const id = (ctx.args[0] || "").toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(id)) {
    root.append(h("h1", null, "Trace"), message(`“${ctx.args[0] || ""}” is not a trace id (up to 32 hex digits).`, "error"));
    return;
  }
  let t;
  try {
    const b = await api(`/api/traces/${id}`);
    t = b.data && b.data[0];
  } catch (e) {
    root.append(h("h1", null, `Trace ${id}`), String(e.message).includes("404") ? message(`Trace ${id} is not in the store (not arrived yet, or evicted).`) : errorBox(e));
    return;
  }
  if (!t || !t.spans || !t.spans.length) {
    root.append(h("h1", null, `Trace ${id}`), message("This trace has no spans."));
    return;
  }
  const sum = summary(t);
  const rows = tree(t);
  const selected = ctx.params.get("span") || "";
  // the trace's logs (Loki, filtered by trace_id), a minute either side of the trace
  let logs = [];
  let logsError = null;
  try {
    const data = await lokiRange(`{service_name=~".+"} | trace_id=${q(t.traceID)}`, sum.start / 1000 - 6e4, (sum.start + sum.duration) / 1000 + 6e4, 1000);
    logs = flatten(data.result).reverse(); // oldest first, as the spans
  } catch (e) {
    logsError = e;
  }
  root.append(
    h("p", { class: "crumbs" }, link("traces", { service: sum.rootService }, "Traces"), " / "),
    h("h1", null, `${sum.rootService}: ${sum.name} `, h("code", { class: "tid" }, t.traceID)),
    h(
      "p",
      { class: "summary" },
      h("span", null, `Started ${fmtTime(sum.start / 1000, true)}`),
      h("span", null, `Duration ${fmtDuration(sum.duration)}`),
      h("span", null, `${sum.spans} spans`),
      h("span", null, `${sum.services.size} services`),
      sum.errors ? h("span", { class: "badge error" }, `⚠ ${sum.errors} error span${sum.errors > 1 ? "s" : ""}`) : null,
      h("span", null, `${logs.length} log lines`),
    ),
  );
  const collapsed = new Set();
  const table = h("div", { class: "waterfall", id: "waterfall", role: "tree" });
  const scale = h(
    "div",
    { class: "wf-head" },
    h("div", { class: "wf-name" }, "Service: operation"),
    h("div", { class: "wf-bar" }, [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", { style: { left: `${f * 100}%` } }, fmtDuration(sum.duration * f)))),
  );
  const draw = () => {
    table.replaceChildren();
    let hideBelow = Infinity;
    for (const r of rows) {
      if (r.depth > hideBelow) continue;
      hideBelow = collapsed.has(r.span.spanID) ? r.depth : Infinity;
      table.append(spanRow(r, sum, t, logs, { selected: r.span.spanID === selected, collapsed: collapsed.has(r.span.spanID), toggle: () => {
        if (collapsed.has(r.span.spanID)) collapsed.delete(r.span.spanID);
        else collapsed.add(r.span.spanID);
        draw();
        const b = table.querySelector(`[data-span="${r.span.spanID}"] .twisty`);
        if (b) b.focus();
      } }));
    }
  };
  draw();
  root.append(h("section", { class: "card" }, scale, table), h("p", { class: "muted" }, "Click a span for its attributes, events, links, resource, status and log lines; ▾ folds its children."));
  const logsAround = { from: String(Math.floor(sum.start / 1000 - 6e4)), to: String(Math.ceil((sum.start + sum.duration) / 1000 + 6e4)) };
  root.append(h("h2", { id: "trace-logs" }, "Logs of this trace ", link("logs", { ...logsAround, query: `{service_name=~".+"} | trace_id=${q(t.traceID)}` }, h("small", null, "open in Logs"))));
  if (logsError) root.append(errorBox(logsError));
  else if (!logs.length) root.append(message("No log lines carry this trace id."));
  else root.append(h("ul", { class: "loglist", id: "trace-log-list" }, logs.map((r) => logLine(r, { onSpan: (s) => setParams({ span: s }, false) }))));
}

function spanRow(r, sum, t, logs, { selected, collapsed, toggle }) {
  const x = r.span;
  const service = sum.svc(x);
  const err = isError(x);
  const left = ((x.startTime - sum.start) / (sum.duration || 1)) * 100;
  const width = Math.max(0.3, (x.duration / (sum.duration || 1)) * 100);
  const select = () => setParams({ span: selected ? "" : x.spanID }, false);
  const row = h(
    "div",
    { class: ["span", err ? "error" : "", selected ? "selected" : ""], "data-span": x.spanID, "data-depth": r.depth, role: "treeitem", "aria-expanded": r.children ? String(!collapsed) : null, "aria-selected": String(selected) },
    h(
      "div",
      { class: "wf-line" },
      h(
        "div",
        { class: "wf-name", style: { paddingLeft: `${r.depth * 16 + 4}px` } },
        r.children ? h("button", { type: "button", class: "twisty", "aria-label": collapsed ? "expand" : "collapse", onclick: toggle }, collapsed ? "▸" : "▾") : h("span", { class: "twisty-pad" }),
        err ? h("span", { class: "err-icon", title: "error", "aria-label": "error" }, "⚠") : null,
        h("button", { type: "button", class: "span-name", onclick: select, title: `${service}: ${x.operationName}`, "data-autofocus": selected ? "" : null }, h("span", { class: "svc" }, service), " ", x.operationName),
      ),
      h("div", { class: "wf-bar", onclick: select }, h("span", { class: "bar", style: { left: `${left}%`, width: `${width}%` } }), left + width > 85
        ? h("span", { class: "bar-label inside", style: { right: `${100 - left - width}%` } }, fmtDuration(x.duration))
        : h("span", { class: "bar-label", style: { left: `${left + width}%` } }, fmtDuration(x.duration))),
    ),
  );
  if (selected) row.append(details(x, service, t, logs));
  return row;
}

function kv(list) {
  if (!list.length) return message("none", "empty small");
  return h("table", { class: "kv" }, h("tbody", null, list.map(([k, v]) => h("tr", null, h("th", null, k), h("td", null, typeof v === "object" ? JSON.stringify(v) : String(v))))));
}

function details(x, service, t, logs) {
  const attrs = (x.tags || []).filter((k) => !HIDDEN.has(k.key)).map((k) => [k.key, k.value]);
  const proc = t.processes[x.processID] || { tags: [] };
  const status = tag(x.tags, "otel.status_code") || (isError(x) ? "ERROR" : "UNSET");
  const desc = tag(x.tags, "otel.status_description");
  const startMs = x.startTime / 1000;
  const endMs = (x.startTime + x.duration) / 1000;
  const around = { from: String(Math.floor(startMs - 15 * 6e4)), to: String(Math.ceil(endMs + 15 * 6e4)) };
  const spanLogs = logs.filter((r) => r.labels.span_id === x.spanID);
  const links = (x.references || []).filter((r) => !(r.refType === "CHILD_OF" && r.traceID === x.traceID));
  return h(
    "div",
    { class: "span-details", id: "span-details" },
    h(
      "div",
      { class: "meta" },
      h("span", null, `Span ${x.spanID}`),
      h("span", null, `kind ${tag(x.tags, "span.kind") || "unspecified"}`),
      h("span", { class: ["status", status === "ERROR" ? "bad" : ""] }, `status ${status}${desc ? `: ${desc}` : ""}`),
      h("span", null, `start ${fmtTime(startMs, true)}`),
      h("span", null, `duration ${fmtDuration(x.duration)}`),
      h("span", null, `scope ${tag(x.tags, "otel.scope.name") || "–"} ${tag(x.tags, "otel.scope.version") || ""}`),
    ),
    h(
      "p",
      { class: "links" },
      link(`services/${encodeURIComponent(service)}`, around, `${service} metrics around this span`),
      link("metrics", { ...around, query: `histogram_quantile(0.95, sum by (le, span_name) (rate(traces_span_metrics_duration_seconds_bucket{service_name=${q(service)}}[1m])))` }, "latency chart"),
      link("logs", { ...around, query: `{service_name=${q(service)}}` }, `${service} logs around this span`),
    ),
    h("div", { class: "cols" }, h("section", null, h("h3", null, "Attributes"), kv(attrs)), h("section", null, h("h3", null, `Resource (${service})`), kv((proc.tags || []).map((k) => [k.key, k.value])))),
    h("h3", null, `Events (${(x.logs || []).length})`),
    (x.logs || []).length
      ? h("ul", { class: "events" }, x.logs.map((e) => h("li", null, h("time", null, `+${fmtDuration(e.timestamp - x.startTime)}`), " ", kvInline(e.fields))))
      : message("none", "empty small"),
    h("h3", null, `Links (${links.length})`),
    links.length ? h("ul", null, links.map((l) => h("li", null, `${l.refType} `, link(`trace/${l.traceID}`, { span: l.spanID }, `${l.traceID.slice(0, 8)} / ${l.spanID}`)))) : message("none", "empty small"),
    h("h3", null, `Logs of this span (${spanLogs.length})`),
    spanLogs.length ? h("ul", { class: "loglist span-logs" }, spanLogs.map((r) => logLine(r))) : message("No log lines carry this span id.", "empty small"),
  );
}

function kvInline(fields) {
  return (fields || []).map((f) => h("span", { class: "kvi" }, h("b", null, f.key), "=", String(f.value)));
}
