/* FairHub, the fair's phone page: sign up (线上报名), or sign in again with a code by SMS.
 *
 * Both post to /p/{fair}/signup, which sets the seeker's cookie for the fair's pages; then the
 * phone goes where it came from (?next=, a page of this site) or to "my page" with the badge.
 * A phone number already registered gets no token without the code sent to it.
 */
(() => {
"use strict";

if (!window.FairHub) return;
const {cfg, L, $, fill, sleep} = window.FairHub;
if (cfg.page !== "fair") return;
const fair = cfg.fair;

function onwards() {  // back to the page that sent the phone here, if it is one of ours
  const next = new URLSearchParams(location.search).get("next") || "";
  const ours = next.startsWith("/") && !next.startsWith("//") && !next.includes("\\");
  location.href = ours ? next : `/p/${fair}/me`;
}

function say(node, text, ok) {
  node.textContent = text;
  node.className = "outcome " + (ok ? "ok" : "err");
}

function describe(form, status, j) {
  let text = status === 429 || status >= 500 ? L.later : L.failed;
  if (j && j.detail) text += ": " + j.detail;
  const fields = j && Array.isArray(j.fields) ? j.fields : [];
  for (const f of fields) {
    const input = form.elements[f] || form.elements["signin-" + f];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
  return fields.length ? `${text} (${L.fields}: ${fields.join(", ")})` : text;
}

async function post(path, body) {
  const r = await fetch(`/p/${fair}${path}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  let j = null;
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  return {r, j};
}

async function whoAmI() {
  try {
    const r = await fetch(`/p/${fair}/me.json`, {cache: "no-store"});
    if (!r.ok) return;
    const me = await r.json();
    $("me-hello").textContent = fill(L.hello, {name: me.seeker.name});
    $("me-card").hidden = false;
    $("signup").hidden = true;
    $("signin").hidden = true;
  } catch (e) { /* offline: the forms stay */ }
}

/* ---------- Sign up ---------- */

const signup = $("signup-form"), signupOut = $("signup-answer");
signup.addEventListener("input", (ev) => ev.target.removeAttribute("aria-invalid"));
signup.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = signup.elements;
  const value = (name) => f[name].value.trim();
  if (!value("name")) { f.name.setAttribute("aria-invalid", "true"); return say(signupOut, L.need_name, false); }
  if (!value("phone")) { f.phone.setAttribute("aria-invalid", "true"); return say(signupOut, L.need_phone, false); }
  if (!f.consent.checked) return say(signupOut, L.need_consent, false);
  const body = {name: value("name"), phone: value("phone"), consent: true};
  for (const name of ["school", "major"]) if (value(name)) body[name] = value(name);
  if (value("graduation_year")) body.graduation_year = Number(value("graduation_year"));
  const button = signup.querySelector("button[type=submit]");
  button.disabled = true;
  say(signupOut, L.signing_up, true);
  try {
    const {r, j} = await post("/signup", body);
    if (r.ok) return onwards();
    if (j && j.error === "phone_registered") {  // the same person on a new phone: a code, then in
      say(signupOut, L.registered, false);
      $("signin-box").open = true;
      $("signin-phone").value = body.phone;
      $("signin-form").elements.consent.checked = true;
      $("send-code").focus();
      return;
    }
    if (j && j.error === "signup_closed") return say(signupOut, j.full ? L.full : L.closed, false);
    say(signupOut, describe(signup, r.status, j), false);
  } catch (e) {
    say(signupOut, L.network, false);
  } finally {
    button.disabled = false;
  }
});

/* ---------- Sign in with a code ---------- */

const signin = $("signin-form"), signinOut = $("signin-answer"), codeButton = $("send-code");
signin.addEventListener("input", (ev) => ev.target.removeAttribute("aria-invalid"));

async function countdown(seconds) {
  const label = codeButton.textContent;
  codeButton.disabled = true;
  for (let s = seconds; s > 0; s--) {
    codeButton.textContent = fill(L.resend_in, {s});
    await sleep(1000);
  }
  codeButton.textContent = label;
  codeButton.disabled = false;
}

codeButton.addEventListener("click", async () => {
  const phone = $("signin-phone").value.trim();
  if (!phone) { $("signin-phone").setAttribute("aria-invalid", "true"); return say(signinOut, L.need_phone, false); }
  codeButton.disabled = true;
  try {
    const {r, j} = await post("/signup/code", {phone});
    if (r.ok) {
      say(signinOut, fill(L.code_sent, {minutes: Math.round((j.expires_in || 600) / 60)}), true);
      $("signin-code").focus();
      countdown(60);
      return;
    }
    codeButton.disabled = false;
    say(signinOut, describe(signin, r.status, j), false);
    const wait = Number(r.headers.get("Retry-After"));
    if (r.status === 429 && wait > 0 && wait <= 120) countdown(wait);
  } catch (e) {
    codeButton.disabled = false;
    say(signinOut, L.network, false);
  }
});

signin.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const phone = $("signin-phone").value.trim(), code = $("signin-code").value.trim();
  if (!phone) return say(signinOut, L.need_phone, false);
  if (!/^[0-9]{6}$/.test(code)) { $("signin-code").setAttribute("aria-invalid", "true"); return say(signinOut, L.need_code, false); }
  if (!signin.elements.consent.checked) return say(signinOut, L.need_consent, false);
  const button = signin.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const {r, j} = await post("/signup", {phone, code, consent: true});
    if (r.ok) return onwards();
    if (j && j.error === "signup_closed") return say(signinOut, j.full ? L.full : L.closed, false);
    if (j && (j.fields || []).includes("name")) return say(signinOut, L.not_registered, false);
    say(signinOut, describe(signin, r.status, j), false);
  } catch (e) {
    say(signinOut, L.network, false);
  } finally {
    button.disabled = false;
  }
});

whoAmI();
})();
