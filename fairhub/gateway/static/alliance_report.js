/* The alliance's report in the secretary's browser: fetch report.html with the secretary token
 * this browser keeps (typed in the form, or handed over once in the fragment #token=…), then
 * show that document in place of this shell, ready to print. The token never enters an address.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, store, bearer} = window.FairHub;
const key = "fairhub.alliance.token." + cfg.alliance;

function say(text) { $("report-state").textContent = text; }

function ask(text) {
  say(text);
  $("login-error").textContent = text;
  $("login").hidden = false;
  $("login-token").focus();
}

async function open() {
  const token = store.get(key);
  if (!token) { ask(L.no_token); return; }
  say(L.loading);
  const lang = cfg.lang === "en" ? "?lang=en" : "";
  let r;
  try {
    r = await fetch(`/v1/alliances/${cfg.alliance}/report.html${lang}`,
      {headers: bearer(token), cache: "no-store"});
  } catch (e) {
    say(L.failed);
    return;
  }
  if (r.status === 401 || r.status === 403) {
    store.drop(key);
    ask(r.status === 401 ? L.bad_token : L.forbidden);
    return;
  }
  if (!r.ok) {
    say(r.status === 404 ? L.no_alliance : L.failed);
    return;
  }
  // The report is a whole document (its own title and print styles) with no script in it.
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  document.documentElement.replaceWith(document.adoptNode(doc.documentElement));
  document.documentElement.dataset.ready = "report";
}

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  store.set(key, fragment.get("token").trim());
  history.replaceState(null, "", location.pathname + location.search);
}
$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const typed = $("login-token").value.trim();
  if (!typed) return;
  store.set(key, typed);
  $("login").hidden = true;
  open();
});
open();
})();
