/* FairHub livestream, the viewer's phone page: the position on show, the session's positions,
 * apply in one tap, ask an employer about a position.
 *
 * No login to watch: a viewer id the server issued and signed, kept in this browser, says who
 * is watching (join on load, a beat while the page is visible, leave on the way out); a kept
 * id is checked with the server once per page load, and one it does not know (an old random
 * id, another fair's) is replaced. The session arrives over
 * Server-Sent Events, so a host's start, pin and stop show within a moment; a beat's answer
 * names the pinned position too, the fallback where the stream cannot stay open. Applying
 * uses the seeker's sign-up on this fair (a cookie of the fair's pages) and the résumé kept
 * there: one tap. Without them the sheet asks for what is missing (or a badge code).
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, fill, sleep, el, store} = window.FairHub;
const session = cfg.session;
const base = "/live/" + session;

const hex = (bytes) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)),
  (x) => x.toString(16).padStart(2, "0")).join("");
const newId = (prefix) => prefix + hex(16);

const viewerKey = "fairhub.live.viewer";
let viewer = null;  // the server's id for this phone, once checked on this page load

async function ensureViewer() {  // the kept id if the server issued it, else a new one
  if (viewer) return true;
  const kept = store.get(viewerKey);
  const body = /^[\w.:@-]{8,64}$/.test(kept) ? {viewer_id: kept} : {};
  try {
    const r = await fetch(base + "/viewer", {
      method: "POST", cache: "no-store", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    if (!r.ok) return false;  // 429: too many new viewers from this network; the next beat
    viewer = (await r.json()).viewer_id;
    store.set(viewerKey, viewer);
    return true;
  } catch (e) {
    return false;
  }
}

async function refusedViewer(r) {  // the server no longer takes our id: get another next time
  if (r.status !== 403) return false;
  let j = null;
  try { j = await r.clone().json(); } catch (e) { return false; }
  if (!j || !(j.fields || []).includes("viewer_id")) return false;
  viewer = null;
  store.set(viewerKey, "");
  return true;
}

let doc = null;  // the session's public JSON
let shown;  // the pinned position on screen: undefined before the first render, null for none
let beatMs = 30000, timer = 0, beating = false, gone = false;
const appliedKey = "fairhub.live.applied." + session;
const applied = new Set(store.get(appliedKey).split(" ").filter(Boolean));

let me = null;  // the signed-in seeker of this fair (/p/{fair}/me.json), or null
const pinnedId = (d) => (d && d.pinned ? d.pinned.position_id || d.pinned.id || null : null);
const positionOf = (id) => (doc.positions || []).find((p) => p.id === id);
const employerName = (id) => ((doc.employers || []).find((e) => e.id === id) || {}).name || "";

/* ---------- Rendering ---------- */

function meta(p) {
  return [p.job_type, p.headcount ? fill(L.headcount, {n: p.headcount}) : ""]
    .filter(Boolean).join(" · ");
}

function actions(p, big) {
  const box = el("div", big ? "actions big" : "actions");
  const apply = el("button", "primary", big ? L.apply : L.apply_short);
  apply.type = "button";
  apply.dataset.apply = p.id;
  const ask = el("button", "secondary", L.ask);
  ask.type = "button";
  ask.dataset.ask = p.employer_id;
  ask.dataset.position = p.id;
  box.append(apply, ask);
  return box;
}

function tags(p) {
  const box = el("span", "tags");
  if (p.id === pinnedId(doc)) box.append(el("span", "tag on", L.on_show));
  if (applied.has(p.id)) box.append(el("span", "tag done", L.applied));
  return box;
}

