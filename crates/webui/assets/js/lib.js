// Shared helpers: DOM building without innerHTML (every string goes through textContent or
// setAttribute), API requests with readable errors, time-range parsing, number formats.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "value" && "value" in el) el.value = v;
    else if (k === "checked" || k === "selected") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** h("div", {class: "x"}, "text", child, [more]) */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

/** An SVG element, same calling convention as h. */
export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  append(el, kids);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function message(text, kind = "empty") {
  return h("div", { class: ["msg", kind], role: kind === "error" ? "alert" : null }, text);
}

export function errorBox(err) {
  return message(`Error: ${err && err.message ? err.message : String(err)}`, "error");
}

// ---- API -------------------------------------------------------------------------------
export class ApiError extends Error {}
const API_TIMEOUT_MS = 30000;

/** GET path?params → parsed JSON; throws ApiError with the server's message. */
export async function api(path, params) {
  const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
  const url = path + (qs ? "?" + qs : "");
  let r;
  try {
    r = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(API_TIMEOUT_MS) });
  } catch (e) {
    if (e.name === "TimeoutError") throw new ApiError(`${path}: no answer within ${API_TIMEOUT_MS / 1000} s`);
    throw new ApiError(`${path}: request failed (${e.message}); is ferrotel running?`);
  }
  const text = await r.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!r.ok) {
    const why = (body && (body.error || (body.errors && body.errors[0] && body.errors[0].msg))) || text.trim() || r.statusText;
    throw new ApiError(`${path}: ${r.status} ${why}`);
  }
  if (body && body.status === "error") throw new ApiError(`${path}: ${body.error}`);
  if (body === null) throw new ApiError(`${path}: the answer is not JSON`);
  return body;
}

/** Prometheus instant query → result array. */
export async function prom(query, time) {
  const b = await api("/api/v1/query", { query, time });
  return b.data.result || [];
}

/** Prometheus range query → matrix. */
export async function promRange(query, range, step) {
  const b = await api("/api/v1/query_range", { query, start: range.start / 1000, end: range.end / 1000, step: step || range.step });
  return b.data.result || [];
}

// ---- time range ----------------------------------------------------------------------------
export const PRESETS = [
  ["now-5m", "Last 5m"],
  ["now-15m", "Last 15m"],
  ["now-1h", "Last 1h"],
  ["now-6h", "Last 6h"],
  ["now-24h", "Last 24h"],
];
const UNIT_MS = { s: 1e3, m: 6e4, h: 36e5, d: 864e5 };

/** "now", "now-15m" or epoch ms → epoch ms (NaN when unreadable). */
export function parseTime(v, now = Date.now()) {
  if (v === undefined || v === null || v === "" || v === "now") return now;
  const m = /^now-(\d+)([smhd])$/.exec(v);
  if (m) return now - Number(m[1]) * UNIT_MS[m[2]];
  if (/^\d+$/.test(v)) return Number(v);
  const d = Date.parse(v);
  return Number.isNaN(d) ? NaN : d;
}

/** The URL's time range: {from, to, start, end (ms), seconds, step (s), promRange ("5m")}. */
export function timeRange(params = new URLSearchParams(location.search)) {
  const from = params.get("from") || "now-1h";
  const to = params.get("to") || "now";
  const now = Date.now();
  let start = parseTime(from, now);
  let end = parseTime(to, now);
  if (!(start < end)) {
    start = now - 36e5;
    end = now;
  }
  const seconds = Math.max(1, Math.round((end - start) / 1000));
  // about 60 points per chart, at least 15 s (the derived metrics' flush interval)
  const step = Math.max(15, Math.ceil(seconds / 60));
  return { from, to, start, end, seconds, step, window: `${seconds}s` };
}

// ---- formats ---------------------------------------------------------------------------------
export function fmtDuration(us) {
  if (us === null || us === undefined || Number.isNaN(us)) return "–";
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1e6) return `${+(us / 1000).toFixed(us < 1e4 ? 2 : 1)}ms`;
  return `${+(us / 1e6).toFixed(2)}s`;
}
export function fmtSeconds(sec) {
  return sec === null || sec === undefined || Number.isNaN(sec) ? "–" : fmtDuration(sec * 1e6);
}
export function fmtNum(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e9) return `${+(x / 1e9).toPrecision(digits)}G`;
  if (a >= 1e6) return `${+(x / 1e6).toPrecision(digits)}M`;
  if (a >= 1e4) return `${+(x / 1e3).toPrecision(digits)}k`;
  return `${+x.toPrecision(digits)}`;
}
export function fmtPct(x) {
  return x === null || x === undefined || Number.isNaN(x) ? "–" : `${+(x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1)}%`;
}
export function fmtTime(ms, withDate = false) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  const t = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  return withDate ? `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${t}` : t;
}

/** A PromQL/LogQL string literal. */
export function q(v) {
  return JSON.stringify(String(v));
}

/** Parses "1.2s", "100ms", "500us", "2m" → µs (NaN when unreadable). */
export function parseDurationUs(v) {
  const m = /^\s*([\d.]+)\s*(us|µs|ms|s|m|h)?\s*$/.exec(v || "");
  if (!m) return NaN;
  const mult = { us: 1, "µs": 1, ms: 1e3, s: 1e6, m: 6e7, h: 36e8 }[m[2] || "ms"];
  return Number(m[1]) * mult;
}

/** A 32-hex trace id found in a log record: its trace_id field, or trace_id=/traceID= in the body. */
const BODY_TRACE = /\b(?:trace_?id|traceID)["']?\s*[=:]\s*["']?([0-9a-fA-F]{32})\b/i;
export function traceIdOf(labels, line) {
  const t = labels && (labels.trace_id || labels.traceid || labels.traceID);
  if (t && /^[0-9a-fA-F]{32}$/.test(t)) return t.toLowerCase();
  const m = BODY_TRACE.exec(line || "");
  return m ? m[1].toLowerCase() : null;
}
