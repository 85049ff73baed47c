"""Where the kiosk's gateway address and token come from: options, an enrolment, or its file.

`--url` and `--token` still work. `--enrol CODE_OR_URL` (the organizer's enrolment QR, scanned
or typed) trades the one-time code for the device's token once; the address and token are then
kept in the kiosk's SQLite file (mode 0600, like its scans), and ~/.fairhub/kiosk.json names
that file, so a later `fairhub kiosk` needs no option at all. A kiosk started with nothing to go
on reads its first scan as the enrolment QR.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from fairhub.kiosk.queue import Store
from fairhub.kiosk.start import CannotStart, db_path

POINTER = "kiosk.json"  # under ~/.fairhub: the file of the kiosk enrolled last on this machine
_MARKER = "/enrol/"
_SECONDS = 15.0  # an enrolment is a one-off: the venue Wi-Fi may be slow, never retried


def parse(text: str, url: str | None) -> tuple[str, str]:
    """(gateway address, code) from an enrolment URL, or from a bare code and --url."""
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        at = parts.path.rfind(_MARKER)
        if at < 0 or not parts.netloc:
            raise CannotStart(f"{text!r} is not an enrolment address (…{_MARKER}CODE)")
        base = urlunsplit((parts.scheme, parts.netloc, parts.path[:at], "", ""))
        return base, parts.path[at + len(_MARKER) :]
    if not url:
        raise CannotStart(
            "an enrolment code alone does not say where the gateway is: give --url too, or the"
            " whole address from the QR code"
        )
    return url.rstrip("/"), text


async def exchange(base: str, code: str) -> dict[str, Any]:
    """The device's token for a fresh code (POST /v1/enrol); a refusal says why, plainly."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_SECONDS)) as session,
            session.post(f"{base}/v1/enrol", json={"code": code}) as response,
        ):
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CannotStart(
            f"cannot reach {base} to enrol ({type(exc).__name__}): try again"
        ) from None
    if status == 200 and isinstance(body, dict) and body.get("token"):
        return body
    detail = body.get("detail") if isinstance(body, dict) else None
    raise CannotStart(f"enrolment refused ({status}): {detail or 'no answer'}")


async def enrol(args: argparse.Namespace, text: str) -> None:
    """Enrol with a scanned or typed code, keep the answer in the kiosk's file, fill args."""
    base, code = parse(text, args.url)
    answer = await exchange(base, code)
    args.url, args.token = base, str(answer["token"])
    path = db_path(args, str(answer["device"]))
    store = Store(path)
    try:
        remember(store, args)
    finally:
        store.close()
    _point_to(path)
    print(f"enrolled: device {answer.get('label') or answer['device']}, file {path}", flush=True)


def remember(store: Store, args: argparse.Namespace) -> None:
    """Keep the gateway's address and this kiosk's token for the next start."""
    if store.meta("link") != {"url": args.url, "token": args.token}:
        store.set_meta("link", {"url": args.url, "token": args.token})


def recall(args: argparse.Namespace) -> bool:
    """Fill a missing --url/--token from the kiosk's file (--db, or the enrolled kiosk's)."""
    path = Path(args.db).expanduser() if args.db else _pointed()
    if path is None or not path.exists():
        return False
    store = Store(path)
    try:
        link = store.meta("link") or {}
    finally:
        store.close()
    if not link.get("token"):
        return False
    args.token = args.token or link["token"]
    args.url = args.url or link.get("url")
    args.db = str(path)
    return True


def first_scan() -> str:
    """The kiosk knows no gateway yet: its first scan must be the enrolment QR."""
    print("scan the enrolment QR code (or start with --enrol CODE_OR_URL)", flush=True)
    fd, line = sys.stdin.fileno(), b""
    # Byte by byte from the descriptor: the scans after this one stay for the scan loop.
    while not line.endswith((b"\n", b"\r")):
        byte = os.read(fd, 1)
        if not byte:
            raise CannotStart("no enrolment QR was scanned: give --enrol, or --url and --token")
        line += byte
    return line.decode("utf-8", "replace").strip()


async def credentials(args: argparse.Namespace) -> None:
    """Make sure args.url and args.token are set, enrolling first if asked to (or needed)."""
    if args.enrol:
        await enrol(args, args.enrol)
    elif not (args.token and args.url) and not recall(args) and not args.token:
        await enrol(args, first_scan())
    if not args.url:
        raise CannotStart("give --url: the gateway's address, e.g. http://10.0.0.2:8080")


def _pointed() -> Path | None:
    try:
        found = json.loads((Path.home() / ".fairhub" / POINTER).read_text())
    except (OSError, ValueError):
        return None
    return Path(found["db"]) if isinstance(found, dict) and found.get("db") else None


def _point_to(path: Path) -> None:
    home = Path.home() / ".fairhub"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / POINTER).write_text(json.dumps({"db": str(path.resolve())}))
