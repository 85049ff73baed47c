/* FairHub dashboard: the organizers' live page, fed by the stats stream, charts drawn as SVG.
 *
 * EventSource cannot send an Authorization header, so the stream is read with fetch() and
 * parsed here (text/event-stream); on a broken link it reconnects with backoff, sends
 * Last-Event-ID, and keeps the last figures on screen. No framework, no CDN, no build step.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, locale, fmt, fill, hhmm, hhmmss, day, sleep, el, setNumber, store, bearer} =
  window.FairHub;
const langQuery = cfg.lang === "en" ? "?lang=en" : "";
const tokens = {
  key: (fair) => "fairhub.dashboard.token." + fair,
  get(fair) { return store.get(this.key(fair)); },
  set(fair, token) { store.set(this.key(fair), token); },
  drop(fair) { store.drop(this.key(fair)); },
};

/* ---------- Server-Sent Events over a fetch() body ---------- */

function sseParser(onEvent, onRetry) {
  let buffer = "", data = [], type = "", lastId = null;
  function line(text) {
    if (text === "") {
      if (data.length) onEvent({type: type || "message", data: data.join("\n"), id: lastId});
      data = []; type = "";
      return;
    }
    if (text[0] === ":") return;  // a comment: the server's keep-alive
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") type = value;
    else if (field === "id" && !value.includes("\0")) lastId = value;
    else if (field === "retry" && /^\d+$/.test(value)) onRetry(Number(value));
  }
  return (chunk) => {
    buffer += chunk;
    for (;;) {
      const end = /\r\n|\r|\n/.exec(buffer);
      if (!end || (end[0] === "\r" && end.index === buffer.length - 1)) return;  // wait for more
      line(buffer.slice(0, end.index));
      buffer = buffer.slice(end.index + end[0].length);
    }
  };
}

/* ---------- The per-minute chart ---------- */

const NS = "http://www.w3.org/2000/svg";
const SERIES = ["checkins", "resumes_submitted", "qr_scans"];
const MINUTE = 60000;
const MAX_SPAN = 12 * 60;  // minutes shown at most: a long fair day

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function minutes(doc) {
  const rows = (doc.per_minute || [])
    .map((row) => [Date.parse(row.minute), row.totals || {}])
    .filter(([t]) => Number.isFinite(t))
    .sort((a, b) => a[0] - b[0]);
  if (!rows.length) return null;
  let end = rows[rows.length - 1][0];
  const now = Math.floor(Date.parse(doc.as_of) / MINUTE) * MINUTE;
  if (now > end && now - end <= 60 * MINUTE) end = now;  // a quiet spell shows as quiet
  const start = Math.max(rows[0][0], end - (MAX_SPAN - 1) * MINUTE);
  const n = Math.round((end - start) / MINUTE) + 1;
  const values = SERIES.map(() => new Array(n).fill(0));
  for (const [t, totals] of rows) {
    if (t < start) continue;
    const i = Math.round((t - start) / MINUTE);
    SERIES.forEach((metric, k) => { values[k][i] = (totals[metric] && totals[metric].total) || 0; });
  }
  return {start, n, values};
}

