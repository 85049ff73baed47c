"""The secretary's spreadsheets: POST /v1/alliances/{a}/{members|demands|offers}:import and
GET …:template.{xlsx|csv}.

A file is the CSV Excel wrote or the .xlsx itself (raw body or a form's `file` part). Rows name
members by name (or id); every good row is added, every bad one is answered with its line, the
reason in Chinese (`?lang=en`: English) and the Chinese header of the column at fault. Rows are
checked as the one-by-one calls check them: a demand needs a current member enterprise, an offer
a current training institution, a project class the demand it is built on.
"""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any, cast

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from fairhub import alliance_sheets, alliances, keys, xlsx
from fairhub.alliance_sheets import SheetKind, header
from fairhub.csvimport import CsvError
from fairhub.gateway.alliances import alliance_caller
from fairhub.gateway.bodies import reply
from fairhub.gateway.errors import Unprocessable
from fairhub.gateway.imports import read_upload
from fairhub.import_texts import Said, lang_of, validation_problems

# An import is one request: a group's few thousand rows, not a registry of millions.
MAX_IMPORT_ROWS = 5000
MODELS: dict[SheetKind, type[BaseModel]] = {
    "members": alliances.MemberIn,
    "demands": alliances.DemandIn,
    "offers": alliances.OfferIn,
}
# The member a demand or an offer names must be of this kind.
MEMBER_KIND = {"demands": "enterprise", "offers": "training_institution"}


class RowError(Exception):
    """A row that cannot be added: the text in both languages and the field at fault."""

    def __init__(self, text: Said, field: str | None) -> None:
        super().__init__(text.en)
        self.text, self.field = text, field


async def import_sheet(request: web.Request) -> web.Response:
    """Add what the file holds that is valid; answer each bad line with its reason."""
    kind = cast(SheetKind, request.path.rsplit("/", 1)[1].split(":", 1)[0])
    lang = lang_of(request.query.get("lang"))
    alliance, _ = await alliance_caller(request)
    data = await read_upload(request, lang)
    try:
        rows = await asyncio.to_thread(alliance_sheets.read_sheet, kind, data, request.content_type)
    except CsvError as exc:
        raise Unprocessable(exc.text.say(lang), fields=exc.fields, code="bad_file") from None
    if len(rows) > MAX_IMPORT_ROWS:
        said = Said(
            f"a file holds at most {MAX_IMPORT_ROWS} rows", f"一个文件最多 {MAX_IMPORT_ROWS} 行"
        )
        raise Unprocessable(said.say(lang), fields=["file"])
    created: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    async with request.app[keys.DB].acquire() as conn:
        names = await _current_members(conn, alliance)
        for line, cells in rows:
            try:
                async with conn.transaction():
                    done = await _add_row(conn, alliance, kind, cells, names)
            except RowError as exc:
                field = header(kind, exc.field) if exc.field else None
                errors.append({"line": line, "error": exc.text.say(lang), "field": field})
                continue
            created.append({"line": line, **done})
            if kind == "members":
                names[str(cells["name"]).lower()] = str(done["id"])
    return reply({"created": created, "errors": errors})


async def _current_members(conn: asyncpg.Connection, alliance: str) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT id, name FROM alliance_members WHERE alliance_id = $1 AND left_at IS NULL",
        alliance,
    )
    return {r["name"].lower(): r["id"] for r in rows}


def _model(
    kind: SheetKind, values: dict[str, Any], model: type[BaseModel] | None = None
) -> BaseModel:
    try:
        return (model or MODELS[kind]).model_validate(values)
    except ValidationError as exc:
        first = validation_problems(kind, exc, {k: str(v) for k, v in values.items()})[0]
        field = first.field
        zh = first.text.zh
        if field and zh.startswith(f"{field}："):  # name the column as the sheet does
            zh = header(kind, field) + zh[len(field) :]
        raise RowError(Said(first.text.en, zh), field) from None


def _member_of(kind: SheetKind, cells: dict[str, Any], names: dict[str, str]) -> str:
    """The member a demand or offer row names, by id or by its current name."""
    if "member_id" in cells:
        return str(cells["member_id"])
    name = cells.get("member")
    if name is None:
        column = header(kind, "member")
        raise RowError(Said("member: missing", f"{column}：必填，不能为空"), "member")
    found = names.get(str(name).lower())
    if found is None:
        column = header(kind, "member")
        said = Said(
            f"member: no current member named {name!r}", f"{column}：联盟当前没有成员“{name}”"
        )
        raise RowError(said, "member")
    return found


async def _add_row(
    conn: asyncpg.Connection,
    alliance: str,
    kind: SheetKind,
    cells: dict[str, Any],
    names: dict[str, str],
) -> dict[str, Any]:
    if kind == "members":
        return await _add_member(conn, alliance, cells)
    values = {k: v for k, v in cells.items() if k not in ("member", "enterprises")}
    values["member_id"] = _member_of(kind, cells, names)
    field = "member_id" if "member_id" in cells else "member"
    await _check_member(conn, alliance, values["member_id"], MEMBER_KIND[kind], kind, field)
    if kind == "demands":
        demand = cast(alliances.DemandIn, _model(kind, values))
        return {"id": await alliances.insert_demand(conn, alliance, demand)}
    enterprises = [names.get(str(n).lower(), "") for n in cells.get("enterprises", [])]
    if "" in enterprises:
        unknown = next(n for n in cells["enterprises"] if str(n).lower() not in names)
        raise RowError(
            Said(
                f"enterprises: no current member named {unknown!r}",
                f"订单企业：联盟当前没有成员“{unknown}”",
            ),
            "enterprises",
        )
    offer = cast(alliances.OfferIn, _model(kind, values))
    demand_ids = await _demands_of(conn, alliance, offer, enterprises)
    offer = offer.model_copy(update={"demand_ids": demand_ids})
    new_id, built_on = await insert_offer(conn, alliance, offer)
    return {"id": new_id, "enterprise_ids": built_on}


