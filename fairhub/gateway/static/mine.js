/* FairHub, "my page" on a seeker's phone: the entry code, the résumé, the applications.
 *
 * The page itself carries everything shown (the code is an SVG inside it); a service worker
 * keeps a copy on the phone, so the entry code opens at the gate without a network. Actions
 * (replace the résumé, withdraw, delete my data) ask twice where they cannot be undone, then
 * reload the page from the server.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $} = window.FairHub;
if (cfg.page !== "me") return;
const fair = cfg.fair;
const scope = `/p/${fair}/`;

if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register(cfg.sw, {scope}).catch(() => { /* online only, then */ });
}

function say(node, text, ok) {
  node.textContent = text;
  node.className = "outcome " + (ok ? "ok" : "err");
}

function describe(status, j) {
  let text = status === 413 ? L.too_big : status === 429 || status >= 500 ? L.later : L.failed;
  if (j && j.detail) text += ": " + j.detail;
  return text;
}

async function call(method, path, body) {
  const r = await fetch(`/p/${fair}${path}`, {method, body});
  let j = null;
  try { j = await r.json(); } catch (e) { /* 204, or not JSON */ }
  if (r.status === 401) location.reload();  // the sign-in ended: the server says where to go
  return {r, j};
}

/* Ask twice: the first press arms the button for a few seconds. */
function twice(button, confirmText, act) {
  const label = button.textContent;
  let armed = 0;
  button.addEventListener("click", async () => {
    if (!armed) {
      button.textContent = confirmText;
      armed = setTimeout(() => { armed = 0; button.textContent = label; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = 0;
    button.disabled = true;
    try { await act(); } finally { button.disabled = false; button.textContent = label; }
  });
}

const resumeForm = $("resume-form"), resumeOut = $("resume-answer");
resumeForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("resume-file").files[0];
  if (!file) return say(resumeOut, L.need_file, false);
  const body = new FormData();
  body.set("file", file);
  say(resumeOut, L.uploading, true);
  try {
    const {r, j} = await call("PUT", "/me/resume", body);
    if (!r.ok) return say(resumeOut, describe(r.status, j), false);
    say(resumeOut, L.uploaded_ok, true);
    location.reload();
  } catch (e) {
    say(resumeOut, L.network, false);
  }
});

for (const button of document.querySelectorAll("[data-withdraw]")) {
  twice(button, L.confirm_withdraw, async () => {
    try {
      const {r} = await call("DELETE", `/applications/${encodeURIComponent(button.dataset.withdraw)}`);
      if (r.ok) location.reload();
    } catch (e) { /* offline: nothing changed */ }
  });
}

twice($("erase"), L.confirm_delete, async () => {
  const out = $("erase-answer");
  try {
    const {r, j} = await call("DELETE", "/me");
    if (!r.ok) return say(out, describe(r.status, j), false);
  } catch (e) {
    return say(out, L.network, false);
  }
  // Nothing of the seeker stays on this phone either: the kept copy of this page goes too.
  try { await caches.delete(`fairhub-${fair}`); } catch (e) { /* no cache storage */ }
  try {
    const registration = await navigator.serviceWorker.getRegistration(scope);
    if (registration) await registration.unregister();
  } catch (e) { /* no service worker */ }
  say(out, L.deleted, true);
  location.replace(`/p/${fair}?from=me`);
});
})();