function renderPinned() {
  const id = pinnedId(doc);
  const card = $("pinned");
  $("no-pin").hidden = Boolean(id);
  card.hidden = !id;
  const moved = shown !== undefined && id !== shown;
  shown = id;
  if (!id) return;
  const p = {...doc.pinned, ...(positionOf(id) || {}), id};
  const air = el("p", "on-air");
  air.append(el("span", "dot"), el("span", "", L.on_air));
  const title = el("h2", "p-title", p.title || "");
  title.append(tags(p));
  card.dataset.position = id;
  card.replaceChildren(air, title,
    el("p", "p-employer", p.employer_name || employerName(p.employer_id)),
    el("p", "p-meta", meta(p)), actions(p, true));
  if (!moved) return;
  card.classList.remove("arrive");
  void card.offsetWidth;  // restart the entrance
  card.classList.add("arrive");
  if (card.getBoundingClientRect().bottom < 0) {  // scrolled away: say so, one tap goes back
    $("pin-notice").textContent = fill(L.pin_notice, {title: p.title || ""});
    $("pin-notice").hidden = false;
  }
}

function renderGroups() {
  const positions = doc.positions || [];
  const employers = (doc.employers || []).filter((e) =>
    positions.some((p) => p.employer_id === e.id));
  $("positions-note").textContent = positions.length
    ? fill(L.employers_note, {e: employers.length, n: positions.length}) : "";
  $("no-positions").hidden = positions.length > 0;
  $("groups").replaceChildren(...employers.map((e) => {
    const group = el("section", "group");
    group.dataset.employer = e.id;
    const list = el("ul", "jobs");
    for (const p of positions.filter((x) => x.employer_id === e.id)) {
      const li = el("li", p.id === pinnedId(doc) ? "job is-pinned" : "job");
      li.dataset.position = p.id;
      const text = el("div", "job-text");
      const title = el("p", "job-title", p.title);
      title.append(tags(p));
      text.append(title, el("p", "job-meta", meta(p)));
      li.append(text, actions(p, false));
      list.append(li);
    }
    group.append(el("h3", "", e.name), list);
    return group;
  }));
}

function render() {
  $("title").textContent = doc.title || "";
  document.title = `${doc.title || ""} · ${L.brand}`;
  $("state").dataset.status = doc.status || "";
  $("state").textContent = L[doc.status] || "";
  const url = typeof doc.stream_url === "string" && /^https?:\/\//i.test(doc.stream_url)
    ? doc.stream_url : "";
  $("watch").hidden = !url;
  if (url) $("watch").href = url;
  renderPinned();
  renderGroups();
}

function missing() {
  gone = true;
  clearTimeout(timer);
  $("live").hidden = true;
  $("missing").hidden = false;
  $("title").textContent = L.not_found;
  document.title = L.not_found;
}

/* ---------- The session and presence ---------- */

function fairLink() {  // the fair's page: sign up there, or see what became of applications
  const link = $("fair-link");
  link.href = `/p/${doc.fair_id}${me ? "/me#applications" : "?from=live"}`;
  link.textContent = me ? L.fair_mine : L.fair_signup;
  link.hidden = false;
}

function show(next) {  // a newer view of the session, from the stream or a load
  const first = !doc;
  doc = next;
  if (first) fairLink();
  $("offline").hidden = true;
  if (doc.beat_seconds) beatMs = Math.max(1000, doc.beat_seconds * 1000);
  render();
  if (first) whoAmI();
}

function follow() {  // the host's changes as they happen; EventSource reconnects by itself
  if (typeof EventSource !== "function") return;
  const events = new EventSource(base + "/events");
  events.addEventListener("session", (ev) => {
    try { show(JSON.parse(ev.data)); } catch (e) { /* a broken frame: the next one mends it */ }
  });
  events.addEventListener("error", () => { if (gone) events.close(); });
}

async function whoAmI() {  // signed up on this fair? then applying is one tap
  try {
    const r = await fetch(`/p/${doc.fair_id}/me.json`, {cache: "no-store"});
    me = r.ok ? await r.json() : null;
  } catch (e) { return; }
  fairLink();
  if (!me) return;
  for (const a of me.applications || []) {
    if (a.position_id && a.status !== "withdrawn") applied.add(a.position_id);
  }
  renderPinned();
  renderGroups();
}

