/* FairHub livestream, the host's console: start and stop, pin one position, live figures, the
 * queue of viewers' questions.
 *
 * The host token is handed over once as #token=… and kept in this browser. The console polls
 * the session document and the open questions every 2 s; a failed poll keeps the last figures
 * and says it is reconnecting. Tiles and questions are updated in place, never rebuilt under
 * the host's pointer, so a click always lands. No framework, no CDN, no build step.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, locale, fmt, fill, hhmm, day, sleep, el, setNumber, store} = window.FairHub;
const session = cfg.session;
const POLL_MS = 2000;
const FIGURES = ["viewers_now", "peak", "views", "unique_viewers", "resumes", "consultations"];
const tokens = {
  key: "fairhub.live.host." + session,
  get() { return store.get(this.key); },
  set(token) { store.set(this.key, token); },
  drop() { store.drop(this.key); },
};

class Refused extends Error {  // the token does not open this session: ask for another
  constructor(status) { super("HTTP " + status); this.status = status; }
}
class Failed extends Error {  // the API said no, with its reason
  constructor(status, body) {
    super((body && body.detail) || "HTTP " + status);
    this.status = status;
  }
}

let token = tokens.get();
let fair = "";
let run = 0;  // bumped whenever the token changes: older loops see it and stop
let acted = 0;  // bumped by every action: a poll begun before one must not undo its answer
let doc = null;
let tilesFor = "";  // the positions the tiles were built for
const answered = new Set();  // answered here: hidden even if a poll in flight still lists them

/* ---------- The API ---------- */

async function call(method, path, body) {
  const headers = {Authorization: "Bearer " + token};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`/v1/fairs/${fair}/live-sessions/${session}${path}`, {
    method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if ([401, 403, 404].includes(r.status)) throw new Refused(r.status);
  let j = null;
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) throw new Failed(r.status, j);
  return j;
}

function setLink(state) {
  $("link").dataset.state = state;
  $("link").textContent = state === "live" ? L.link_live : L[state];
}

