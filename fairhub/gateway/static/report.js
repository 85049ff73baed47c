/* The report in the browser: fetch report.html with the organizer token this browser keeps for
 * the fair (the dashboard's), then show that document in place of this shell, ready to print.
 * A token handed over once in the fragment (#token=…) is kept and removed from the address.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, store, bearer} = window.FairHub;
const key = "fairhub.dashboard.token." + cfg.fair;  // the dashboard keeps it under this name

function fail(text) {
  $("report-state").textContent = text;
  $("to-dashboard").hidden = false;
}

async function open() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    store.set(key, fragment.get("token").trim());
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = store.get(key);
  if (!token) { fail(L.no_token); return; }
  const lang = cfg.lang === "en" ? "?lang=en" : "";
  let r;
  try {
    r = await fetch(`/v1/fairs/${cfg.fair}/report.html${lang}`,
      {headers: bearer(token), cache: "no-store"});
  } catch (e) {
    fail(L.failed);
    return;
  }
  if (!r.ok) {
    const reasons = {401: L.bad_token, 403: L.forbidden, 404: L.no_fair};
    fail(reasons[r.status] || L.failed);
    return;
  }
  // The report is a whole document (its own title and print styles) with no script in it.
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  document.documentElement.replaceWith(document.adoptNode(doc.documentElement));
  document.documentElement.dataset.ready = "report";
}

open();
})();
