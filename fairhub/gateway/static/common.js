/* FairHub pages' shared ground, loaded before each page's own script: the settings the page
 * shell put in #cfg, DOM and number helpers, and what this browser keeps (tokens, badges).
 * Everything is on window.FairHub. No framework, no CDN, no build step.
 */
(() => {
"use strict";

const cfgNode = document.getElementById("cfg");
if (!cfgNode) return;
const cfg = JSON.parse(cfgNode.textContent);
const locale = cfg.lang === "en" ? "en-GB" : "zh-CN";
const numbers = new Intl.NumberFormat(cfg.lang === "en" ? "en-US" : "zh-CN");
const fmt = (n) => (typeof n === "number" && Number.isFinite(n) ? numbers.format(n) : "—");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/* A figure that changed flashes once, so an eye on the projector catches it. */
function setNumber(node, value) {
  const text = fmt(value);
  if (node.textContent === text) return;
  const first = node.textContent === "—";
  node.textContent = text;
  if (first) return;
  node.classList.remove("changed");
  void node.offsetWidth;  // restart the highlight
  node.classList.add("changed");
}

/* localStorage that never throws (private mode, full disk): what cannot be kept is asked again. */
const store = {
  get(key) { try { return localStorage.getItem(key) || ""; } catch (e) { return ""; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* not kept */ } },
  drop(key) { try { localStorage.removeItem(key); } catch (e) { /* not kept */ } },
};

window.FairHub = Object.freeze({
  cfg,
  L: cfg.labels,
  $: (id) => document.getElementById(id),
  locale,
  fmt,
  fill: (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? "")),
  hhmm: new Intl.DateTimeFormat(locale, {hour: "2-digit", minute: "2-digit", hour12: false}),
  hhmmss: new Intl.DateTimeFormat(locale, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  }),
  day: new Intl.DateTimeFormat(locale, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
  }),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  el,
  setNumber,
  store,
  bearer: (token) => ({Authorization: "Bearer " + token}),
});
})();