let toastTimer = 0;
function toast(text) {
  $("toast").textContent = text;
  $("toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("toast").hidden = true; }, 6000);
}

/* ---------- Figures ---------- */

function cell(text, className) {
  const td = el("td", className, text);
  if (className === "name") td.title = text;
  return td;
}

function table(name, rows, cells) {
  $(`${name}-empty`).hidden = rows.length > 0;
  $(`${name}-rows`).replaceChildren(...rows.map((row) => {
    const tr = el("tr");
    tr.append(...cells(row));
    return tr;
  }));
}

function figures(f) {
  for (const key of FIGURES) setNumber(document.querySelector(`[data-figure="${key}"]`), f[key]);
  table("by_employer", f.by_employer || [], (row) => [cell(row.name || row.employer_id, "name"),
    cell(fmt(row.resumes), "n"), cell(fmt(row.consultations), "n")]);
  const employers = new Map((doc.employers || []).map((e) => [e.id, e.name]));
  table("by_pin", f.by_pin || [], (row) => {
    const name = cell(row.title || row.position_id, "name");
    const employer = row.employer_id || (positionOf(row.position_id) || {}).employer_id;
    name.append(el("span", "sub", employers.get(employer) || ""));
    // During the pin, and of that what named the pinned position itself.
    const chosen = `${fmt(row.resumes_for_pinned)} / ${fmt(row.consultations_for_pinned)}`;
    return [name, cell(fmt(row.views), "n"), cell(fmt(row.resumes), "n"),
      cell(fmt(row.consultations), "n"), cell(chosen, "n")];
  });
}

/* ---------- The stage: what is pinned, and a tile per position ---------- */

const pinnedId = () => (doc && doc.pinned ? doc.pinned.position_id : null);
const positionOf = (id) => ((doc && doc.positions) || []).find((p) => p.id === id);

function buildTiles() {
  const positions = doc.positions || [];
  const signature = JSON.stringify(positions.map((p) => [p.id, p.title, p.job_type, p.headcount]));
  if (signature === tilesFor) return;
  tilesFor = signature;
  const groups = (doc.employers || []).map((e) => {
    const mine = positions.filter((p) => p.employer_id === e.id);
    if (!mine.length) return null;
    const group = el("section", "employer");
    const head = el("h3", "", e.name);
    head.append(el("span", "muted", ` · ${mine.length}`));
    const tiles = el("div", "tiles");
    for (const p of mine) {
      const tile = el("button", "tile");
      tile.type = "button";
      tile.dataset.position = p.id;
      const meta = [p.job_type, p.headcount ? fill(L.headcount, {n: p.headcount}) : ""];
      tile.append(el("span", "t-flag", L.pinned_now), el("span", "t-title", p.title),
        el("span", "t-meta", meta.filter(Boolean).join(" · ")), el("span", "t-figs", ""));
      tiles.append(tile);
    }
    group.append(head, tiles);
    return group;
  });
  $("positions").replaceChildren(...groups.filter(Boolean));
}

function stage() {
  buildTiles();
  const pinned = pinnedId();
  const byPin = new Map(((doc.figures && doc.figures.by_pin) || []).map((r) => [r.position_id, r]));
  for (const tile of document.querySelectorAll(".tile")) {
    const on = tile.dataset.position === pinned;
    tile.disabled = doc.status === "ended";  // an ended stream takes no pins
    tile.classList.toggle("on", on);
    tile.setAttribute("aria-pressed", String(on));
    const row = byPin.get(tile.dataset.position);
    tile.querySelector(".t-figs").textContent = row
      ? `${L.resumes} ${fmt(row.resumes)} · ${L.consultations} ${fmt(row.consultations)}` : "";
  }
  const box = $("on-show");
  box.dataset.empty = String(!pinned);
  if (!pinned) return;
  const p = {...doc.pinned, ...(positionOf(pinned) || {})};
  $("on-show-title").textContent = p.title || pinned;
  const since = new Date(doc.pinned.pinned_at);
  $("on-show-meta").textContent = [p.employer_name, Number.isNaN(since.getTime()) ? ""
    : fill(L.pinned_since, {t: hhmm.format(since)})].filter(Boolean).join(" · ");
}

/* ---------- The session ---------- */

function show(d) {
  doc = d;
  $("title").textContent = d.title;
  document.title = `${d.title} · ${L.console}`;
  const moment = d.status === "ended" ? "ended_at" : d.status === "live" ? "started_at"
    : "starts_at";
  const when = new Date(d[moment] || NaN);
  const format = moment === "starts_at" ? day : hhmm;
  $("meta").textContent = [d.platform, Number.isNaN(when.getTime()) ? ""
    : fill(L[moment], {t: format.format(when)})].filter(Boolean).join(" · ");
  $("state").dataset.status = d.status;
  $("state").textContent = L[d.status] || d.status;
  $("start").hidden = d.status !== "scheduled";
  $("stop").hidden = d.status !== "live";
  const viewer = typeof d.viewer_url === "string" && /^https?:\/\//i.test(d.viewer_url)
    ? d.viewer_url : `/live/${session}`;
  $("viewer-link").href = viewer + (cfg.lang === "en" ? "?lang=en" : "");
  stage();
  figures(d.figures || {});
}

/* ---------- The questions ---------- */

function ago(at) {
  const minutes = Math.floor((Date.now() - Date.parse(at)) / 60000);
  return !Number.isFinite(minutes) || minutes < 1 ? L.just_now : fill(L.minutes_ago, {n: minutes});
}

function question(q) {
  const li = el("li", "q");
  li.dataset.id = q.id;
  const head = el("div", "q-head");
  // What the viewer chose (an employer, maybe one of its positions), and what was on show.
  const position = q.position_title || (positionOf(q.position_id) || {}).title;
  head.append(el("span", "q-who", q.employer_name || q.employer_id || L.viewer));
  if (position) head.append(el("span", "q-pos", position));
  const pinned = q.pinned_title || (positionOf(q.pinned_position_id) || {}).title;
  if (pinned && q.pinned_position_id !== q.position_id) {
    head.append(el("span", "q-pin", fill(L.asked_during, {title: pinned})));
  }
  head.append(el("time", "q-time"));
  const button = el("button", "answer", L.answer);
  button.type = "button";
  li.append(head, el("p", "q-text", q.question || ""), button);
  return li;
}

function queue(items) {
  const list = items.filter((q) => !answered.has(q.id));
  const box = $("queue-list");
  const known = new Map([...box.children].map((li) => [li.dataset.id, li]));
  const keep = new Set(list.map((q) => q.id));
  for (const [id, li] of known) if (!keep.has(id) && !li.classList.contains("leaving")) li.remove();
  let at = box.firstElementChild;
  for (const q of list) {  // oldest first; only new or moved items touch the DOM
    while (at && at.classList.contains("leaving")) at = at.nextElementSibling;
    const li = known.get(q.id) || question(q);
    li.querySelector(".q-time").textContent = ago(q.asked_at);
    li.querySelector(".q-time").dateTime = q.asked_at;
    if (li !== at) box.insertBefore(li, at); else at = at.nextElementSibling;
  }
  $("queue-count").textContent = fmt(list.length);
  $("queue-count").dataset.some = String(list.length > 0);
  $("queue-empty").hidden = list.length > 0;
}

/* ---------- Actions ---------- */

async function act(button, method, path, body) {
  acted += 1;
  button.disabled = true;
  try {
    const answer = await call(method, path, body);
    acted += 1;
    return answer;
  } catch (e) {
    if (e instanceof Refused && e.status !== 404) refused(e.status);
    else toast(fill(L.action_failed, {detail: e instanceof Failed ? e.message : L.reconnecting}));
    return null;
  } finally {
    button.disabled = false;
  }
}

async function pin(tile) {
  if (tile.classList.contains("on") || tile.classList.contains("pending")) return;
  tile.classList.add("pending");
  tile.querySelector(".t-flag").textContent = L.pinning;
  const d = await act(tile, "PUT", "/pin", {position_id: tile.dataset.position});
  tile.classList.remove("pending");
  tile.querySelector(".t-flag").textContent = L.pinned_now;
  if (d) show(d);
}

let armed = 0;  // ending the stream takes a second press within a few seconds
async function stop() {
  const button = $("stop");
  if (!armed) {
    button.textContent = L.confirm_stop;
    button.classList.add("armed");
    armed = setTimeout(disarm, 4000);
    return;
  }
  disarm();
  const d = await act(button, "POST", "/stop");
  if (d) show(d);
}
function disarm() {
  clearTimeout(armed);
  armed = 0;
  $("stop").textContent = L.stop;
  $("stop").classList.remove("armed");
}

async function answer(li) {
  const d = await act(li.querySelector(".answer"), "POST",
    `/consultations/${encodeURIComponent(li.dataset.id)}/answer`);
  if (!d) return;
  answered.add(li.dataset.id);
  li.classList.add("leaving");
  setTimeout(() => {
    li.remove();
    const left = $("queue-list").querySelectorAll(".q:not(.leaving)").length;
    $("queue-count").textContent = fmt(left);
    $("queue-count").dataset.some = String(left > 0);
    $("queue-empty").hidden = left > 0;
  }, 350);
}

/* ---------- The link ---------- */

function stopLoops() { run += 1; }

function askToken(message) {
  stopLoops();
  tokens.drop();
  token = "";
  setLink("connecting");
  $("login-error").textContent = message;
  $("login").hidden = false;
  $("login-token").focus();
}

function refused(status) {
  if (status === 404) { missing(); return; }
  askToken(status === 401 ? L.bad_token : L.forbidden);
}

function missing() {
  stopLoops();
  $("live").hidden = true;
  $("missing").hidden = false;
  $("title").textContent = L.not_found;
  setLink("connecting");
}

async function findFair(gen) {  // the session's public page data name its fair
  for (let attempt = 0; gen === run; attempt++) {
    try {
      const r = await fetch(`/live/${session}.json`, {cache: "no-store"});
      if (r.status === 404) { missing(); return false; }
      if (r.ok) { fair = (await r.json()).fair_id; return true; }
    } catch (e) { /* offline: try again */ }
    setLink("reconnecting");
    await sleep(Math.min(30000, 2000 * 2 ** attempt));
  }
  return false;
}

async function poll(gen) {
  if (!fair && !(await findFair(gen))) return;
  while (gen === run) {
    const before = acted;
    try {
      const [d, open] = await Promise.all([call("GET", ""),
        call("GET", "/consultations?status=open")]);
      if (gen !== run) return;
      if (before === acted) show(d);
      queue(open.items || []);
      setLink("live");
    } catch (e) {
      if (gen !== run) return;
      if (e instanceof Refused) { refused(e.status); return; }
      setLink("reconnecting");  // keep the last figures on screen
    }
    await sleep(POLL_MS);
  }
}

function start() {
  stopLoops();
  setLink("connecting");
  poll(run);
}

/* ---------- Wiring ---------- */

$("positions").addEventListener("click", (ev) => {
  const tile = ev.target.closest(".tile");
  if (tile) pin(tile);
});
$("queue-list").addEventListener("click", (ev) => {
  const button = ev.target.closest(".answer");
  if (button) answer(button.closest(".q"));
});
$("start").addEventListener("click", async () => {
  const d = await act($("start"), "POST", "/start");
  if (d) show(d);
});
$("stop").addEventListener("click", stop);
$("unpin").addEventListener("click", async () => {
  const d = await act($("unpin"), "DELETE", "/pin");
  if (d) show(d);
});
$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const value = $("login-token").value.trim();
  if (!value) { $("login-error").textContent = L.need_token; return; }
  tokens.set(value);
  token = value;
  $("login-token").value = "";
  $("login").hidden = true;
  start();
});
$("sign-out").addEventListener("click", () => askToken(""));

if (!session) { missing(); return; }
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {  // handed over once in the address; never left there
  token = fragment.get("token").trim();
  tokens.set(token);
  history.replaceState(null, "", location.pathname + location.search);
}
$("viewer-link").href = `/live/${session}` + (cfg.lang === "en" ? "?lang=en" : "");
if (token) start(); else askToken("");
})();