async function load() {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(base + ".json", {cache: "no-store"});
      if (r.status === 404) { missing(); return false; }
      if (r.ok) {
        show(await r.json());
        return true;
      }
    } catch (e) { /* offline: try again */ }
    $("offline").hidden = false;
    await sleep(Math.min(30000, 2000 * 2 ** attempt));
  }
}

/* One view per page load: the join carries an id made here, so a join retried after a lost
 * answer counts once; until a join has been answered, every beat is that join again. */
let joinId = newId("join-"), joined = false;

async function presence(kind) {
  if (!(await ensureViewer())) return null;
  const body = {viewer_id: viewer, kind};
  if (kind === "join") body.id = joinId;
  try {
    const r = await fetch(base + "/presence", {
      method: "POST", cache: "no-store", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    $("offline").hidden = true;
    if (await refusedViewer(r)) joined = false;  // a new id joins afresh
    return r.ok ? await r.json() : null;
  } catch (e) {
    $("offline").hidden = false;
    return null;
  }
}

function schedule() {
  clearTimeout(timer);
  if (gone || document.visibilityState !== "visible") return;
  timer = setTimeout(() => beat("beat"), beatMs);
}

async function beat(kind) {
  if (beating) return;
  beating = true;
  clearTimeout(timer);
  try {
    const answer = await presence(joined ? kind : "join");
    if (answer) joined = true;
    if (answer && answer.beat_seconds) beatMs = Math.max(1000, answer.beat_seconds * 1000);
    const changed = answer && doc && ((answer.pinned_position_id || null) !== pinnedId(doc)
      || (answer.status && answer.status !== doc.status));
    if (changed) await load();
  } finally {
    beating = false;
    schedule();
  }
}

function leave() {
  if (!viewer) return;
  const body = new Blob([JSON.stringify({viewer_id: viewer, kind: "leave"})],
    {type: "application/json"});
  if (!navigator.sendBeacon || !navigator.sendBeacon(base + "/presence", body)) {
    fetch(base + "/presence", {method: "POST", body, keepalive: true}).catch(() => {});
  }
}

/* ---------- The sheet: apply or ask ---------- */

const applyForm = $("apply-form"), askForm = $("ask-form");
const badgeKey = () => "fairhub.badge." + doc.fair_id;
let target = null;  // the position being applied to
let askAbout = null;  // the position a question is about, or null for the employer as a whole
let applyPending = null, askPending = null;  // ids of submissions being tried: a retry reuses
let toastTimer = 0;

function toast(text, ok) {
  const node = $("v-toast");
  node.textContent = text;
  node.className = "v-toast" + (ok ? "" : " err");
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 4000);
}

function markApplied(id) {
  applied.add(id);
  store.set(appliedKey, [...applied].join(" "));
  renderPinned();
  renderGroups();
}

async function json(r) {
  try { return await r.json(); } catch (e) { return null; }
}

/* One tap: the résumé this seeker keeps goes to the position, counted for this stream. */
async function quickApply(position) {
  if (!me || !me.resume) return openSheet("apply", position);
  const name = position.employer_name || employerName(position.employer_id);
  try {
    const r = await fetch(`/p/${doc.fair_id}/applications`, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({position_id: position.id, session_id: session}),
    });
    const j = await json(r);
    if (r.ok) {
      markApplied(position.id);
      return toast(r.status === 201 ? fill(L.sent, {name}) : L.again, true);
    }
    if (r.status === 401) me = null;
    if (j && j.error === "no_resume") me.resume = null;
    if (r.status === 401 || (j && j.error === "no_resume")) return openSheet("apply", position);
    toast(describe(applyForm, r.status, j, L.failed), false);
  } catch (e) {
    toast(L.offline, false);
  }
}

