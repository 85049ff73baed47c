"""The public page's HTML: labels in Chinese and English, the styles, the résumé form's script.

Everything from the registry is escaped; the script runs under the page's CSP nonce.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode


@dataclass
class View:
    """What a page shows: the employer, the position scanned, and the positions searched."""

    fair: dict[str, Any]
    employer: dict[str, Any]
    position: dict[str, Any] | None
    positions: list[dict[str, Any]]  # those matching the search
    options: list[dict[str, Any]]  # every live position, for the résumé form
    job_types: list[dict[str, Any]]
    q: str
    job_type: str


def search_link(view: View, lang: str, /, **change: str) -> str:
    """A query string for this page with some search parameters changed.

    A changed parameter stays even when empty ("All" is job_type=), so that the view it
    opens is not taken for a new visit from the QR code.
    """
    params = {"q": view.q, "job_type": view.job_type, "lang": lang if lang == "en" else ""}
    params.update(change)
    query = urlencode({k: v for k, v in params.items() if v or k in change})
    return "?" + query if query else "?"


LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "booth": "展位", "positions": "在招职位", "search_ph": "搜索职位名称", "search": "搜索",
        "all": "全部", "headcount": "招 {n} 人", "none": "没有符合条件的职位",
        "apply": "投递简历", "badge": "胸卡编码",
        "badge_hint": "入场胸卡的编码，可粘贴；本机会记住",
        "position": "投递职位", "any_position": "不指定职位",
        "file": "简历文件（PDF、Word 或图片）", "send": "投递", "sending": "正在投递…",
        "sent": "简历已投递，祝你成功！", "again": "这份简历此前已收到。",
        "need_badge": "请填写胸卡编码", "need_file": "请选择简历文件", "failed": "投递失败",
        "too_big": "文件太大", "later": "服务繁忙，请稍后再试", "network": "网络不通，请重试",
        "fields": "请检查", "other_lang": "English", "not_found": "页面不存在",
        "not_found_text": "该企业或职位不存在，或已下线。",
    },
    "en": {
        "booth": "Booth", "positions": "Open positions", "search_ph": "Search positions",
        "search": "Search", "all": "All", "headcount": "{n} openings",
        "none": "No matching positions", "apply": "Send your résumé", "badge": "Badge code",
        "badge_hint": "The code of your entry badge; paste it once, this phone remembers it",
        "position": "Position", "any_position": "Any position",
        "file": "Résumé file (PDF, Word or image)", "send": "Send", "sending": "Sending…",
        "sent": "Your résumé was sent. Good luck!", "again": "This résumé had already arrived.",
        "need_badge": "Enter your badge code", "need_file": "Choose a résumé file",
        "failed": "Not sent", "too_big": "The file is too large",
        "later": "Busy, please try again shortly", "network": "Network error, please retry",
        "fields": "check", "other_lang": "中文", "not_found": "Page not found",
        "not_found_text": "This employer or position does not exist or is no longer listed.",
    },
}  # fmt: skip
_JS_LABELS = ("sending", "sent", "again", "need_badge", "need_file", "failed", "too_big", "later",
              "network", "fields")  # fmt: skip
_CSS = """*{box-sizing:border-box}body{margin:0;color:#1a1a1a;background:#f3f4f6;font:16px/1.5
system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",
"Source Han Sans SC","WenQuanYi Micro Hei",sans-serif}main{max-width:40rem;margin:0 auto;
padding:.75rem}header,section{background:#fff;border-radius:.75rem;padding:1rem;margin:0 0 .75rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:0 0 .5rem}p{margin:.25rem 0}
.muted{color:#666;font-size:.9rem}.bar{display:flex;justify-content:space-between;gap:1rem}
a{color:#0a66c2}.here{border-left:4px solid #f5a623}form.search{display:flex;gap:.5rem}
input,select,button{font:inherit;width:100%;padding:.6rem;border:1px solid #ccc;
border-radius:.5rem;background:#fff}form.search button{width:auto}button{background:#0a66c2;
color:#fff;border:0}button:disabled{opacity:.6}.chips{display:flex;flex-wrap:wrap;gap:.4rem;
margin:.75rem 0}.chips a{padding:.25rem .75rem;border-radius:1rem;background:#e8f0fb;
text-decoration:none;font-size:.9rem}.chips a.on{background:#0a66c2;color:#fff}ul{list-style:none;
padding:0;margin:0}li{padding:.6rem .5rem;border-top:1px solid #eee}li:first-child{border:0}
.title{font-weight:600}label{display:block;margin:.75rem 0 .25rem;font-size:.9rem}
[aria-invalid=true]{border-color:#b00020}#answer{min-height:1.5rem;margin-top:.75rem}
.ok{color:#0a7a2f}.err{color:#b00020}"""
_JS = """(() => {
const cfg = JSON.parse(document.getElementById("cfg").textContent), L = cfg.labels;
const form = document.getElementById("apply"), out = document.getElementById("answer");
const badge = form.elements.badge, button = form.querySelector("button");
let pending = null;  // the id of the submission being tried: a retry reuses it
try { badge.value = localStorage.getItem(cfg.key) || ""; } catch (e) {}
form.addEventListener("input", (ev) => {
  pending = null; ev.target.removeAttribute("aria-invalid");
});
const say = (text, ok) => { out.textContent = text; out.className = ok ? "ok" : "err"; };
const newId = () => "r" + Array.from(crypto.getRandomValues(new Uint8Array(16)),
  (x) => x.toString(16).padStart(2, "0")).join("");
const describe = (status, j) => {
  let text = status === 413 ? L.too_big : status === 429 || status >= 500 ? L.later : L.failed;
  if (j && j.detail) text += ": " + j.detail;
  const fields = (j && Array.isArray(j.fields)) ? j.fields : [];
  for (const f of fields) {
    const el = form.elements[f]; if (el && el.setAttribute) el.setAttribute("aria-invalid", "true");
  }
  return fields.length ? text + " (" + L.fields + ": " + fields.join(", ") + ")" : text;
};
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const code = badge.value.replace(/\\s+/g, "").toUpperCase(), file = form.elements.file.files[0];
  if (!code) return say(L.need_badge, false);
  if (!file) return say(L.need_file, false);
  try { localStorage.setItem(cfg.key, code); } catch (e) {}
  pending = pending || newId();
  const body = new FormData(form);  // id, employer_id and channel are hidden fields, first
  body.set("id", pending); body.set("badge", code);
  if (!body.get("position_id")) body.delete("position_id");
  button.disabled = true; say(L.sending, true);
  try {
    const r = await fetch(form.action, {method: "POST", body, credentials: "same-origin"});
    let j = null; try { j = await r.json(); } catch (e) {}
    if (r.ok) { say(r.status === 201 ? L.sent : L.again, true); pending = null; }
    else say(describe(r.status, j), false);
  } catch (e) { say(L.network, false); } finally { button.disabled = false; }
});
})();"""


def _shell(lang: str, title: str, body: str, nonce: str = "", script: str = "") -> str:
    tail = f'<script nonce="{nonce}">{script}</script>' if script else ""
    return (
        f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main>{tail}</body></html>"
    )


def not_found_page(labels: dict[str, str], lang: str) -> str:
    """What a phone shows for a code of an employer or position that is gone."""
    body = f"<section><h1>{labels['not_found']}</h1><p>{labels['not_found_text']}</p></section>"
    return _shell(lang, labels["not_found"], body)


def _position_item(position: dict[str, Any], labels: dict[str, str], here: bool) -> str:
    count = labels["headcount"].format(n=position["headcount"])
    return (
        f'<li{" class=here" if here else ""}><div class="title">{escape(position["title"])}</div>'
        f'<div class="muted">{escape(position["job_type"])} · {count}</div></li>'
    )


def render_page(view: View, labels: dict[str, str], lang: str, nonce: str) -> str:
    """The page; every value from the registry is escaped (names come from spreadsheets)."""
    e, L, emp, pos = escape, labels, view.employer, view.position
    meta = [f"{L['booth']} {emp['booth']}" if emp["booth"] else "", emp["industry"] or ""]
    other = "zh" if lang == "en" else "en"
    head = (
        f'<header><div class="bar"><span class="muted">{e(view.fair["name"])}</span>'
        f'<a href="{e(search_link(view, other, lang=other))}">{L["other_lang"]}</a></div>'
        f'<h1>{e(emp["name"])}</h1><p class="muted">{e(" · ".join(m for m in meta if m))}</p>'
        "</header>"
    )
    if pos is not None:
        count = L["headcount"].format(n=pos["headcount"])
        text = f"<p>{e(pos['description'])}</p>" if pos["description"] else ""
        head += (
            f'<section class="here"><h2>{e(pos["title"])}</h2>'
            f'<p class="muted">{e(pos["job_type"])} · {count}</p>{text}</section>'
        )
    keep = "".join(
        f'<input type="hidden" name="{k}" value="{e(v)}">'
        for k, v in (("job_type", view.job_type), ("lang", "en" if lang == "en" else ""))
        if v
    )
    chips = [(L["all"], "", not view.job_type)] + [
        (f"{t['job_type']} {t['count']}", t["job_type"], t["job_type"] == view.job_type)
        for t in view.job_types
    ]
    chip_links = "".join(
        f'<a href="{e(search_link(view, lang, job_type=value))}"{" class=on" if on else ""}>'
        f"{e(text)}</a>"
        for text, value, on in chips
    )
    here = pos["id"] if pos is not None else None
    items = "".join(_position_item(p, L, p["id"] == here) for p in view.positions)
    none = f'<li class="muted">{L["none"]}</li>'
    listing = (
        f'<section><h2>{L["positions"]}</h2><form class="search" method="get">'
        f'<input type="search" name="q" value="{e(view.q)}" placeholder="{L["search_ph"]}">'
        f'{keep}<button>{L["search"]}</button></form><nav class="chips">{chip_links}</nav>'
        f"<ul>{items or none}</ul></section>"
    )
    options = f'<option value="">{L["any_position"]}</option>' + "".join(
        f'<option value="{e(o["id"])}"{" selected" if o["id"] == here else ""}>'
        f"{e(o['title'])}</option>"
        for o in view.options
    )
    apply = (
        f'<section><h2>{L["apply"]}</h2><form id="apply" method="post" novalidate'
        f' action="/v1/fairs/{e(view.fair["id"])}/resumes" enctype="multipart/form-data">'
        f'<input type="hidden" name="id"><input type="hidden" name="employer_id"'
        f' value="{e(emp["id"])}"><input type="hidden" name="channel" value="onsite">'
        f'<label for="badge">{L["badge"]}</label><input id="badge" name="badge"'
        ' autocomplete="off" autocapitalize="characters" spellcheck="false">'
        f'<p class="muted">{L["badge_hint"]}</p>'
        f'<label for="position_id">{L["position"]}</label>'
        f'<select id="position_id" name="position_id">{options}</select>'
        f'<label for="file">{L["file"]}</label><input id="file" name="file" type="file"'
        ' accept=".pdf,.doc,.docx,.jpg,.png">'
        f'<p><button>{L["send"]}</button></p><p id="answer" role="status"></p></form></section>'
    )
    config = {
        "key": f"fairhub.badge.{view.fair['id']}",
        "labels": {k: L[k] for k in _JS_LABELS},
    }
    # Inside <script>, only "<" could end the element early; JSON may spell it \\u003c.
    data = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")
    body = head + listing + apply + f'<script type="application/json" id="cfg">{data}</script>'
    return _shell(lang, f"{emp['name']} · {view.fair['name']}", body, nonce, _JS)
