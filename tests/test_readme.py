"""The README's "Try it" block, run as a newcomer pastes it, against a real `fairhub dev`.

The block is read from README.md itself, so the README cannot drift from what FairHub does. It
runs in bash with `set -e` and a `curl` that fails on an HTTP error, so every command must
succeed; the test then checks each answer and that the addresses it prints open.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
from test_dev_command import running_dev

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK_TIMEOUT = 120.0

# Run before the block, never shown to readers: stop at the first failure, make curl fail on a
# 4xx/5xx and end each answer with a newline, and run this test's FairHub for `fairhub`.
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body "$@"; echo; }
fairhub() { "$FAIRHUB_TEST_PYTHON" -m fairhub "$@"; }
"""


def try_it_block(text: str) -> str:
    """The first fenced shell block under the "Try it" heading."""
    heading = re.search(r"^#+ Try it\s*$", text, re.MULTILINE)
    assert heading, "README.md has no 'Try it' heading"
    block = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
    found = block.search(text, heading.end())
    assert found, "no ```sh block under 'Try it'"
    return found.group(1)


def test_the_block_is_what_a_reader_pastes() -> None:
    """No placeholders to fill by hand, nothing macOS-only, and its variables are captured."""
    block = try_it_block(README.read_text())
    assert not re.search(r"<[a-z][^>]*>|…", block), "a placeholder to replace by hand"
    assert not re.search(r"(^|[\s;&|])open ", block), "macOS `open` (use xdg-open or an address)"
    for variable in ("ADMIN", "FAIR", "TOKEN", "SEEKER", "BADGE"):
        assert re.search(rf"^{variable}=\$\(|; {variable}=\$\(", block, re.MULTILINE), variable
    assert "../" not in README.read_text(), "the README points outside the repository"


async def test_try_it_runs_as_pasted_against_fairhub_dev(tmp_path: Path) -> None:
    block = try_it_block(README.read_text())
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    async with (
        aiohttp.ClientSession() as session,
        running_dev(data_dir, tmp_path, "dev", session, "--processes", "1") as (dev, _),
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRHUB_")}
        env |= {
            "FAIRHUB_URL": dev.base,
            "FAIRHUB_DATA_DIR": str(data_dir),
            "FAIRHUB_TEST_PYTHON": sys.executable,
        }
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-c", PRELUDE + block],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        out = done.stdout
        assert done.returncode == 0, f"exit {done.returncode}\n{out}\n{done.stderr}"

        # Each answer printed, in order: two imports of one row each, the gate's verdict and
        # the figures (the other answers went to files); then the report in the terminal.
        answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert len(answers) == 4, out
        employers, positions, verdict, stats = answers
        assert (employers["kind"], employers["created"], employers["errors"]) == (
            "employers",
            1,
            [],
        )
        assert (positions["kind"], positions["created"], positions["errors"]) == (
            "positions",
            1,
            [],
        )
        assert verdict["verdict"] == "admitted" and verdict["seeker"]["name"] == "王安", verdict
        assert "checkins" in stats["totals"], stats
        seekers = json.loads((work / "seekers.json").read_text())
        assert seekers["created"] == 1 and seekers["errors"] == [], seekers
        assert "organizer_token" in json.loads((work / "fair.json").read_text())
        assert "春季招聘会" in out and "星河软件有限公司" in out, out  # the report names both
        badges = re.search(r"^Badges to print: (\S+)$", out, re.MULTILINE)
        board = re.search(r"^Live dashboard: +(\S+)$", out, re.MULTILINE)
        assert badges and board, out

        # The addresses open: the badge sheet with Wang An on it, and the dashboard's page.
        async with session.get(badges.group(1)) as response:
            assert response.status == 200
            assert "王安" in await response.text()
        async with session.get(board.group(1).split("#", 1)[0]) as response:
            assert response.status == 200

        # The worker counts the admission: the dashboard soon shows one visitor.
        fair = json.loads((work / "fair.json").read_text())
        stats_url = f"{dev.base}/v1/fairs/{fair['id']}/stats"
        headers = {"Authorization": f"Bearer {fair['organizer_token']}"}
        for _ in range(100):
            async with session.get(stats_url, headers=headers) as response:
                totals = (await response.json())["totals"]
            if totals["checkins"]["unique"] == 1:
                break
            await asyncio.sleep(0.1)
        assert totals["checkins"] == {"total": 1, "unique": 1}, totals
