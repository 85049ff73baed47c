/* FairHub, the employer's and position's phone page (what a booth's code opens): apply in one
 * tap with the résumé kept by this fair's sign-up; or, without a sign-up, with a badge's code.
 *
 * The page asks who the phone is (GET /p/{fair}/me.json, the sign-up's cookie): signed up with a
 * résumé, each "apply" is one POST; signed up without one, the page asks for the file once;
 * not signed up, "apply" leads to the fair's sign-up and back here.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, fill, store} = window.FairHub;
if (cfg.page !== "booth") return;
const fair = cfg.fair;
let me = null;  // the signed-in seeker (me.json), or null
let pending = null;  // what "apply" was tapped on while the résumé was missing
const done = new Set();  // positions (and "employer") applied to
let toastTimer = 0;

function toast(text, ok) {
  const node = $("toast");
  node.textContent = text;
  node.className = "toast" + (ok ? "" : " err");
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 4000);
}

function describe(status, j, form) {
  let text = status === 413 ? L.too_big : status === 429 || status >= 500 ? L.later : L.failed;
  if (j && j.detail) text += ": " + j.detail;
  const fields = j && Array.isArray(j.fields) ? j.fields : [];
  for (const f of fields) {
    const input = form && form.elements[f];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
  return fields.length ? `${text} (${L.fields}: ${fields.join(", ")})` : text;
}

async function json(r) {
  try { return await r.json(); } catch (e) { return null; }
}

const keyOf = (button) => button.dataset.apply || "employer";

function paint() {
  for (const button of document.querySelectorAll("button.apply")) {
    const applied = done.has(keyOf(button));
    button.classList.toggle("done", applied);
    button.disabled = applied;
    if (button.dataset.apply) button.textContent = applied ? L.applied : L.apply_short;
  }
  const link = $("me-link");
  const back = encodeURIComponent(location.pathname + location.search);
  if (me) {
    link.textContent = `${fill(L.hello, {name: me.seeker.name})} · ${L.my_page}`;
    link.href = `/p/${fair}/me#applications`;
  } else {
    link.textContent = L.signup_to_apply;
    link.href = `${cfg.signup}?next=${back}`;
  }
}

async function whoAmI() {
  try {
    const r = await fetch(`/p/${fair}/me.json`, {cache: "no-store"});
    me = r.ok ? await r.json() : null;
  } catch (e) { return; }
  if (me) {
    for (const a of me.applications || []) {
      if (a.status === "withdrawn" || a.employer_id !== cfg.employer.id) continue;
      done.add(a.position_id || "employer");
    }
  }
  paint();
}

async function apply(target) {
  if (!me) {
    location.href = $("me-link").href;
    return;
  }
  if (!me.resume) {
    pending = target;
    $("resume-panel").hidden = false;
    $("resume-panel").scrollIntoView({behavior: "smooth", block: "center"});
    $("resume-file").focus({preventScroll: true});
    return;
  }
  const body = target === "employer" ? {employer_id: cfg.employer.id} : {position_id: target};
  body.channel = cfg.channel;
  try {
    const r = await fetch(`/p/${fair}/applications`, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    const j = await json(r);
    if (r.ok) {
      done.add(target);
      paint();
      return toast(r.status === 201 ? fill(L.sent, {name: cfg.employer.name}) : L.again, true);
    }
    if (r.status === 401) { me = null; paint(); return apply(target); }
    if (j && j.error === "no_resume") { me.resume = null; return apply(target); }
    toast(describe(r.status, j, null), false);
  } catch (e) {
    toast(L.network, false);
  }
}

async function uploadThenApply() {
  const out = $("resume-answer"), button = $("upload-apply");
  const file = $("resume-file").files[0];
  const say = (text, ok) => { out.textContent = text; out.className = "outcome " + (ok ? "ok" : "err"); };
  if (!file) return say(L.need_file, false);
  const body = new FormData();
  body.set("file", file);
  button.disabled = true;
  say(L.sending, true);
  try {
    const r = await fetch(`/p/${fair}/me/resume`, {method: "PUT", body});
    const j = await json(r);
    if (!r.ok) return say(describe(r.status, j, null), false);
    me.resume = j;
    say(fill(L.resume_kept, {name: j.filename || ""}), true);
    $("resume-panel").hidden = true;
    if (pending) await apply(pending);
  } catch (e) {
    say(L.network, false);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button.apply");
  if (button && !button.disabled) apply(keyOf(button));
});
$("upload-apply").addEventListener("click", uploadThenApply);

/* ---------- With a badge's code: the résumé form of seekers who did not sign up ---------- */

const form = $("apply"), out = $("answer");
if (form) {
  const badge = form.elements.badge, button = form.querySelector("button");
  let sending = null;  // the id of the submission being tried: a retry reuses it
  badge.value = store.get(cfg.badge_key);
  form.addEventListener("input", (ev) => { sending = null; ev.target.removeAttribute("aria-invalid"); });
  const say = (text, ok) => { out.textContent = text; out.className = ok ? "ok" : "err"; };
  const newId = () => "r" + Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (x) => x.toString(16).padStart(2, "0")).join("");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const code = badge.value.replace(/\s+/g, "").toUpperCase(), file = form.elements.file.files[0];
    if (!code) return say(L.need_badge, false);
    if (!file) return say(L.need_file, false);
    store.set(cfg.badge_key, code);
    sending = sending || newId();
    const body = new FormData(form);  // id, employer_id and channel are hidden fields, first
    body.set("id", sending);
    body.set("badge", code);
    if (!body.get("position_id")) body.delete("position_id");
    button.disabled = true;
    say(L.sending, true);
    try {
      const r = await fetch(form.action, {method: "POST", body, credentials: "same-origin"});
      const j = await json(r);
      if (r.ok) { say(r.status === 201 ? fill(L.sent, {name: cfg.employer.name}) : L.again, true); sending = null; }
      else say(describe(r.status, j, form), false);
    } catch (e) { say(L.network, false); } finally { button.disabled = false; }
  });
}

paint();
whoAmI();
})();
