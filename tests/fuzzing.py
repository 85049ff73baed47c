"""Schemathesis in a virtualenv of its own, and its run report read back.

Schemathesis pins Hypothesis; the suite's own Hypothesis must not follow it, so the CLI lives in
a virtualenv under the user's cache, keyed by the pinned major version and made once (CI caches
the directory or pays one install). No network means a loud failure, never a skip: a fuzz that
silently did not run would read as an API that fuzzes clean.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The major version the document and the options below are written for.
SCHEMATHESIS = "schemathesis>=4.32,<5"
VENV = Path(
    os.environ.get("FAIRHUB_SCHEMATHESIS_VENV")
    or Path.home() / ".cache" / "fairhub" / "schemathesis-venv-4"
)


def schemathesis_cli() -> Path:
    """The `st` executable, installing it into its own virtualenv on first use."""
    st = VENV / "bin" / "st"
    ready = VENV / ".installed"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    # Two test sessions at once (xdist, two checkouts) must not build the same venv together.
    with (VENV.parent / f"{VENV.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if st.exists() and ready.exists() and ready.read_text() == SCHEMATHESIS:
            return st
        commands = [
            [sys.executable, "-m", "venv", "--clear", str(VENV)],
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", SCHEMATHESIS],
        ]
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(
                    f"could not install {SCHEMATHESIS} (is PyPI reachable?): {' '.join(command)}"
                    f"\n{done.stdout}\n{done.stderr}"
                )
        ready.write_text(SCHEMATHESIS)
    return st


# Exceptions raised inside schemathesis itself, not by talking to the API.
TOOL_ERRORS = frozenset({"SystemError", "RecursionError"})


@dataclass
class Failure:
    """One distinct failure schemathesis reported: the operation, the check and its message."""

    operation: str
    check: str
    message: str


@dataclass
class Outcome:
    """What a run found, read from its NDJSON event log."""

    operations: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Schemathesis's own crashes (CPython's "AST constructor recursion depth mismatch" while
    # it builds a case): no request was answered wrongly, yet the case went untested.
    tool_errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{f.operation}: {f.check}: {f.message}" for f in self.failures]
        return "\n".join([*lines, *self.errors])


def _failures_of(scenario: dict[str, Any]) -> list[Failure]:
    """The failed checks of one finished scenario, each with the answer that failed it."""
    recorder = scenario.get("recorder") or {}
    label = str(recorder.get("label", "?"))
    interactions = recorder.get("interactions") or {}
    found = []
    for case, checks in (recorder.get("checks") or {}).items():
        answer = (interactions.get(case) or {}).get("response") or {}
        request = (interactions.get(case) or {}).get("request") or {}
        for check in checks:
            if check.get("status") != "failure":
                continue
            failure = (check.get("failure_info") or {}).get("failure") or {}
            message = f"{failure.get('title', '')}: {failure.get('message', '')}".strip()
            where = f"{request.get('method', '')} {request.get('uri', '')}"
            found.append(
                Failure(label, check["name"], f"{message} [{where} -> {answer.get('status_code')}]")
            )
    return found


def read_ndjson(path: Path) -> Outcome:
    """Failed checks and errors of a run, from its event log (one JSON event per line)."""
    outcome = Outcome()
    seen: set[tuple[str, str]] = set()
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        if "ScenarioFinished" in event:
            scenario = event["ScenarioFinished"]
            outcome.operations.add(str((scenario.get("recorder") or {}).get("label")))
            for failure in _failures_of(scenario):
                # One line per operation and check: the same fault found 50 times is one fault.
                if (failure.operation, failure.check) not in seen:
                    seen.add((failure.operation, failure.check))
                    outcome.failures.append(failure)
        for kind in ("NonFatalError", "FatalError"):
            if kind in event:
                value = event[kind].get("value") or {}
                text = f"{kind} {event[kind].get('label', '')}: {value.get('message', value)}"
                internal = value.get("type") in TOOL_ERRORS
                (outcome.tool_errors if internal else outcome.errors).append(text[:2000])
    return outcome


async def run_schemathesis(
    schema_url: str, workdir: Path, config: str, *args: str, timeout: float = 240
) -> tuple[int, str, Outcome]:
    """`st run` against the served document; its exit code, its console output, its findings."""
    st = schemathesis_cli()
    config_file = workdir / "schemathesis.toml"
    config_file.write_text(config)
    report = workdir / "events.ndjson"
    process = await asyncio.create_subprocess_exec(
        str(st),
        "--config-file",
        str(config_file),
        "run",
        schema_url,
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        *args,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    text = output.decode(errors="replace")
    assert process.returncode is not None
    return process.returncode, text, read_ndjson(report)
