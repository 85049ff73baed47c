"""What the full screen says, in Chinese (the default: staff and visitors read it) or English.

The gateway and the badge checks give reasons in English; the ones a kiosk can meet are
translated here, and an unknown one is shown as it came rather than hidden.
"""

# Chinese text uses full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("zh", "en")

# verdict -> colour of its block; the words come from the language's table.
COLOURS: dict[str, str] = {
    "admitted": "green4",
    "reentry": "dark_cyan",
    "invalid_badge": "red3",
    "wrong_fair": "red3",
    "revoked": "red3",
    "new_lead": "green4",
    "known_lead": "dark_cyan",
    "rejected": "red3",
}


@dataclass(frozen=True)
class Words:
    """Every text the full screen shows, in one language."""

    verdicts: dict[str, str]
    reasons: dict[str, str]
    scan_a_badge: str
    checking: str
    provisional: str  # under an offline verdict
    provisional_short: str  # in the list of recent scans
    confirmed: str
    queued: str
    gate: str
    booth: str
    today: str
    admitted_today: str
    leads_today: str
    waiting: str
    online: str
    offline: str  # {queued}
    token_refused: str
    time: str
    verdict: str
    name: str

    def verdict_of(self, verdict: str) -> str:
        """The big words for a verdict (its code, for one this table lacks)."""
        return self.verdicts.get(verdict, verdict.upper())

    def reason_of(self, reason: str) -> str:
        """A reason as this language says it; `badge: ` is the upload's prefix for the same."""
        bare = reason.removeprefix("badge: ")
        return self.reasons.get(bare, bare)


ZH = Words(
    verdicts={
        "admitted": "✔ 请进",
        "reentry": "↻ 再次入场",
        "invalid_badge": "✘ 无效胸卡",
        "wrong_fair": "✘ 非本场胸卡",
        "revoked": "✘ 胸卡已作废",
        "new_lead": "★ 新线索",
        "known_lead": "✔ 已是线索",
        "rejected": "✘ 被拒绝",
    },
    reasons={
        "not a FairHub badge": "不是本系统的胸卡",
        "the badge is incomplete": "胸卡不完整，请重新扫码",
        "the badge is damaged": "胸卡已损坏",
        "the badge is not valid": "胸卡无效",
        "the badge was signed by an unknown or retired key": "胸卡签名密钥未知或已停用",
        "the badge's signature is not valid": "胸卡签名无效（可能是伪造）",
        "a badge of another fair": "其他招聘会的胸卡",
        "a badge of another fair (not checked offline)": "其他招聘会的胸卡",
        "no such seeker in this fair": "本场没有这位求职者",
        "this seeker's badge was revoked": "该求职者的胸卡已注销",
        "this badge was replaced": "胸卡已补办，旧卡作废",
    },
    scan_a_badge="请扫描胸卡二维码",
    checking="核验中…",
    provisional="离线判定 · 待服务器确认",
    provisional_short="临时",
    confirmed="已确认 ✓",
    queued="待上传",
    gate="入口",
    booth="展位",
    today="今日",
    admitted_today="入场",
    leads_today="线索",
    waiting="待上传",
    online="● 在线",
    offline="● 离线 · {queued} 条待上传 · 判定为临时",
    token_refused="● 令牌被拒 · 扫码照常保存",
    time="时间",
    verdict="判定",
    name="姓名",
)

EN = Words(
    verdicts={
        "admitted": "✔ ADMITTED",
        "reentry": "↻ RE-ENTRY",
        "invalid_badge": "✘ INVALID BADGE",
        "wrong_fair": "✘ WRONG FAIR",
        "revoked": "✘ REVOKED",
        "new_lead": "★ NEW LEAD",
        "known_lead": "✔ ALREADY A LEAD",
        "rejected": "✘ REJECTED",
    },
    reasons={},
    scan_a_badge="Scan a badge",
    checking="Checking…",
    provisional="decided offline · the server will confirm",
    provisional_short="provisional",
    confirmed="confirmed ✓",
    queued="queued",
    gate="Gate",
    booth="Booth",
    today="today",
    admitted_today="in",
    leads_today="leads",
    waiting="queued",
    online="● ONLINE",
    offline="● OFFLINE · {queued} waiting · verdicts are provisional",
    token_refused="● TOKEN REFUSED · scans are kept",
    time="time",
    verdict="verdict",
    name="name",
)

WORDS: dict[str, Words] = {"zh": ZH, "en": EN}
