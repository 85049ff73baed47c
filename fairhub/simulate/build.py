# ruff: noqa: RUF001
"""Setting the fair up as an organizer does: the fair, three spreadsheets, kiosks, badges.

Everything goes through the public API with the admin token (the fair) and the organizer
token it yields (the rest). The answers carry what the day needs: employers' tokens, seekers'
ids (their badges are read one by one, as a badge printer would), the kiosks' device tokens.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fairhub.simulate.client import Api
from fairhub.simulate.day import Clock
from fairhub.simulate.profiles import Profile

T = TypeVar("T")
SCHOOLS = [f"{city}大学" for city in "京沪津渝冀晋辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂"]
MAJORS = ["会计", "计算机科学与技术", "机械工程", "市场营销", "临床医学", "英语", "土木工程"]
CITIES = [
    "北京", "上海", "天津", "重庆", "苏州", "杭州", "南京", "武汉", "成都", "西安",
    "广州", "深圳", "青岛", "厦门", "长沙", "郑州", "合肥", "福州", "济南", "宁波",
]  # fmt: skip
TRADES = [
    "精密制造",
    "信息科技",
    "金融服务",
    "教育科技",
    "医疗器械",
    "现代物流",
    "商贸",
    "建设工程",
]
INDUSTRIES = ["制造业", "信息技术", "金融", "教育", "医疗健康", "物流", "零售", "建筑"]
ROLES = ["工程师", "销售代表", "会计", "行政专员", "操作工", "市场专员", "客服", "设计师"]
JOB_TYPES = ["研发", "销售", "财务", "行政", "生产", "市场", "客服", "设计", "物流", "教师"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


@dataclass
class Position:
    id: str
    title: str
    employer_id: str


@dataclass
class Employer:
    id: str
    name: str
    token: str
    positions: list[Position] = field(default_factory=list)


@dataclass
class Seeker:
    id: str
    name: str
    school: str
    badge: str = ""


@dataclass
class Kiosk:
    id: str
    token: str
    gate: str
    label: str


@dataclass
class Session:
    id: str
    host_token: str
    title: str
    employer_ids: list[str]
    positions: list[Position]


@dataclass
class Fair:
    """The fair as the day's clients know it, and who plays which part."""

    id: str
    organizer: str
    name: str
    employers: list[Employer]
    kiosks: list[Kiosk]
    at_gate: list[Seeker]
    online: list[Seeker]  # send résumés from home
    live: list[Seeker]  # apply from the livestream
    revoked: list[Seeker]  # revoked by the organizer; their badges are still scanned
    replaced: list[tuple[Seeker, str]]  # (the seeker with the new badge, the old badge)
    foreign: list[str]  # genuine badges of another fair
    registry: dict[str, int]  # what the report should say the registry holds
    session: Session | None = None


async def gather_bounded(
    call: Callable[..., Awaitable[T]], arguments: Sequence[tuple[Any, ...]]
) -> list[T]:
    """call(*a) for every a; the Api bounds how many run at once."""
    return list(await asyncio.gather(*(call(*a) for a in arguments)))


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8-sig")  # as Excel writes it


async def _import(api: Api, fair: str, token: str, kind: str, body: bytes) -> dict[str, Any]:
    _, answer = await api.call(
        "POST", f"/v1/fairs/{fair}/{kind}:import", token, body=body, content_type="text/csv"
    )
    if answer["errors"]:
        raise RuntimeError(f"the {kind} spreadsheet was refused in part: {answer['errors'][:3]}")
    return dict(answer)


async def create_fair(api: Api, admin: str, name: str, kind: str, clock: Clock) -> tuple[str, str]:
    """A fair for the day's hours; its id and the organizer token (shown this once)."""
    _, body = await api.call(
        "POST",
        "/v1/fairs",
        admin,
        json_body={
            "name": name,
            "kind": kind,
            "starts_at": clock.opens.isoformat(),
            "ends_at": clock.closes.isoformat(),
            "venue": "市会展中心",
        },
    )
    return str(body["id"]), str(body["organizer_token"])


