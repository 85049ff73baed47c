"""Reading an organizer's spreadsheet (CSV as Excel writes it in China, or the .xlsx workbook
itself) into registry rows.

Pure functions, no I/O: the gateway reads the upload, these turn bytes into validated models
and per-line errors. Line numbers are physical lines of the file (the header is usually line 1)
and name the line where a row starts, so a quoted cell spanning lines keeps later rows right;
in a workbook they are the row numbers Excel shows. Both go through the same header mapping
and validation, so a workbook and its CSV import the same rows with the same errors.
"""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from fairhub import import_texts as texts
from fairhub import xlsx
from fairhub.import_texts import Problem, Said, header, join, validation_problems
from fairhub.registry import EmployerIn, PositionIn, SeekerIn, phone_key
from fairhub.salary import parse_salary

Kind = Literal["employers", "positions", "seekers"]

# Accepted header names per field, compared after _normalize: case, spaces, "_", "*", a trailing
# "(...)" and full-width forms do not matter, so "Job Type", "job_type" and "*招聘人数(人)" match.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "employers": {
        "name": ("name", "企业名称", "单位名称", "名称", "公司名称", "用人单位", "企业", "公司"),
        "booth": ("booth", "展位", "展位号"),
        "industry": ("industry", "行业", "所属行业"),
    },
    "positions": {
        "employer": ("employer", "employer_name", "企业名称", "单位名称", "公司名称", "用人单位"),
        "employer_id": ("employer_id", "企业id", "企业编号"),
        "title": ("title", "岗位名称", "职位名称", "岗位", "职位"),
        "job_type": ("job_type", "岗位类别", "职位类别", "工作性质", "类别"),
        "headcount": ("headcount", "招聘人数", "人数", "需求人数"),
        "description": ("description", "岗位描述", "职位描述", "岗位要求", "岗位职责"),
        # One cell ("5000-8000", "8k-12k", "面议") or the two ends in their own columns.
        "salary": ("salary", "薪资", "薪资待遇", "薪酬", "月薪", "工资", "薪资范围"),
        "salary_min": ("salary_min", "最低薪资", "最低月薪", "薪资下限"),
        "salary_max": ("salary_max", "最高薪资", "最高月薪", "薪资上限"),
        "location": ("location", "工作地点", "工作地址", "工作城市", "地点"),
    },
    "seekers": {
        "name": ("name", "姓名"),
        "school": ("school", "学校", "毕业院校", "院校"),
        "major": ("major", "专业"),
        "phone": ("phone", "手机", "手机号", "手机号码", "电话", "联系电话"),
        "graduation_year": ("graduation_year", "毕业年份", "毕业年度", "届别"),
    },
}
# Columns a file must have (positions need one of employer / employer_id as well).
REQUIRED: dict[str, tuple[str, ...]] = {
    "employers": ("name",),
    "positions": ("title", "job_type", "headcount"),
    "seekers": ("name",),
}
MODELS: dict[str, type[BaseModel]] = {
    "employers": EmployerIn,
    "positions": PositionIn,
    "seekers": SeekerIn,
}
# "Several" / "no limit" / "to be decided": the fair has not fixed a number, stored as 0.
UNSPECIFIED_HEADCOUNT = frozenset({"若干", "不限", "待定", "面议"})
_HEADCOUNT_UNIT = re.compile(r"^\s*(\d+)\s*[人名个]\s*$")
# A few title lines above the header are common in Chinese templates ("2026春季招聘会岗位表").
MAX_TITLE_LINES = 5
_OLD_EXCEL = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 (.xls): an OLE file, not a zip
_PUNCT = re.compile(r"[\s_\-*:]+")
_TRAILING_NOTE = re.compile(r"\(.*\)$")


class CsvError(ValueError):
    """The file as a whole cannot be imported; `fields` names what is at fault."""

    def __init__(self, text: Said, fields: list[str] | None = None) -> None:
        super().__init__(text.en)
        self.text = text
        self.fields = fields or ["file"]


@dataclass
class LineError:
    """A row that was not imported: what is wrong, the first cell at fault first."""

    line: int
    problems: list[Problem]

    def text(self) -> Said:
        return join([p.text for p in self.problems])

    def field(self) -> str | None:
        return next((p.field for p in self.problems if p.field), None)