async function uploadAndApply() {
  const out = $("apply-answer"), button = $("upload-apply");
  const file = $("resume-file").files[0];
  if (!file) return say(out, L.need_file, false);
  const body = new FormData();
  body.set("file", file);
  button.disabled = true;
  say(out, L.sending, true);
  try {
    const r = await fetch(`/p/${doc.fair_id}/me/resume`, {method: "PUT", body});
    const j = await json(r);
    if (!r.ok) return say(out, describe(applyForm, r.status, j, L.failed), false);
    me.resume = j;
    closeSheet();
    await quickApply(target);
  } catch (e) {
    say(out, L.offline, false);
  } finally {
    button.disabled = false;
  }
}

function say(node, text, ok) {
  node.textContent = text;
  node.className = "outcome " + (ok ? "ok" : "err");
}

function openSheet(mode, position, employerId, positionId) {
  const apply = mode === "apply";
  applyForm.hidden = !apply;
  askForm.hidden = apply;
  $("sheet-title").textContent = apply ? L.apply_title : L.ask_title;
  let first = askForm.elements.question;
  if (apply) {
    if (!target || target.id !== position.id) applyPending = null;
    target = position;
    $("sheet-sub").textContent = [position.title, position.employer_name
      || employerName(position.employer_id)].filter(Boolean).join(" · ");
    if (!applyForm.elements.badge.value) applyForm.elements.badge.value = store.get(badgeKey());
    const next = encodeURIComponent(location.pathname + location.search);
    $("signup-link").href = `/p/${doc.fair_id}?next=${next}`;
    $("apply-signup").hidden = Boolean(me);
    $("apply-upload").hidden = !me || Boolean(me.resume);
    $("badge-way").hidden = Boolean(me);
    first = me ? $("resume-file") : $("signup-link");
    say($("apply-answer"), "", true);
  } else {
    const select = $("ask-employer");
    select.replaceChildren(...(doc.employers || []).map((e) => {
      const option = el("option", "", e.name);
      option.value = e.id;
      return option;
    }));
    select.value = employerId;
    const about = positionId ? positionOf(positionId) : null;
    askAbout = about && about.employer_id === employerId ? about : null;
    $("sheet-sub").textContent = askAbout ? fill(L.about, {title: askAbout.title}) : "";
    say($("ask-answer"), "", true);
  }
  $("sheet").hidden = false;
  document.body.classList.add("sheet-open");
  first.focus({preventScroll: true});
}

function closeSheet() {
  $("sheet").hidden = true;
  document.body.classList.remove("sheet-open");
}

function describe(form, status, j, failed) {
  let text = status === 413 ? L.too_big : status === 429 || status >= 500 ? L.later : failed;
  if (j && j.detail) text += ": " + j.detail;
  const fields = j && Array.isArray(j.fields) ? j.fields : [];
  for (const f of fields) {
    const input = form.elements[f];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
  return fields.length ? `${text} (${L.fields}: ${fields.join(", ")})` : text;
}

async function sendResume(ev) {
  ev.preventDefault();
  const out = $("apply-answer"), button = applyForm.querySelector("button");
  const code = applyForm.elements.badge.value.replace(/\s+/g, "").toUpperCase();
  const file = applyForm.elements.file.files[0];
  if (!code) return say(out, L.need_badge, false);
  if (!file) return say(out, L.need_file, false);
  store.set(badgeKey(), code);
  applyPending = applyPending || newId("r");
  const body = new FormData();
  body.set("id", applyPending);
  body.set("badge", code);
  body.set("employer_id", target.employer_id);
  body.set("position_id", target.id);
  body.set("channel", "live");
  body.set("session_id", session);
  body.set("file", file);
  button.disabled = true;
  say(out, L.sending, true);
  try {
    const r = await fetch(`/v1/fairs/${doc.fair_id}/resumes`, {method: "POST", body});
    let j = null;
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (r.ok) {
      const name = target.employer_name || employerName(target.employer_id);
      say(out, r.status === 201 ? fill(L.sent, {name}) : L.again, true);
      applyPending = null;
      markApplied(target.id);
    } else {
      say(out, describe(applyForm, r.status, j, L.failed), false);
    }
  } catch (e) {
    say(out, L.offline, false);
  } finally {
    button.disabled = false;
  }
}

async function postQuestion(body) {
  await ensureViewer();
  let r = await fetch(base + "/questions", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({...body, viewer_id: viewer || ""}),
  });
  if (await refusedViewer(r) && await ensureViewer()) {  // a stale id: once more with a new one
    r = await fetch(base + "/questions", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({...body, viewer_id: viewer}),
    });
  }
  let j = null;
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  return {r, j};
}

