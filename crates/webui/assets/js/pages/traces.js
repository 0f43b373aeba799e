// Trace search: service, operation, tags (logfmt key=value), duration range, status, limit
// and the shared time range; a duration-over-time scatter plot and the result list.

import { h, message, errorBox, timeRange, api, fmtDuration, fmtTime, parseDurationUs } from "../lib.js";
import { setParams, navigate, href, link } from "../nav.js";
import { scatter } from "../charts.js";
import { summary } from "./jaeger.js";

/** logfmt-ish `k=v k2="v 2"` → {k: v}; throws on a term without `=`. */
export function parseTags(text) {
  const out = {};
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/gy;
  let m;
  let last = 0;
  const src = (text || "").trim();
  while ((m = re.exec(src))) {
    out[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[2];
    last = re.lastIndex;
  }
  if (src.slice(last).trim()) throw new Error(`tags: cannot read “${src.slice(last).trim()}” (use key=value, space-separated)`);
  return out;
}

export async function render(root, ctx) {
  const p = ctx.params;
  const range = timeRange(p);
  root.append(h("h1", null, "Traces"));
  let services = [];
  try {
    services = (await api("/api/services")).data || [];
  } catch (e) {
    root.append(errorBox(e));
  }
  const service = p.get("service") || services[0] || "";
  let ops = [];
  if (service) {
    try {
      ops = (await api(`/api/services/${encodeURIComponent(service)}/operations`)).data || [];
    } catch { /* the form still works without the list */ }
  }
  const v = (k, d = "") => p.get(k) || d;
  const form = h(
    "form",
    { class: "search", id: "trace-search", onsubmit: (e) => {
      e.preventDefault();
      const f = form.elements;
      const err = form.querySelector(".form-error");
      err.textContent = "";
      try {
        parseTags(f.tags.value);
        for (const k of ["minDuration", "maxDuration"]) if (f[k].value && Number.isNaN(parseDurationUs(f[k].value))) throw new Error(`${k}: use a duration such as 100ms, 1.5s or 500us`);
      } catch (x) {
        err.textContent = x.message;
        return;
      }
      setParams({ service: f.service.value, operation: f.operation.value, tags: f.tags.value.trim(), minDuration: f.minDuration.value.trim(), maxDuration: f.maxDuration.value.trim(), status: f.status.value === "any" ? "" : f.status.value, limit: f.limit.value === "20" ? "" : f.limit.value });
    } },
    h("label", null, "Service", h("select", { name: "service", onchange: () => loadOps(form.elements.service.value) }, services.map((x) => h("option", { value: x, selected: x === service }, x)))),
    h("label", null, "Operation", h("select", { name: "operation" }, h("option", { value: "" }, "all"), ops.map((x) => h("option", { value: x, selected: x === v("operation") }, x)))),
    h("label", { class: "wide" }, "Tags", h("input", { name: "tags", "data-query": "", placeholder: "key=value key2=value2", value: v("tags") })),
    h("label", null, "Min duration", h("input", { name: "minDuration", placeholder: "e.g. 100ms", value: v("minDuration"), size: 8 })),
    h("label", null, "Max duration", h("input", { name: "maxDuration", placeholder: "e.g. 2s", value: v("maxDuration"), size: 8 })),
    h("label", null, "Status", h("select", { name: "status" }, ["any", "error", "ok"].map((x) => h("option", { value: x, selected: x === v("status", "any") }, x)))),
    h("label", null, "Limit", h("input", { name: "limit", type: "number", min: 1, max: 1500, value: v("limit", "20"), size: 5 })),
    h("button", { type: "submit", class: "primary" }, "Find traces"),
    h("p", { class: "form-error", role: "alert" }),
  );
  // a new service: its operations replace the list in place (the search runs on submit)
  const loadOps = async (svc) => {
    const sel = form.elements.operation;
    let list = [];
    try {
      list = (await api(`/api/services/${encodeURIComponent(svc)}/operations`)).data || [];
    } catch { /* keep "all" */ }
    if (form.elements.service.value !== svc) return;
    sel.replaceChildren(h("option", { value: "" }, "all"), ...list.map((x) => h("option", { value: x }, x)));
  };
  root.append(form);
  if (!service) {
    root.append(message("No services yet: no traces have arrived in the store."));
    return;
  }
  let tags;
  try {
    tags = parseTags(v("tags"));
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  // status is per trace (any span failed, or none did), so it is filtered here: a
  // span-level `error=true` tag would only match the chosen service's own spans
  const status = v("status", "any");
  const limit = Number(v("limit", "20")) || 20;
  let data;
  try {
    const b = await api("/api/traces", {
      service,
      operation: v("operation"),
      tags: Object.keys(tags).length ? JSON.stringify(tags) : "",
      minDuration: v("minDuration"),
      maxDuration: v("maxDuration"),
      start: range.start * 1000,
      end: range.end * 1000,
      limit: status === "any" ? limit : Math.min(1500, Math.max(100, limit * 5)),
    });
    data = b.data || [];
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  let list = data.filter((t) => t.spans && t.spans.length).map(summary);
  if (status === "ok") list = list.filter((t) => t.errors === 0);
  if (status === "error") list = list.filter((t) => t.errors > 0);
  list.sort((a, b) => b.start - a.start);
  list = list.slice(0, limit);
  if (!list.length) {
    root.append(message("No traces match this search in the selected time range."));
    return;
  }
  const open = (t) => navigate(href(`trace/${t.id}`));
  root.append(
    h(
      "section",
      { class: "card" },
      scatter(
        list.map((t) => ({ t: t.start / 1000, v: t.duration, error: t.errors > 0, label: `${t.rootService}: ${t.name} ${fmtDuration(t.duration)} (${t.id})`, onclick: () => open(t) })),
        { fmt: fmtDuration },
      ),
    ),
    h("p", { class: "muted" }, `${list.length} trace${list.length === 1 ? "" : "s"}`),
    h(
      "ol",
      { class: "traces", id: "trace-list" },
      list.map((t) =>
        h(
          "li",
          { class: t.errors ? "error" : null, "data-trace": t.id },
          h(
            "div",
            { class: "row1" },
            link(`trace/${t.id}`, {}, h("strong", null, `${t.rootService}: ${t.name}`), " ", h("code", { class: "tid" }, t.id.slice(0, 8))),
            h("span", { class: "dur" }, fmtDuration(t.duration)),
          ),
          h(
            "div",
            { class: "row2" },
            h("span", null, `${t.spans} spans`),
            t.errors ? h("span", { class: "badge error" }, `⚠ ${t.errors} error${t.errors > 1 ? "s" : ""}`) : null,
            [...t.services].map(([n, c]) => h("span", { class: "pill" }, `${n} (${c})`)),
            h("span", { class: "when" }, fmtTime(t.start / 1000, true)),
          ),
        ),
      ),
    ),
  );
}
