// The app shell: top navigation, the shared time range and refresh controls (kept in the URL
// and carried across links), client-side routing with the History API, keyboard shortcuts.

import { h, clear, errorBox, PRESETS, parseTime } from "./lib.js";
import { href, navigate, setParams, link, onNavigate } from "./nav.js";
import * as services from "./pages/services.js";
import * as graph from "./pages/graph.js";
import * as traces from "./pages/traces.js";
import * as trace from "./pages/trace.js";
import * as logs from "./pages/logs.js";
import * as metrics from "./pages/metrics.js";
import * as collector from "./pages/collector.js";

const NAV = [
  ["services", "Services", services],
  ["graph", "Graph", graph],
  ["traces", "Traces", traces],
  ["logs", "Logs", logs],
  ["metrics", "Metrics", metrics],
  ["collector", "Collector", collector],
];
const PAGES = Object.fromEntries(NAV.map(([k, , m]) => [k, m]));
PAGES.trace = trace;
const REFRESH = [["", "Off"], ["5s", "5s"], ["10s", "10s"], ["30s", "30s"]];

let current = null; // {page, cleanup, key}
let generation = 0;
let timer = null;

function parse() {
  const parts = location.pathname.replace(/^\/ui\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "services", args: parts.slice(1), params: new URLSearchParams(location.search) };
}

function renderNav(name) {
  const nav = clear(document.getElementById("nav"));
  for (const [key, label] of NAV) {
    const active = key === name || (key === "traces" && name === "trace");
    nav.appendChild(h("a", { href: href(key), "data-nav": "", class: active ? "active" : null, "aria-current": active ? "page" : null }, label));
  }
}

function renderControls(params) {
  const box = clear(document.getElementById("controls"));
  const from = params.get("from") || "now-1h";
  const to = params.get("to") || "now";
  const isPreset = to === "now" && PRESETS.some(([v]) => v === from);
  const sel = h(
    "select",
    { id: "range", "aria-label": "Time range", onchange: (e) => {
      if (e.target.value === "custom") {
        custom.hidden = false;
        custom.querySelector("input").focus();
      } else setParams({ from: e.target.value, to: "now" });
    } },
    PRESETS.map(([v, l]) => h("option", { value: v, selected: isPreset && v === from }, l)),
    h("option", { value: "custom", selected: !isPreset }, "Custom…"),
  );
  const toLocal = (ms) => {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 6e4);
    return d.toISOString().slice(0, 19);
  };
  const now = Date.now();
  const custom = h(
    "form",
    { class: "custom", hidden: isPreset, onsubmit: (e) => {
      e.preventDefault();
      const f = Date.parse(custom.elements.from.value);
      const t = Date.parse(custom.elements.to.value);
      if (Number.isNaN(f) || Number.isNaN(t) || f >= t) {
        custom.elements.from.setCustomValidity("from must be before to");
        custom.reportValidity();
        return;
      }
      setParams({ from: String(f), to: String(t) });
    } },
    h("input", { name: "from", type: "datetime-local", step: "1", "aria-label": "From", value: toLocal(parseTime(from, now)), oninput: (e) => e.target.setCustomValidity("") }),
    h("span", null, "→"),
    h("input", { name: "to", type: "datetime-local", step: "1", "aria-label": "To", value: toLocal(parseTime(to, now)) }),
    h("button", { type: "submit" }, "Apply"),
  );
  const refresh = h(
    "select",
    { id: "refresh", "aria-label": "Refresh every", onchange: (e) => setParams({ refresh: e.target.value }, false) },
    REFRESH.map(([v, l]) => h("option", { value: v, selected: (params.get("refresh") || "") === v }, `⟳ ${l}`)),
  );
  const now_ = h("button", { type: "button", title: "Refresh now", "aria-label": "Refresh now", onclick: () => route({ refresh: true }) }, "⟳");
  box.append(sel, custom, refresh, now_);
}

function typingInMain() {
  const a = document.activeElement;
  return !!a && ["INPUT", "TEXTAREA", "SELECT"].includes(a.tagName) && !!a.closest("main");
}

let lastPath = null;

/** Renders the view of the current URL. `refresh` re-renders the same view in place. */
export async function route({ refresh = false } = {}) {
  const { name, args, params } = parse();
  const page = PAGES[name];
  const gen = ++generation;
  const key = location.pathname + location.search;
  if (!refresh || !current || current.key !== key) {
    renderNav(name);
    renderControls(params);
  }
  if (current && current.cleanup) {
    try {
      current.cleanup();
    } catch { /* a page's cleanup must not stop the next page */ }
  }
  current = { page, cleanup: null, key };
  clearInterval(timer);
  const every = { "5s": 5e3, "10s": 1e4, "30s": 3e4 }[params.get("refresh") || ""];
  // auto-refresh skips a tick while the user types in the page (it would reset the form)
  if (every) timer = setInterval(() => !typingInMain() && route({ refresh: true }), every);
  const main = document.getElementById("main");
  // aria-busy while the view loads; data-url names the URL the shown view was rendered for
  main.setAttribute("aria-busy", "true");
  if (!page) {
    main.setAttribute("aria-busy", "false");
    main.dataset.url = key;
    clear(main).append(h("h1", null, "Not found"), h("p", null, `There is no page “${name}”. `, link("services", {}, "Go to Services")));
    return;
  }
  document.title = `${name} · ferrotel`;
  const ctx = {
    args,
    params,
    alive: () => gen === generation,
    refresh,
  };
  // pages render into a new container that replaces the old one when the first paint is ready,
  // so a refresh does not flash an empty page
  const root = h("div", { class: `page page-${name}` });
  try {
    const cleanup = await page.render(root, ctx);
    if (gen !== generation) {
      if (typeof cleanup === "function") cleanup();
      return;
    }
    current.cleanup = cleanup || null;
  } catch (e) {
    console.error(e);
    if (gen !== generation) return;
    root.append(errorBox(e));
  }
  // a refresh, or a new query on the same view (a selected span, a filter), keeps the scroll
  const same = refresh || lastPath === location.pathname;
  lastPath = location.pathname;
  const keepScroll = window.scrollY;
  clear(main).append(root);
  window.scrollTo(0, same ? keepScroll : 0);
  main.dataset.url = key;
  main.setAttribute("aria-busy", "false");
  const auto = root.querySelector("[data-autofocus]");
  if (auto && !refresh) auto.focus({ preventScroll: true });
}

// clicks on client-routed links
document.addEventListener("click", (e) => {
  const a = e.target.closest && e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui/") || url.pathname.startsWith("/ui/assets/")) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
  document.getElementById("main").focus({ preventScroll: true });
});

window.addEventListener("popstate", () => route());

// `/` focuses the page's query box; Escape leaves it
document.addEventListener("keydown", (e) => {
  const t = e.target;
  const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
    const box = document.querySelector("[data-query]");
    if (box) {
      e.preventDefault();
      box.focus();
      if (box.select) box.select();
    }
  } else if (e.key === "Escape" && typing && t.blur) t.blur();
});

onNavigate(route);
route();