async function sendQuestion(ev) {
  ev.preventDefault();
  const out = $("ask-answer"), button = askForm.querySelector("button");
  const question = askForm.elements.question.value.trim();
  if (!question) return say(out, L.need_question, false);
  askPending = askPending || newId("q");
  const employer = askForm.elements.employer_id.value;
  const body = {id: askPending, employer_id: employer, question};  // viewer_id: postQuestion
  if (askAbout && askAbout.employer_id === employer) body.position_id = askAbout.id;
  const badge = store.get(badgeKey());
  button.disabled = true;
  say(out, L.asking, true);
  try {
    let {r, j} = await postQuestion(badge ? {...body, badge} : body);
    if (badge && r.status === 422 && j && (j.fields || []).includes("badge")) {
      ({r, j} = await postQuestion(body));  // a stale badge must not keep a question out
    }
    if (r.ok) {
      say(out, L.asked, true);
      askPending = null;
      askForm.elements.question.value = "";
      $("question-count").textContent = "0/500";
    } else {
      say(out, describe(askForm, r.status, j, L.ask_failed), false);
    }
  } catch (e) {
    say(out, L.offline, false);
  } finally {
    button.disabled = false;
  }
}

/* ---------- Wiring ---------- */

document.addEventListener("click", (ev) => {
  const apply = ev.target.closest("[data-apply]"), ask = ev.target.closest("[data-ask]");
  if (apply && doc) {
    const p = positionOf(apply.dataset.apply)
      || {...doc.pinned, id: apply.dataset.apply};
    quickApply(p);
  } else if (ask && doc) {
    openSheet("ask", null, ask.dataset.ask, ask.dataset.position);
  }
});
$("sheet-close").addEventListener("click", closeSheet);
$("sheet").addEventListener("click", (ev) => { if (ev.target === $("sheet")) closeSheet(); });
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && !$("sheet").hidden) closeSheet();
});
applyForm.addEventListener("submit", sendResume);
askForm.addEventListener("submit", sendQuestion);
applyForm.addEventListener("input", (ev) => {
  applyPending = null;
  ev.target.removeAttribute("aria-invalid");
});
$("upload-apply").addEventListener("click", uploadAndApply);
$("ask-employer").addEventListener("change", () => {
  if (askAbout && askAbout.employer_id !== $("ask-employer").value) {
    askAbout = null;
    $("sheet-sub").textContent = "";
  }
});
askForm.addEventListener("input", (ev) => {
  askPending = null;
  ev.target.removeAttribute("aria-invalid");
  $("question-count").textContent = `${askForm.elements.question.value.length}/500`;
});
$("pin-notice").addEventListener("click", () => {
  $("pin-notice").hidden = true;
  window.scrollTo({top: 0, behavior: "smooth"});
});
window.addEventListener("scroll", () => {
  if (!$("pin-notice").hidden && $("pinned").getBoundingClientRect().bottom > 0) {
    $("pin-notice").hidden = true;
  }
}, {passive: true});

document.addEventListener("visibilitychange", () => {
  if (gone) return;
  if (document.visibilityState === "visible") beat("beat"); else clearTimeout(timer);
});
window.addEventListener("pagehide", () => { clearTimeout(timer); if (!gone) leave(); });
window.addEventListener("pageshow", (ev) => {  // back from the cache: a new view
  if (!ev.persisted || gone) return;
  joinId = newId("join-");
  joined = false;
  beat("join");
});

if (!session) { missing(); return; }
beat("join");
follow();
load().then((found) => { if (found) schedule(); });
})();
