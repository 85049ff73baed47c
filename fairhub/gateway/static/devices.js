/* The organizer's devices page: each kiosk's last contact and queue, refreshed every few
 * seconds, and an enrolment QR on request. The organizer token is the dashboard's, kept in
 * this browser under the same key; it is sent as a bearer header, never in an address.
 */
(() => {
"use strict";

const {cfg, L, $, el, fmt, fill, day, store, bearer, sleep} = window.FairHub;
if (cfg.page !== "devices") return;
const fair = cfg.fair;
const key = "fairhub.dashboard.token." + fair;  // shared with the dashboard on purpose
const REFRESH_MS = 5000;
let token = store.get(key);
let run = 0;  // bumped when the token changes: an older loop sees it and stops

const when = (iso) => (iso ? day.format(new Date(iso)) : L.never);

function post(d) {
  if (d.employer_id) return fill(L.booth, {e: d.employer_name || d.employer_id});
  return d.gate ? fill(L.gate, {g: d.gate}) : "—";
}

function row(d) {
  const tr = el("tr");
  tr.dataset.device = d.id;
  const cells = [
    [d.label, "label"], [post(d), "post"], [when(d.last_contact_at), "contact"],
    [d.queued === null || d.queued === undefined ? "—" : fmt(d.queued), "queued"],
    [fmt(d.late_scans), "late"], [fmt(d.scans), "scans"],
  ];
  for (const [text, name] of cells) {
    const td = el("td", name, text);
    td.dataset.col = name;
    tr.append(td);
  }
  const td = el("td", "enrolment");
  td.append(el("span", "muted", d.enrolled_at ? fill(L.enrolled, {t: when(d.enrolled_at)})
    : L.not_enrolled));
  const button = el("button", "enrol-button", L.enrol);
  button.type = "button";
  button.addEventListener("click", () => enrol(d));
  td.append(button);
  tr.append(td);
  return tr;
}

async function api(path, init = {}) {
  const r = await fetch(path, {...init, headers: {...bearer(token), ...(init.headers || {})},
    cache: "no-store"});
  if (r.status === 401 || r.status === 403) {
    askToken(r.status === 401 ? L.bad_token : L.forbidden);
    throw new Error("refused");
  }
  return r;
}

async function enrol(d) {
  $("error").textContent = "";
  try {
    const r = await api(`/v1/fairs/${fair}/devices/${encodeURIComponent(d.id)}/enrolment`,
      {method: "POST"});
    const answer = await r.json();
    if (!r.ok) { $("error").textContent = answer.detail || L.failed; return; }
    const svg = await (await api(answer.qr_svg_url)).text();
    // The page's policy allows data: images only; the SVG comes from FairHub's own encoder.
    $("enrol-qr").src = "data:image/svg+xml;base64," + btoa(svg);
    $("enrol-title").textContent = d.label;
    $("enrol-code").textContent = answer.code;
    $("enrol-url").textContent = answer.url;
    $("enrol-expires").textContent = fill(L.expires, {t: when(answer.expires_at)});
    $("enrol").hidden = false;
  } catch (e) {
    if (e.message !== "refused") $("error").textContent = L.network;
  }
}

async function refresh(mine) {
  while (mine === run) {
    try {
      const r = await api(`/v1/fairs/${fair}/kiosks`);
      if (r.ok) {
        const {items} = await r.json();
        $("rows").replaceChildren(...items.map(row));
        $("empty").hidden = items.length > 0;
        $("updated").textContent = fill(L.updated, {t: when(new Date().toISOString())});
        $("error").textContent = "";
      } else {
        $("error").textContent = L.failed;
      }
    } catch (e) {
      if (e.message === "refused") return;
      $("error").textContent = L.network;
    }
    await sleep(REFRESH_MS);
  }
}

function askToken(message) {
  run += 1;
  store.drop(key);
  token = "";
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("login-token").focus();
}

function start() {
  $("login").hidden = true;
  $("main").hidden = false;
  run += 1;
  refresh(run);
}

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {  // handed over once in the address; never left there
  token = fragment.get("token").trim();
  store.set(key, token);
  history.replaceState(null, "", location.pathname + location.search);
}
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("login-token").value.trim();
  if (!value) return;
  token = value;
  store.set(key, value);
  $("login-token").value = "";
  start();
});
$("sign-out").addEventListener("click", () => askToken(""));
$("enrol-close").addEventListener("click", () => { $("enrol").hidden = true; });
if (token) start(); else askToken("");
})();