function niceCeiling(value) {  // 1, 2, 5, 10, 20, 50…: a scale a person reads at a glance
  const power = 10 ** Math.floor(Math.log10(Math.max(1, value)));
  for (const m of [1, 2, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

function lastActive(data) {
  for (let i = data.n - 1; i > 0; i--) if (data.values.some((v) => v[i])) return i;
  return data.n - 1;
}

/* Three bands of per-minute bars, one per series, each on its own scale: arrivals come by
 * the hundred, résumés by the handful, and one shared axis would flatten the small ones. */
function drawChart(doc) {
  const box = $("chart");
  const width = Math.max(240, box.clientWidth), height = Math.max(120, box.clientHeight);
  const root = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": L.chart});
  const data = doc ? minutes(doc) : null;
  if (!data) {
    root.append(svg("text", {x: width / 2, y: height / 2, "text-anchor": "middle",
      class: "placeholder"}, doc ? L.no_data : L.waiting));
    box.replaceChildren(root);
    $("legend").textContent = "";
    return;
  }
  const m = {left: 44, right: 8, bottom: 24}, title = 20, gap = 12;
  const w = width - m.left - m.right, inner = height - m.bottom;
  const band = (inner - gap * (SERIES.length - 1)) / SERIES.length, plot = band - title;
  const slot = w / data.n, bar = Math.max(1, Math.min(28, slot * 0.72));
  const x = (i) => m.left + slot * (i + 0.5);
  const focusWidth = Math.max(slot, 3);
  const focus = svg("rect", {y: 0, width: focusWidth, height: inner, class: "focus"});
  root.append(focus);
  const readouts = SERIES.map((metric, k) => {
    const top = k * (band + gap), base = top + band;
    const peak = niceCeiling(Math.max(...data.values[k]));
    const readout = svg("text", {x: width - m.right, y: top + 14, "text-anchor": "end",
      class: `band-value t${k}`});
    const bars = data.values[k].map((v, i) => (v
      ? `M${(x(i) - bar / 2).toFixed(1)} ${base}h${bar.toFixed(1)}`
        + `v${(-(v / peak) * plot).toFixed(1)}h${(-bar).toFixed(1)}z`
      : "")).join("");
    root.append(
      svg("text", {x: m.left, y: top + 14, class: `band-title t${k}`}, L[metric]),
      readout,
      svg("line", {x1: m.left, x2: width - m.right, y1: top + title, y2: top + title,
        class: "grid"}),
      svg("text", {x: m.left - 6, y: top + title + 10, "text-anchor": "end", class: "axis"},
        fmt(peak)),
      svg("text", {x: m.left - 6, y: base, "text-anchor": "end", class: "axis"}, "0"),
      svg("path", {class: `bars s${k}`, d: bars || "M0 0"}),
      svg("line", {x1: m.left, x2: width - m.right, y1: base, y2: base, class: "base"}),
    );
    return readout;
  });
  const every = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360]
    .find((step) => (data.n / step) * 56 <= w) || 720;
  for (let i = 0; i < data.n; i++) {
    const at = new Date(data.start + i * MINUTE);
    if ((at.getHours() * 60 + at.getMinutes()) % every !== 0) continue;
    const edge = x(i) > width - m.right - 20 ? "end" : x(i) < m.left + 20 ? "start" : "middle";
    const atX = edge === "end" ? width - m.right : edge === "start" ? m.left : x(i);
    root.append(svg("text", {x: atX, y: height - 6, "text-anchor": edge, class: "axis"},
      hhmm.format(at)));
  }
  const show = (i) => {
    focus.setAttribute("x", (x(i) - focusWidth / 2).toFixed(1));
    readouts.forEach((node, k) => { node.textContent = fmt(data.values[k][i]); });
    $("legend").textContent = fill(L.minute_at, {t: hhmm.format(new Date(data.start + i * MINUTE))});
  };
  const pad = svg("rect", {x: m.left, y: 0, width: w, height: inner, fill: "transparent"});
  root.append(pad);
  const resting = lastActive(data);
  pad.addEventListener("pointermove", (ev) => {
    const rect = root.getBoundingClientRect();
    const px = ((ev.clientX - rect.left) * width) / rect.width;
    show(Math.min(data.n - 1, Math.max(0, Math.floor((px - m.left) / slot))));
  });
  pad.addEventListener("pointerleave", () => show(resting));
  box.replaceChildren(root);
  show(resting);
}

/* ---------- The board ---------- */

const count = (row, metric, part) =>
  (row.totals && row.totals[metric] && row.totals[metric][part]) || 0;

function parenthesised(parts) {
  if (!parts.length) return "";
  return cfg.lang === "en" ? " (" + parts.join(" · ") + ")" : "（" + parts.join(" · ") + "）";
}

function notes(doc) {
  const denied = (doc.totals.checkins_denied && doc.totals.checkins_denied.total) || 0;
  const verdicts = doc.checkins_by_verdict || {};
  const why = ["invalid_badge", "wrong_fair", "revoked"]
    .filter((v) => verdicts[v]).map((v) => `${L[v]} ${fmt(verdicts[v])}`);
  const set = (metric, text) => {
    const node = document.querySelector(`[data-note="${metric}"]`);
    if (node) node.textContent = text;
  };
  set("checkins", fill(L.denied, {n: fmt(denied)}) + parenthesised(why));
  const channels = doc.resumes_by_channel || {};
  set("resumes_submitted", ["onsite", "online", "live"]
    .map((c) => `${L[c]} ${fmt(channels[c] || 0)}`).join(" · "));
}

function cell(text, className, title) {
  const td = el("td", className, text);
  if (title) td.title = title;
  return td;
}

/* What the registry holds (GET …/registry/counts): employers that have not shown any activity
 * yet are still the fair's; the stream only counts those that have. */
let registered = null;

function leadersNote(active) {
  if (registered) {
    return fill(L.leaders_note, {n: fmt(registered.employers), a: fmt(active)});
  }
  return active ? fill(L.leaders_active, {a: fmt(active)}) : "";
}

function leaders(rows) {
  const list = rows.map((row) => ({
    id: row.employer_id,
    name: row.name || row.employer_id,
    leads: count(row, "booth_visits", "unique"),
    received: count(row, "resumes_submitted", "total"),
    downloaded: count(row, "resumes_downloaded", "total"),
    intents: count(row, "intents", "total"),
  }));
  list.sort((a, b) => b.received - a.received || b.leads - a.leads || b.intents - a.intents
    || a.name.localeCompare(b.name, locale));
  $("leaders-note").textContent = leadersNote(list.length);
  $("leaders-note").dataset.active = String(list.length);
  $("leaders-empty").hidden = list.length > 0;
  $("leaders-rows").replaceChildren(...list.slice(0, 15).map((e, i) => {
    const tr = el("tr");
    tr.dataset.employer = e.id;
    tr.append(cell(String(i + 1), "n"), cell(e.name, "name", e.name), cell(fmt(e.leads), "n"),
      cell(fmt(e.received), "n"), cell(fmt(e.downloaded), "n"), cell(fmt(e.intents), "n"));
    return tr;
  }));
}

function schools(rows) {
  const list = rows
    .map((row) => ({id: row.school_id, name: row.name || row.school_id,
      visitors: count(row, "checkins", "unique")}))
    .filter((s) => s.visitors > 0)
    .sort((a, b) => b.visitors - a.visitors || a.name.localeCompare(b.name, locale))
    .slice(0, 10);
  const peak = list.length ? list[0].visitors : 1;
  $("schools-empty").hidden = list.length > 0;
  $("schools").replaceChildren(...list.map((s, i) => {
    const li = el("li");
    li.dataset.school = s.id;
    const track = el("div", "track"), bar = el("div", "fill");
    bar.style.width = ((100 * s.visitors) / peak).toFixed(1) + "%";
    track.append(bar);
    const label = el("span", "label", s.name);
    label.title = s.name;
    li.append(el("span", "pos", String(i + 1)), label, el("span", "value", fmt(s.visitors)), track);
    return li;
  }));
}

/* Live sessions: the audience now and at its peak, then what each stream brought in; each
 * figure is captioned with its column's label (the panel is narrow on a projector). */
const SESSION_COLUMNS = ["session", "viewers_now", "peak", "views", "viewers", "resumes_col",
  "consultations_col"].map((key) => L[key]);

function sessions(rows) {
  const list = rows
    .map((row) => ({name: row.name || row.session_id, now: row.live_concurrent || 0,
      peak: row.live_peak || 0, views: count(row, "live_views", "total"),
      viewers: count(row, "live_views", "unique"),
      resumes: count(row, "resumes_submitted", "total"),
      questions: count(row, "consultations", "total")}))
    .sort((a, b) => b.now - a.now || b.viewers - a.viewers || b.views - a.views
      || a.name.localeCompare(b.name, locale));
  $("sessions-panel").hidden = list.length === 0;
  $("board").classList.toggle("has-sessions", list.length > 0);
  $("sessions-rows").replaceChildren(...list.slice(0, 12).map((s) => {
    const tr = el("tr");
    const figures = [s.now, s.peak, s.views, s.viewers, s.resumes, s.questions].map((n, i) => {
      const td = cell(fmt(n), i ? "n" : "n now");
      td.dataset.label = SESSION_COLUMNS[i + 1];
      return td;
    });
    if (!s.now) figures[0].dataset.zero = "";
    tr.append(cell(s.name, "name", s.name), ...figures);
    return tr;
  }));
}

/* Hires: each channel's hires, and under them the persons hired through it. */
function hires(doc) {
  const channels = doc.hires_by_channel || {};
  for (const item of document.querySelectorAll("#hires-channels li")) {
    const c = channels[item.dataset.channel] || {total: 0, unique: 0};
    setNumber(item.querySelector('[data-part="total"]'), c.total);
    const people = item.querySelector('[data-part="unique"]');
    people.textContent = fill(L.hire_people, {n: fmt(c.unique)});
  }
}

/* A list in a panel of fixed height (a projector) keeps the ranks that fit, best first; a
 * panel as tall as its content (a phone, a laptop) keeps them all. */
function fit(list) {
  const panel = list.closest(".panel"), rows = [...list.children];
  for (const row of rows) row.hidden = false;
  for (let i = rows.length - 1; i > 0 && panel.scrollHeight > panel.clientHeight + 1; i--) {
    rows[i].hidden = true;
  }
}

function fitLists() {
  for (const id of ["leaders-rows", "schools", "sessions-rows"]) fit($(id));
}

function render(doc) {
  doc.totals = doc.totals || {};
  for (const node of document.querySelectorAll("[data-metric]")) {
    const c = doc.totals[node.dataset.metric];
    setNumber(node, c ? c[node.dataset.part] : 0);
  }
  notes(doc);
  const asOf = new Date(doc.as_of);
  if (!Number.isNaN(asOf.getTime())) {
    $("updated").textContent = fill(L.updated, {t: hhmmss.format(asOf)});
    $("updated").dateTime = doc.as_of;
  }
  drawChart(doc);
  leaders(doc.by_employer || []);
  schools(doc.by_school || []);
  sessions(doc.by_session || []);
  hires(doc);
  fitLists();
}

let fairMeta = [];

function showMeta() {
  const offered = registered && registered.positions
    ? fill(L.positions_note, {p: fmt(registered.positions), h: fmt(registered.headcount)}) : "";
  $("fair-meta").textContent = [...fairMeta, offered].filter(Boolean).join(" · ");
}

function showFair(fair) {
  $("fair-name").textContent = fair.name;
  document.title = `${fair.name} · ${L.title}`;
  const start = new Date(fair.starts_at), end = new Date(fair.ends_at);
  const sameDay = start.toDateString() === end.toDateString();
  const when = `${day.format(start)} – ${sameDay ? hhmm.format(end) : day.format(end)}`;
  fairMeta = [fair.venue, when];
  showMeta();
}

function showRegistered(counts) {
  registered = counts;
  showMeta();
  const note = $("leaders-note");
  if (note.dataset.active !== undefined) note.textContent = leadersNote(Number(note.dataset.active));
}

/* ---------- The live link ---------- */

class Refused extends Error {
  constructor(status) { super("HTTP " + status); this.status = status; }
}

function dashboard() {
  const fair = cfg.fair;
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {  // handed over once in the address; never left there
    tokens.set(fair, fragment.get("token").trim());
    history.replaceState(null, "", location.pathname + location.search);
  }
  let token = tokens.get(fair);
  let run = 0;  // bumped whenever the token changes: older loops see it and stop
  let abort = null;
  let lastId = "";
  let latest = null, drawing = false;

  function setLink(state) {
    $("link").dataset.state = state;
    $("link").textContent = state === "live" ? L.live_state : L[state];
  }

  function stop() {
    run += 1;
    if (abort) abort.abort();
  }

  function askToken(message) {
    stop();
    tokens.drop(fair);
    token = "";
    setLink("connecting");
    $("login-error").textContent = message;
    $("login").hidden = false;
    $("login-token").focus();
  }

  function refused(status) {
    if (status === 404) {
      stop();
      $("fair-name").textContent = L.no_fair;
      setLink("connecting");
      return;
    }
    askToken(status === 401 ? L.bad_token : L.forbidden);
  }

  function show(doc) {  // at most one render per frame, however fast events come
    latest = doc;
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => { drawing = false; render(latest); });
  }

  async function loadFair(gen) {
    for (let attempt = 0; gen === run; attempt++) {
      try {
        const r = await fetch(`/v1/fairs/${fair}`, {headers: bearer(token), cache: "no-store"});
        if (gen !== run) return;
        if ([401, 403, 404].includes(r.status)) return refused(r.status);
        if (r.ok) return showFair(await r.json());
      } catch (e) { /* offline: try again */ }
      await sleep(Math.min(30000, 2000 * 2 ** attempt));
    }
  }

  /* The registry's counts: now, then every minute (employers may be added during the day). */
  async function loadCounts(gen) {
    while (gen === run) {
      try {
        const r = await fetch(`/v1/fairs/${fair}/registry/counts`,
          {headers: bearer(token), cache: "no-store"});
        if (gen !== run) return;
        if (r.ok) showRegistered(await r.json());
      } catch (e) { /* offline: the stream's reconnection says so; try again later */ }
      await sleep(60000);
    }
  }

  async function streamOnce(gen, link) {
    const control = new AbortController();
    abort = control;
    let timer = 0;
    const watchdog = () => {  // keep-alives come every 15 s; silence means a dead link
      clearTimeout(timer);
      timer = setTimeout(() => control.abort(), 45000);
    };
    try {
      watchdog();
      const headers = {...bearer(token), Accept: "text/event-stream"};
      if (lastId) headers["Last-Event-ID"] = lastId;
      const r = await fetch(`/v1/fairs/${fair}/stats/stream`,
        {headers, cache: "no-store", signal: control.signal});
      if ([401, 403, 404].includes(r.status)) throw new Refused(r.status);
      if (!r.ok || !r.body) return;
      if (gen === run) setLink("live");
      const push = sseParser((ev) => {
        if (ev.id !== null) lastId = ev.id;
        if (ev.type !== "stats" || gen !== run) return;
        link.failures = 0;
        try { show(JSON.parse(ev.data)); } catch (e) { /* a torn event: the next one repairs */ }
      }, (ms) => { link.retry = ms; });
      const reader = r.body.getReader(), decoder = new TextDecoder();
      for (;;) {
        const {value, done} = await reader.read();
        if (done || gen !== run) return;
        watchdog();
        push(decoder.decode(value, {stream: true}));
      }
    } finally {
      clearTimeout(timer);
      control.abort();
    }
  }

  async function streamLoop(gen) {
    const link = {failures: 0, retry: 3000};
    while (gen === run) {
      try {
        await streamOnce(gen, link);
      } catch (e) {
        if (e instanceof Refused) return gen === run ? refused(e.status) : undefined;
      }
      if (gen !== run) return;
      setLink("reconnecting");
      link.failures += 1;
      const backoff = Math.min(30000, link.retry * 2 ** Math.min(link.failures - 1, 4));
      await sleep(backoff * (0.8 + Math.random() * 0.4));
    }
  }

  function start() {
    stop();
    const gen = run;
    setLink("connecting");
    loadFair(gen);
    loadCounts(gen);
    streamLoop(gen);
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("login-token").value.trim();
    if (!value) { $("login-error").textContent = L.need_token; return; }
    tokens.set(fair, value);
    token = value;
    $("login-token").value = "";
    $("login").hidden = true;
    start();
  });
  $("sign-out").addEventListener("click", () => askToken(""));
  new ResizeObserver(() => { if (latest) drawChart(latest); }).observe($("chart"));
  new ResizeObserver(() => { if (latest) fitLists(); }).observe($("board"));
  $("updated").textContent = L.waiting;
  drawChart(null);
  if (token) start(); else askToken("");
}

