"""The seed alliances: four groups whose published figures the shipped spreadsheets hold.

- Wujin (2017): 16 schools and 50 enterprises found it on one day; 30 enterprises join later and
  its members-only fair has the 80 member enterprises.
- Zibo: 7 technical schools, 8 vocational schools, 9 associations and 126 enterprises, members
  joining and leaving over time, staff declared for the 2 % internship rule.
- Zhenjiang: 611 technical-management and 1,345 skilled posts (fitters, lathe operators,
  welders and elderly-care workers the most wanted); a menu of 30 institutions with 3,607
  regular seats and 3 project classes on 12 enterprises' 88 posts, 102 trainees.
- Baotou: 55 employers with 371 posts, and a menu the government pays for.

Each alliance is a folder of CSV files in the secretary's import format (members.csv,
demands.csv, offers.csv; Wujin's fair_employers.csv is its fair's employers import).
`load` sends them through the API as a secretary would, whole or as a scaled copy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairhub.alliance_sheets import COLUMNS, SheetKind, value
from fairhub.simulate.client import Api

HERE = Path(__file__).parent
SHEETS: tuple[SheetKind, ...] = ("members", "demands", "offers")


@dataclass(frozen=True)
class Seed:
    slug: str
    name: str
    region: str
    fair: str | None = None  # the name of its members-only fair, if it has one


SEEDS: tuple[Seed, ...] = (
    Seed("wujin", "武进校企合作联盟", "常州市武进区", "武进校企合作联盟成员企业专场招聘会"),
    Seed("zibo", "淄博技工教育集团", "淄博市"),
    Seed("zhenjiang", "镇江技能人才培养联盟", "镇江市"),
    Seed("baotou", "包头市就业技能培训联盟", "包头市"),
)
# The Wujin fair's day: after every member joined.
FAIR_DAY = ("2026-05-16T09:00:00+08:00", "2026-05-16T16:00:00+08:00")


@dataclass
class Table:
    """A sheet as rows of cells under its header."""

    header: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> int:
        return self.header.index(name)

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def table(path: Path) -> Table:
    """A seed file as its header and rows."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return Table(rows[0], rows[1:])


@dataclass
class Loaded:
    """An alliance as loaded: its ids, tokens and what each sheet created."""

    seed: Seed
    id: str
    secretary: str
    # Rows by their fields (name, kind, occupation, seats, …) with the ids the imports gave.
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name
    demands: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    fair: dict[str, Any] | None = None  # id, organizer and employers by name


def _keep(count: int, scale: float) -> list[bool]:
    """Which of `count` rows a scaled copy keeps: spread evenly, never none."""
    if scale >= 1:
        return [True] * count
    return [int(i * scale) < int((i + 1) * scale) or i == 0 for i in range(count)]


def scaled(sheets: dict[str, Table], scale: float) -> dict[str, Table]:
    """A smaller copy that still holds together: every kind of member (and those that left),
    the project classes with their institutions, enterprises and demand."""
    members, offers = sheets["members"], sheets.get("offers")
    name, kind, left = (members.column(c) for c in ("名称", "类型", "退出日期"))
    kept: set[str] = set()
    groups: dict[tuple[str, bool], list[str]] = {}
    for row in members.rows:
        groups.setdefault((row[kind], bool(row[left])), []).append(row[name])
    for names in groups.values():
        kept |= {n for n, keep in zip(names, _keep(len(names), scale), strict=True) if keep}
    out = dict(sheets)
    if offers is not None:
        who, firms = offers.column("培训机构"), offers.column("订单企业")
        for row in offers.rows:
            if row[firms]:  # a project class keeps its institution and enterprises
                kept |= {row[who], *row[firms].split("、")}
        out["offers"] = Table(offers.header, [r for r in offers.rows if r[who] in kept])
    if "demands" in sheets:
        demands = sheets["demands"]
        firm = demands.column("企业名称")
        out["demands"] = Table(demands.header, [r for r in demands.rows if r[firm] in kept])
    out["members"] = Table(members.header, [r for r in members.rows if r[name] in kept])
    if "fair_employers" in sheets:
        employers = sheets["fair_employers"]
        out["fair_employers"] = Table(employers.header, [r for r in employers.rows if r[0] in kept])
    return out


def sheets_of(seed: Seed, scale: float = 1.0) -> dict[str, Table]:
    """The seed's files (members, demands, offers, fair_employers where it has them)."""
    found = {p.stem: table(p) for p in sorted((HERE / seed.slug).glob("*.csv"))}
    return scaled(found, scale)


class SeedError(Exception):
    """A seed file the API did not take whole: which file, and the first errors."""


async def _import(api: Api, path: str, token: str, data: bytes) -> list[dict[str, Any]]:
    _, answer = await api.call("POST", path, token, body=data, content_type="text/csv")
    if answer["errors"]:
        raise SeedError(f"{path}: {answer['errors'][:3]}")
    return list(answer["employers"] if "employers" in answer else answer["created"])


async def load_one(
    api: Api, admin: str, seed: Seed, scale: float = 1.0, note: Callable[[str], None] = print
) -> Loaded:
    """One alliance, its members, demand and menu (and fair), as a secretary loads them."""
    sheets = sheets_of(seed, scale)
    body = {"name": seed.name, "region": seed.region}
    _, made = await api.call("POST", "/v1/alliances", admin, json_body=body)
    loaded = Loaded(seed, made["id"], made["secretary_token"])
    base = f"/v1/alliances/{loaded.id}"
    for sheet in SHEETS:
        if sheet not in sheets:
            continue
        note(f"{seed.name}: {sheet}")
        created = await _import(
            api, f"{base}/{sheet}:import", loaded.secretary, sheets[sheet].csv()
        )
        rows, fields = sheets[sheet].rows, {c.header: c.field for c in COLUMNS[sheet]}
        for item in created:
            cells = zip(sheets[sheet].header, rows[item["line"] - 2], strict=True)
            entry = {fields[h]: value(fields[h], c) for h, c in cells if h in fields} | item
            if sheet == "members":
                loaded.members[item["name"]] = entry
            else:
                getattr(loaded, sheet).append(entry)
    if seed.fair is not None and "fair_employers" in sheets:
        note(f"{seed.name}: its fair")
        loaded.fair = await _fair(api, admin, loaded, sheets["fair_employers"])
    return loaded


async def _fair(api: Api, admin: str, loaded: Loaded, employers: Table) -> dict[str, Any]:
    body = {
        "name": loaded.seed.fair,
        "kind": "onsite",
        "starts_at": FAIR_DAY[0],
        "ends_at": FAIR_DAY[1],
        "venue": loaded.seed.region,
    }
    _, fair = await api.call("POST", "/v1/fairs", admin, json_body=body)
    link = {"fair_id": fair["id"], "members_only": True}
    await api.call("POST", f"/v1/alliances/{loaded.id}/fairs", loaded.secretary, json_body=link)
    path = f"/v1/fairs/{fair['id']}/employers:import"
    created = await _import(api, path, fair["organizer_token"], employers.csv())
    return {
        "id": fair["id"],
        "organizer": fair["organizer_token"],
        "employers": {e["name"]: e for e in created},
    }


async def load(
    api: Api,
    admin: str,
    scale: float = 1.0,
    slugs: tuple[str, ...] | None = None,
    note: Callable[[str], None] = print,
) -> list[Loaded]:
    """The seed alliances (or those named), one after the other."""
    chosen = [s for s in SEEDS if slugs is None or s.slug in slugs]
    return [await load_one(api, admin, seed, scale, note) for seed in chosen]
