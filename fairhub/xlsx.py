"""Excel workbooks in and out (openpyxl): an uploaded sheet as rows of text, and sheets of
rows as a workbook where no cell is ever a formula.

An upload is untrusted: its zip is measured before openpyxl opens it (a small file must not
unpack into gigabytes), defusedxml guards the XML, and the sheet is read in streaming mode.
"""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

from fairhub.import_texts import Said

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIP_MAGIC = b"PK\x03\x04"
# A registry of thousands of rows unpacks to a few MB of XML; this bounds a zip bomb.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 200


class WorkbookError(ValueError):
    """The upload looks like a workbook but cannot be read as one; the text says why."""

    def __init__(self, text: Said) -> None:
        super().__init__(text.en)
        self.text = text


def _unreadable(exc: Exception) -> WorkbookError:
    name = type(exc).__name__
    return WorkbookError(Said(f"the workbook cannot be read ({name})", f"工作簿无法读取（{name}）"))


def looks_like_xlsx(data: bytes, content_type: str = "") -> bool:
    """A zip (every .xlsx is one) or a body its sender labelled as a workbook."""
    return data.startswith(_ZIP_MAGIC) or content_type == CONTENT_TYPE


def _text(value: Any) -> str:
    """A cell as the CSV Excel would save shows it: 12 not 12.0, dates as 2026-06-30."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise WorkbookError(
            Said(
                "the file starts like an Excel (.xlsx) workbook but is not one",
                "文件开头像 Excel（.xlsx）工作簿，但并不是",
            )
        ) from None
    if unpacked > MAX_UNPACKED_BYTES:
        size, limit = unpacked // (1024 * 1024), MAX_UNPACKED_BYTES // (1024 * 1024)
        raise WorkbookError(
            Said(
                f"the workbook unpacks to {size} MB, more than {limit} MB:"
                " split it or save it as CSV",
                f"工作簿解压后有 {size} MB，超过 {limit} MB：请拆分或另存为 CSV",
            )
        )


def read_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number as Excel shows it, cells as text) of the first sheet, empty rows included."""
    _check_zip(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise _unreadable(exc) from None
    try:
        rows = book.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(rows, start=1):
            if number > MAX_ROWS:
                raise WorkbookError(
                    Said(
                        f"the sheet has more than {MAX_ROWS:,} rows: split it",
                        f"工作表超过 {MAX_ROWS} 行：请拆分",
                    )
                )
            yield number, [_text(v).strip() for v in values]
    except WorkbookError:
        raise
    except Exception as exc:  # damaged XML inside the sheet shows only when it is read
        raise _unreadable(exc) from None
    finally:
        book.close()


def _safe_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def workbook(
    sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]],
    *,
    header_rows: int = 1,
    widths: dict[str, Sequence[int]] | None = None,
) -> bytes:
    """A workbook of one sheet per (title, rows): numbers stay numbers, text stays text.

    The caller has neutralized formula-like text (report.safe_rows); every str is stored as a
    string cell as well, so not even `=...` can become a formula. The first `header_rows`
    rows are bold on grey and stay in view when scrolling."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold, grey = Font(bold=True), PatternFill("solid", fgColor="EEEEEE")
    for title, rows in sheets:
        sheet = book.create_sheet(title=title[:31])  # Excel's limit on a sheet's name
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=c)
                if isinstance(value, str):
                    cell.value = _safe_text(value)
                    cell.data_type = "s"
                else:
                    cell.value = value
                if r <= header_rows:
                    cell.font, cell.fill = bold, grey
        sheet.freeze_panes = sheet.cell(row=header_rows + 1, column=1)
        for c, width in enumerate((widths or {}).get(title, ()), start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=c).column_letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
