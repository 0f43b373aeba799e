// Links and navigation inside the app: every view is a /ui URL; the shared time range and
// refresh params travel with every link.

import { h } from "./lib.js";

let router = () => {};
/** app.js registers its router here (pages import this module, not app.js). */
export function onNavigate(fn) {
  router = fn;
}

export const SHARED = ["from", "to", "refresh"];

/** A /ui URL carrying the shared params of the current URL, plus `params` (empty ones dropped). */
export function href(path, params = {}) {
  const cur = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const k of SHARED) if (cur.get(k) && !(k in params)) out.set(k, cur.get(k));
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") out.set(k, String(v));
  const qs = out.toString();
  return `/ui/${path.replace(/^\/+/, "")}${qs ? "?" + qs : ""}`;
}

/** Go to a /ui URL (push, or replace when the view stays the same). */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  router();
}

/** Changes query params of the current view in place (no new history entry unless push). */
export function setParams(params, push = true) {
  const cur = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") cur.delete(k);
    else cur.set(k, String(v));
  }
  const qs = cur.toString();
  navigate(location.pathname + (qs ? "?" + qs : ""), { replace: !push });
}

/** An <a> that routes on the client. */
export function link(path, params, ...kids) {
  return h("a", { href: href(path, params), "data-nav": "" }, ...kids);
}