@dataclass
class Sheet:
    """The rows of a file: field name -> cell text (non-empty cells only), by starting line."""

    encoding: str
    header_line: int
    columns: dict[str, str]  # field -> the header cell that gave it
    ignored_columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: Excel writes UTF-8 with a BOM, plain UTF-8 or GB18030 (GBK)."""
    if data.startswith(b"PK\x03\x04"):
        raise CsvError(texts.XLSX_NOT_CSV)
    if data.startswith(_OLD_EXCEL):
        raise CsvError(texts.OLD_XLS)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16"), "utf-16"
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig"), "utf-8-sig"
    if b"\x00" in data:
        raise CsvError(texts.NUL_BYTES)
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise CsvError(texts.NOT_TEXT)


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CsvError(
            Said(
                f"the file starts with a {encoding} byte order mark but byte {exc.start} is not"
                f" {encoding}: save it as 'CSV UTF-8' and retry",
                f"文件以 {encoding} 字节顺序标记开头，但第 {exc.start} 个字节不是 {encoding}："
                f"请另存为“CSV UTF-8”后重试",
            )
        ) from None


def _normalize(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).strip().lower()
    return _PUNCT.sub("", _TRAILING_NOTE.sub("", text).strip())


def _lookup(kind: Kind) -> dict[str, str]:
    return {_normalize(alias): name for name, aliases in ALIASES[kind].items() for alias in aliases}


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(starting line, cells) for every record, empty ones included."""
    head = "\n".join(text.split("\n", MAX_TITLE_LINES + 1)[: MAX_TITLE_LINES + 1])
    delimiter = "\t" if head.count("\t") > head.count(",") else ","  # Excel's "Unicode text"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvError(
                Said(
                    f"line {start}: the CSV cannot be read: {exc}",
                    f"第 {start} 行：CSV 无法读取（{exc}）",
                )
            ) from None
        yield start, cells
        start = reader.line_num + 1


def _map_header(kind: Kind, cells: list[str]) -> tuple[dict[str, int], list[str]]:
    known = _lookup(kind)
    index: dict[str, int] = {}
    ignored = []
    for position, cell in enumerate(cells):
        name = known.get(_normalize(cell))
        if name is None:
            if cell.strip():
                ignored.append(cell.strip())
        elif name in index:
            first, second = cells[index[name]].strip(), cell.strip()
            raise CsvError(
                Said(
                    f"columns {first!r} and {second!r} both give {name}",
                    f"“{first}”和“{second}”两列都是{header(kind, name)}，请只留一列",
                ),
                fields=[name],
            )
        else:
            index[name] = position
    return index, ignored


def _expected(kind: Kind, names: tuple[str, ...]) -> Said:
    """The columns named in both languages, each with the headers that give it."""
    shown = {n: "/".join(ALIASES[kind][n][1:3]) or n for n in names}
    chinese = {n: "/".join([a for a in ALIASES[kind][n] if not a.isascii()][:2]) for n in names}
    return Said(
        ", ".join(f"{n} ({shown[n]})" for n in names),
        "、".join(f"{header(kind, n)}（{chinese[n] or n}）" for n in names),
    )