/* ---------- The index: a fair id and a token, or the admin's list of fairs ---------- */

function index() {
  const form = $("open-form"), error = $("open-error");
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const href = (fair, token) =>
    `/dashboard/${fair}${langQuery}#token=${encodeURIComponent(token)}`;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const fair = form.elements.fair.value.trim().toLowerCase();
    const token = form.elements.token.value.trim();
    if (!token) { error.textContent = L.need_token; return; }
    if (fair) {
      if (!UUID.test(fair)) { error.textContent = L.bad_fair; return; }
      location.assign(href(fair, token));
      return;
    }
    let r;
    try {
      r = await fetch("/v1/fairs", {headers: bearer(token), cache: "no-store"});
    } catch (e) { error.textContent = L.network; return; }
    if (r.status === 401) { error.textContent = L.bad_token; return; }
    if (!r.ok) { error.textContent = L.need_fair; return; }  // not the admin: name the fair
    const fairs = (await r.json()).fairs || [];
    $("fair-list").replaceChildren(...(fairs.length ? fairs.map((f) => {
      const a = el("a", "", "");
      a.href = href(f.id, token);
      const when = new Date(f.starts_at);
      a.append(el("strong", "", f.name),
        el("span", "muted", [f.venue, Number.isNaN(when.getTime()) ? "" : day.format(when)]
          .filter(Boolean).join(" · ")));
      const li = el("li");
      li.append(a);
      return li;
    }) : [el("li", "muted", L.no_fairs)]));
    $("fairs").hidden = false;
  });
}

if (cfg.page === "dashboard") dashboard();
else if (cfg.page === "index") index();
})();