async def import_seekers(
    api: Api, fair: str, token: str, count: int, start: int = 0
) -> list[Seeker]:
    """`count` seekers from one spreadsheet, with their badges read back one by one."""
    rows, people = [], []
    for n in range(start, start + count):
        name = SURNAMES[n % 20] + GIVEN[(n // 20) % 20] + GIVEN[(n // 400) % 20]
        school = SCHOOLS[n % len(SCHOOLS)]
        rows.append(f"{name},{school},{MAJORS[n % len(MAJORS)]},139{n:08d}")
        people.append((name, school))
    answer = await _import(api, fair, token, "seekers", _csv("姓名,学校,专业,手机", rows))
    seekers = [Seeker(item["id"], *people[item["line"] - 2]) for item in answer["items"]]

    async def badge(seeker: Seeker) -> None:
        _, body = await api.call("GET", f"/v1/fairs/{fair}/seekers/{seeker.id}", token)
        seeker.badge = str(body["badge"])

    await gather_bounded(badge, [(s,) for s in seekers])
    return seekers


def _employer_name(n: int) -> str:
    """Distinct for the first 160 (a city and a trade each), numbered beyond."""
    city, rest = CITIES[n % 20], n // 20
    name = f"{city}{TRADES[(rest + n) % 8]}有限公司"
    return name if n < 160 else f"{name}{n // 160 + 1}"


async def _registry(
    api: Api, fair: str, token: str, profile: Profile
) -> tuple[list[Employer], int]:
    names = [_employer_name(n) for n in range(profile.employers)]
    rows = [
        f"{name},{chr(65 + n // 40 % 26)}{n % 40 + 1:02d},{INDUSTRIES[n % 8]}"
        for n, name in enumerate(names)
    ]
    answer = await _import(api, fair, token, "employers", _csv("企业名称,展位号,行业", rows))
    employers = [Employer(e["id"], e["name"], e["token"]) for e in answer["employers"]]
    by_name = {e.name: e for e in employers}
    rows, titles = [], []
    for n in range(profile.positions):
        employer = employers[n % len(employers)]
        title = f"{ROLES[n % len(ROLES)]}{n + 1:04d}"
        titles.append((employer, title))
        job_type = JOB_TYPES[(n // len(employers)) % len(JOB_TYPES)]
        rows.append(f"{employer.name},{title},{job_type},{1 + n % 5}")
    answer = await _import(
        api, fair, token, "positions", _csv("企业名称,岗位名称,岗位类别,招聘人数", rows)
    )
    for item in answer["items"]:
        employer, title = titles[item["line"] - 2]
        by_name[employer.name].positions.append(Position(item["id"], title, employer.id))
    return employers, len(answer["items"])


async def _kiosks(api: Api, fair: str, token: str, profile: Profile) -> list[Kiosk]:
    labels = [(g, f"{g}{k + 1}号机") for g in profile.gates for k in range(profile.kiosks_per_gate)]

    async def device(gate: str, label: str) -> Kiosk:
        _, body = await api.call(
            "POST", f"/v1/fairs/{fair}/devices", token, json_body={"label": label, "gate": gate}
        )
        return Kiosk(body["id"], body["token"], gate, label)

    return await gather_bounded(device, labels)


async def _session(
    api: Api, fair: str, token: str, profile: Profile, employers: list[Employer], clock: Clock
) -> Session:
    chosen = employers[: max(1, min(profile.session_employers, len(employers)))]
    title = f"{profile.title}·第一场"
    _, body = await api.call(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        token,
        json_body={
            "title": title,
            "employer_ids": [e.id for e in chosen],
            "platform": "视频号",
            "starts_at": clock.moment(0.02).isoformat(),
        },
    )
    positions = [Position(p["id"], p["title"], p["employer_id"]) for p in body["positions"]]
    return Session(body["id"], body["host_token"], title, [e.id for e in chosen], positions)


async def build(
    api: Api,
    admin: str,
    profile: Profile,
    clock: Clock,
    rng: random.Random,
    note: Callable[[str], None],
    announce: Callable[[str, str], None],
) -> Fair:
    """Create and fill the fair; `note` hears what is being done, `announce` the new fair."""
    name = f"{clock.opens:%Y-%m-%d} {profile.title}（模拟）"
    note("creating the fair")
    fair, token = await create_fair(api, admin, name, profile.kind, clock)
    announce(fair, token)
    note("importing employers and positions")
    employers, positions = await _registry(api, fair, token, profile)
    online = round(profile.senders * profile.online_share)
    sizes = [profile.at_gate, online, profile.live_senders, profile.no_shows, profile.revoked]
    note(f"importing {sum(sizes)} seekers and reading their badges")
    seekers = await import_seekers(api, fair, token, sum(sizes))
    rng.shuffle(seekers)
    parts, start = [], 0
    for size in sizes:
        parts.append(seekers[start : start + size])
        start += size
    at_gate, online_senders, live, _, revoked = parts
    note("revoking and reissuing badges")
    for seeker in revoked:
        await api.call("DELETE", f"/v1/fairs/{fair}/seekers/{seeker.id}", token)
    replaced = []
    for seeker in at_gate[: profile.replaced]:
        old = seeker.badge
        _, body = await api.call("POST", f"/v1/fairs/{fair}/seekers/{seeker.id}/badge", token)
        seeker.badge = str(body["badge"])
        replaced.append((seeker, old))
    foreign: list[str] = []
    if profile.foreign:
        note("another fair, whose badges get lost in this one")
        other, other_token = await create_fair(api, admin, f"{name}·邻区专场", "onsite", clock)
        foreign = [s.badge for s in await import_seekers(api, other, other_token, profile.foreign)]
    note("registering the kiosks")
    kiosks = await _kiosks(api, fair, token, profile)
    session = None
    if profile.viewers:
        note("creating the live session")
        session = await _session(api, fair, token, profile, employers, clock)
    registry = {
        "registry.employers": len(employers),
        "registry.positions": positions,
        "registry.seekers": len(seekers) - len(revoked),
        "registry.colleges": len({s.school for s in seekers}),
    }
    return Fair(
        fair, token, name, employers, kiosks, at_gate, online_senders, live, revoked, replaced,
        foreign, registry, session,
    )  # fmt: skip