def _workbook_records(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from xlsx.read_rows(data)
    except xlsx.WorkbookError as exc:
        raise CsvError(exc.text) from None


def read_sheet(data: bytes, kind: Kind, content_type: str = "") -> Sheet:
    """Find the header, map its columns to fields and collect the non-empty rows."""
    records: Iterator[tuple[int, list[str]]]
    if xlsx.looks_like_xlsx(data, content_type) and not data.startswith(_OLD_EXCEL):
        records, encoding = _workbook_records(data), "xlsx"
    else:
        text, encoding = decode(data)
        records = _records(text)
    header: tuple[int, dict[str, int], list[str], list[str]] | None = None
    for seen, (line, cells) in enumerate(records):
        if seen >= MAX_TITLE_LINES:
            break
        if not any(c.strip() for c in cells):
            continue
        index, ignored = _map_header(kind, cells)
        if index:
            header = (line, index, ignored, cells)
            break
    if header is None:
        expected = _expected(kind, tuple(ALIASES[kind]))
        raise CsvError(
            Said(
                f"no header row with a known column in the first {MAX_TITLE_LINES} lines;"
                f" expected {expected.en}",
                f"前 {MAX_TITLE_LINES} 行中没有可识别的表头；应有 {expected.zh}",
            ),
            fields=["header"],
        )
    header_line, index, ignored, cells = header
    missing = [n for n in REQUIRED[kind] if n not in index]
    if kind == "positions" and "employer" not in index and "employer_id" not in index:
        missing.insert(0, "employer")
    if missing:
        lacking = _expected(kind, tuple(missing))
        raise CsvError(
            Said(
                f"the header (line {header_line}) lacks {lacking.en}",
                f"表头（第 {header_line} 行）缺少 {lacking.zh}",
            ),
            fields=missing,
        )
    sheet = Sheet(
        encoding=encoding,
        header_line=header_line,
        columns={name: cells[i].strip() for name, i in index.items()},
        ignored_columns=ignored,
    )
    width = len(cells)
    for line, row in records:
        if not any(c.strip() for c in row):
            continue
        if any(c.strip() for c in row[width:]):
            detail = Said(
                f"{len(row)} cells but the header has {width}: quote cells with commas",
                f"本行有 {len(row)} 格，表头只有 {width} 列：含逗号的内容请加引号",
            )
            sheet.errors.append(LineError(line, [Problem(detail)]))
            continue
        values = {name: row[i].strip() for name, i in index.items() if i < len(row)}
        sheet.rows.append((line, {k: v for k, v in values.items() if v}))
    return sheet


def _headcount(value: str) -> str | int:
    text = unicodedata.normalize("NFKC", value).strip()
    if text in UNSPECIFIED_HEADCOUNT:
        return 0
    unit = _HEADCOUNT_UNIT.match(text)
    return int(unit.group(1)) if unit else text


def validate(
    kind: Kind,
    rows: list[tuple[int, dict[str, str]]],
    *,
    taken_names: set[str] | frozenset[str] = frozenset(),
    employer_names: dict[str, str] | None = None,
    live_employer_ids: set[str] | frozenset[str] = frozenset(),
    taken_phones: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[tuple[int, BaseModel]], list[LineError]]:
    """Models for the good rows, one error per bad line: the fair's state is looked up first."""
    # taken_names: lower-cased names of the fair's live employers; employer_names maps them to
    # ids; live_employer_ids: the ids named in the file that are live employers of the fair;
    # taken_phones: phone keys of the fair's live seekers (a phone is one seeker).
    good: list[tuple[int, BaseModel]] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        values: dict[str, Any] = dict(cells)
        problems: list[Problem] = []
        if kind == "positions":
            problems += _resolve_employer(values, employer_names or {}, live_employer_ids)
            if "headcount" in values:
                values["headcount"] = _headcount(values["headcount"])
            if "salary" in values:  # columns of their own for the two ends take precedence
                pay = parse_salary(values.pop("salary"))
                values |= {k: v for k, v in pay.items() if v is not None and k not in values}
        item: BaseModel | None
        try:
            item = MODELS[kind].model_validate(values)
        except ValidationError as exc:
            problems += validation_problems(kind, exc, cells)
            item = None
        if kind == "employers" and isinstance(item, EmployerIn):
            problems += _once(seen, item.name.lower(), line, taken_names, "name", item.name)
        if kind == "seekers" and isinstance(item, SeekerIn) and item.phone:
            key = phone_key(item.phone)
            problems += _once(seen, key, line, taken_phones, "phone", item.phone)
        if problems or item is None:
            errors.append(LineError(line, problems))
        else:
            good.append((line, item))
    return good, errors


def _once(
    seen: dict[str, int],
    key: str,
    line: int,
    fair: set[str] | frozenset[str],
    field: str,
    value: str,
) -> list[Problem]:
    """A name or phone is one per fair: the problem if the fair or the file has it already."""
    if key in fair:
        return [Problem(texts.taken(field, value), field)]
    if key in seen:
        return [Problem(texts.also_on_line(field, value, seen[key]), field)]
    seen[key] = line
    return []


def _resolve_employer(
    values: dict[str, Any], names: dict[str, str], live_ids: set[str] | frozenset[str]
) -> list[Problem]:
    """Put the employer's id in `values`; the problem if the file names no live employer."""
    name = values.pop("employer", None)
    given = values.get("employer_id")
    if given is not None:
        if given in live_ids:
            return []
        values["employer_id"] = "unknown"  # still validate the other cells
        return [Problem(texts.no_employer_id(given), "employer_id")]
    values["employer_id"] = "unknown"
    if name is None:
        return [Problem(texts.EMPLOYER_MISSING, "employer")]
    found = names.get(name.lower())
    if found is None:
        return [Problem(texts.no_employer_named(name), "employer")]
    values["employer_id"] = found
    return []


def employer_ids(rows: list[tuple[int, dict[str, str]]]) -> set[str]:
    """The employer ids a positions file names, to look up in one query."""
    return {cells["employer_id"] for _, cells in rows if "employer_id" in cells}
