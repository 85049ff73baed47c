"""The organizer's devices page: every kiosk's last contact and queue, and its enrolment QR.

Like the dashboard, the page holds no data and no token: devices.js reads the organizer's token
from this browser (the dashboard's own key, so signing in on one page signs in on both) and
calls GET /v1/fairs/{fair}/kiosks; an enrolment QR is created on request and shown until used.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

from aiohttp import web

from fairhub.gateway.access import fair_id
from fairhub.gateway.errors import NotFound
from fairhub.gateway.pages import (
    html_response,
    lang_link,
    page_lang,
    settings_script,
    shell,
    token_form,
)

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "设备管理", "brand": "FairHub 招聘会", "device": "设备", "post": "位置",
        "gate": "入口 {g}", "booth": "展位 {e}", "last_contact": "最近联系", "queued": "待上传",
        "late": "延迟上传", "scans": "扫码", "enrolment": "注册", "enrol": "生成注册二维码",
        "enrolled": "已注册于 {t}", "not_enrolled": "未注册", "never": "从未",
        "code": "注册码", "expires": "{t} 前有效", "hint": "用自助机扫描此二维码，"
        "或在自助机上运行 fairhub kiosk --enrol 上面的地址", "close": "关闭",
        "no_devices": "还没有设备。",
        "token_title": "请输入组织方令牌", "token": "令牌",
        "token_hint": "令牌只保存在本浏览器中。", "enter": "进入",
        "bad_token": "令牌无效或已注销，请重新输入。",
        "forbidden": "该令牌无权管理本场设备。", "network": "网络不通，请重试。",
        "failed": "出错了", "sign_out": "退出", "other_lang": "English",
        "not_found": "页面不存在", "not_found_text": "场次编号有误。", "updated": "更新于 {t}",
        "dashboard": "数据大屏",
    },
    "en": {
        "title": "Devices", "brand": "FairHub job fair", "device": "Device", "post": "Post",
        "gate": "gate {g}", "booth": "booth {e}", "last_contact": "Last contact",
        "queued": "Queued", "late": "Late", "scans": "Scans", "enrolment": "Enrolment",
        "enrol": "Enrolment QR", "enrolled": "enrolled {t}", "not_enrolled": "not enrolled",
        "never": "never", "code": "Code", "expires": "valid until {t}",
        "hint": "Scan this QR code with the kiosk, or run fairhub kiosk --enrol"
        " with the address above on it",
        "close": "Close", "no_devices": "No devices yet.",
        "token_title": "Enter the organizer token", "token": "Token",
        "token_hint": "The token stays in this browser only.", "enter": "Open",
        "bad_token": "Unknown or revoked token; enter it again.",
        "forbidden": "This token may not manage this fair's devices.",
        "network": "Network error, retrying.", "failed": "Error", "sign_out": "Sign out",
        "other_lang": "中文", "not_found": "Page not found",
        "not_found_text": "That is not a fair id.", "updated": "Updated {t}",
        "dashboard": "Dashboard",
    },
}  # fmt: skip

# The tab's icon, inline so that browsers do not ask for /favicon.ico: a kiosk's screen.
_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%230b1120'/%3E"
    "%3Cpath d='M4 3h8v7H4zm3 8h2v2H7z' fill='%234cc9f0'/%3E%3C/svg%3E"
)
_HEADS = ("device", "post", "last_contact", "queued", "late", "scans", "enrolment")


def _shell(lang: str, title: str, body: str) -> str:
    return shell(
        lang=lang,
        title=title,
        body=f"<body>{body}</body>",
        icon=_ICON,
        css="devices.css",
        script="devices.js",
    )


def devices_page(fair: str, labels: dict[str, str], lang: str) -> str:
    """The page of one fair; `fair` is a canonical UUID, so it is safe in markup."""
    L = labels
    heads = "".join(f'<th scope="col">{L[k]}</th>' for k in _HEADS)
    suffix = "?lang=en" if lang == "en" else ""
    body = (
        f'<header class="top"><div><p class="eyebrow">{L["brand"]}</p><h1>{L["title"]}</h1>'
        '<p id="updated" class="muted"></p></div><nav>'
        f'<a href="/dashboard/{fair}{suffix}">{L["dashboard"]}</a>{lang_link(lang, L)}'
        f'<button id="sign-out" type="button">{L["sign_out"]}</button></nav></header>'
        f"{token_form(L)}"
        f'<main id="main" hidden><p id="error" class="error" role="alert"></p>'
        f'<table id="devices"><thead><tr>{heads}</tr></thead><tbody id="rows"></tbody></table>'
        f'<p id="empty" class="muted" hidden>{L["no_devices"]}</p></main>'
        '<section id="enrol" class="enrol" hidden role="dialog" aria-labelledby="enrol-title">'
        '<div class="card"><h2 id="enrol-title"></h2><img id="enrol-qr" alt="">'
        f'<p>{L["code"]}: <strong id="enrol-code"></strong></p>'
        '<p id="enrol-url" class="muted url"></p><p id="enrol-expires" class="muted"></p>'
        f'<p class="muted">{L["hint"]}</p>'
        f'<button id="enrol-close" type="button">{L["close"]}</button></div></section>'
        f"{settings_script({'page': 'devices', 'lang': lang, 'fair': fair, 'labels': L})}"
    )
    return _shell(lang, f"{L['title']} · FairHub", body)


async def page(request: web.Request) -> web.Response:
    """A fair's devices page (Chinese, or English with ?lang=en); data come from the API."""
    lang = page_lang(request)
    labels = LABELS[lang]
    try:
        fair = fair_id(request)
    except NotFound:
        body = (
            f"<main><h1>{labels['not_found']}</h1><p>{labels['not_found_text']}</p></main>"
            f"{settings_script({'page': 'none', 'lang': lang, 'labels': labels})}"
        )
        return html_response(_shell(lang, labels["not_found"], body), status=404)
    return html_response(devices_page(fair, labels, lang))


async def enrolment_landing(request: web.Request) -> web.Response:
    """What a phone that scanned a kiosk's enrolment QR opens: it is meant for a kiosk.

    The code is not looked up (nor spent): this page says nothing about whether it is valid."""
    lang = page_lang(request)
    text = (
        "This QR code enrols a FairHub kiosk: scan it with the kiosk's scanner, or run"
        " <code>fairhub kiosk --enrol</code> with this page's address on the kiosk."
        if lang == "en"
        else "这是 FairHub 自助机注册码：请用自助机的扫码枪扫描，或在自助机上运行"
        " <code>fairhub kiosk --enrol</code> 加本页地址。"
    )
    body = (
        f"<main><h1>FairHub</h1><p>{text}</p></main>"
        f"{settings_script({'page': 'none', 'lang': lang, 'labels': LABELS[lang]})}"
    )
    return html_response(_shell(lang, "FairHub", body))


def add_routes(app: web.Application) -> None:
    """Register the devices page (its files are served from /static/ with the others)."""
    app.router.add_get("/devices/{fair}", page)
    app.router.add_get("/enrol/{code:[A-Za-z0-9-]{1,64}}", enrolment_landing)