async def _add_member(
    conn: asyncpg.Connection, alliance: str, cells: dict[str, Any]
) -> dict[str, Any]:
    """A member, and its leave when the sheet gives one (a group's history in one file)."""
    leave = {"left_at": cells["left_at"]} if "left_at" in cells else {}
    left_at = cast(alliances.LeaveIn, _model("members", leave, alliances.LeaveIn)).left_at
    fields = {k: v for k, v in cells.items() if k != "left_at"}
    body = cast(alliances.MemberIn, _model("members", fields))
    try:
        member = await alliances.insert_member(conn, alliance, body)
    except asyncpg.UniqueViolationError:
        said = Said(f"name: {body.name} is already a member", f"名称：“{body.name}”已是联盟成员")
        raise RowError(said, "name") from None
    if left_at is not None:
        left = await conn.fetchval(
            "UPDATE alliance_members SET left_at = $3 WHERE alliance_id = $1 AND id = $2"
            " AND joined_at <= $3 RETURNING true",
            alliance,
            member,
            left_at,
        )
        if not left:
            said = Said("left_at: before joined_at", "退出日期：早于加入日期")
            raise RowError(said, "left_at")
    return {"id": member, "name": body.name, **({"left_at": left_at} if left_at else {})}


# Member kinds as the secretary's sheets write them.
KIND_NAMES = {
    "school": "学校",
    "technical_school": "技工院校",
    "vocational_school": "职业院校",
    "enterprise": "企业",
    "association": "行业协会",
    "training_institution": "培训机构",
}


async def _check_member(
    conn: asyncpg.Connection, alliance: str, member: str, kind: str, sheet: SheetKind, field: str
) -> None:
    found = await alliances.members(conn, alliance, {member})
    row, today = found.get(member), date.today()
    problem = alliances.member_problem(row, today, kind)
    if problem is None:
        return
    column = header(sheet, field)
    if row is None:
        zh = f"联盟没有成员“{member}”"
    elif row["kind"] != kind:
        zh = f"“{row['name']}”是{KIND_NAMES[row['kind']]}，不是{KIND_NAMES[kind]}"
    elif today < row["joined_at"]:
        zh = f"“{row['name']}”于 {row['joined_at']} 才加入联盟"
    else:
        zh = f"“{row['name']}”已于 {row['left_at']} 退出联盟"
    raise RowError(Said(f"{field}: {problem}", f"{column}：{zh}"), field)


async def _demands_of(
    conn: asyncpg.Connection, alliance: str, offer: alliances.OfferIn, enterprises: list[str]
) -> list[str]:
    """The demand rows a project class is built on: named, or its enterprises' for its job."""
    ids = list(offer.demand_ids)
    if enterprises:
        rows = await conn.fetch(
            "SELECT id FROM demands WHERE alliance_id = $1 AND member_id = any($2::text[])"
            " AND occupation = $3 ORDER BY created_at, id",
            alliance,
            enterprises,
            offer.occupation,
        )
        if not rows:
            said = Said(
                f"enterprises: these enterprises post no demand for {offer.occupation}",
                f"订单企业：这些企业没有“{offer.occupation}”的用工需求",
            )
            raise RowError(said, "enterprises")
        ids += [r["id"] for r in rows if r["id"] not in ids]
    if offer.kind == "project_class" and not ids:
        said = Said(
            "enterprises: a project class names the enterprises (or demand) it is built on",
            "订单企业：订单班须填写订单企业（或需求编号）",
        )
        raise RowError(said, "enterprises")
    return ids


async def insert_offer(
    conn: asyncpg.Connection, alliance: str, body: alliances.OfferIn
) -> tuple[str, list[str]]:
    """Store one offer; its demand rows (checked to exist) give the enterprises behind it."""
    rows = await conn.fetch(
        "SELECT id, member_id FROM demands WHERE alliance_id = $1 AND id = any($2::text[])",
        alliance,
        body.demand_ids,
    )
    missing = sorted(set(body.demand_ids) - {r["id"] for r in rows})
    if missing:
        said = Said(
            f"demand_ids: no demand {missing[0]!r} in this alliance",
            f"需求编号：联盟没有需求“{missing[0]}”",
        )
        raise RowError(said, "demand_ids")
    enterprises = sorted({r["member_id"] for r in rows})
    offer = str(uuid.uuid4())
    await alliances.store_offer(conn, alliance, offer, body, enterprises)
    return offer, enterprises


async def get_template(request: web.Request) -> web.Response:
    """The file to fill in: Chinese headers, one example row the import skips, and help."""
    name = request.path.rsplit("/", 1)[1]
    kind = cast(SheetKind, name.split(":", 1)[0])
    ext = request.match_info["ext"]
    await alliance_caller(request)
    headers = {"Content-Disposition": f"attachment; filename={kind}-template.{ext}"}
    if ext == "xlsx":
        body = await asyncio.to_thread(alliance_sheets.template_xlsx, kind)
        return web.Response(body=body, content_type=xlsx.CONTENT_TYPE, headers=headers)
    body = alliance_sheets.template_csv(kind)
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers=headers)


def add_routes(app: web.Application) -> None:
    for kind in alliance_sheets.SHEET_KINDS:
        app.router.add_post(f"/v1/alliances/{{alliance}}/{kind}:import", import_sheet)
        app.router.add_get(
            f"/v1/alliances/{{alliance}}/{kind}:template.{{ext:xlsx|csv}}", get_template
        )
