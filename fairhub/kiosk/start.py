"""Before the first scan: which file, which fair, a gate or a booth, and the keys for badges.

The kiosk learns its fair and post from GET /v1/me and keeps the answer in its SQLite file, so
it can start again without the network. The file is named after the device
(~/.fairhub/kiosk-<device>.sqlite3): a device given a new token finds its old queue again. An
offline start finds the device through a small index by token digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from fairhub.kiosk.core import Post
from fairhub.kiosk.link import Link, LinkDown
from fairhub.kiosk.queue import Store

_INDEX = "kiosk-devices.json"


class CannotStart(Exception):
    """The kiosk lacks what it needs to judge a badge; the text says what to do."""


async def begin(link: Link, args: argparse.Namespace) -> tuple[Store, Post]:
    """The open SQLite file and where this kiosk stands, keys cached for offline verdicts."""
    asked, me = False, None
    if args.fair is None or (args.db is None and _indexed(args.token) is None):
        asked, me = True, await _ask_me(link)
    store = Store(db_path(args, _device_id(me)))
    try:
        known: dict[str, Any] | None = store.meta("me")
        if not asked and (known is None or known.get("fair_id") != args.fair):
            me = await _ask_me(link)
        if me is not None:
            store.set_meta("me", me)
            known = me
        fair = args.fair or (known or {}).get("fair_id")
        if not fair:
            raise CannotStart(
                f"cannot reach {link.base} ({link.problem}), and {store.path} does not know this"
                " kiosk yet: connect once, or give --fair and the --db of an earlier run"
                if link.problem
                else "this token belongs to no fair (an admin token?): give --fair"
            )
        if me is not None and me.get("fair_id") not in (None, fair):
            raise CannotStart(f"this token belongs to fair {me['fair_id']}, not {fair}")
        post = await _post(store, link, args, str(fair), known)
        await _keys(store, link, post.fair)
    except BaseException:
        store.close()
        raise
    return store, post


def db_path(args: argparse.Namespace, device_id: str | None) -> Path:
    """--db, or ~/.fairhub/kiosk-<device>.sqlite3 (the device remembered for offline starts)."""
    if args.db:
        return Path(args.db).expanduser()
    home = Path.home() / ".fairhub"
    digest = hashlib.sha256(args.token.encode()).hexdigest()[:16]
    index = _index()
    if device_id and index.get(digest) != device_id:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        (home / _INDEX).write_text(json.dumps({**index, digest: device_id}))
    return home / f"kiosk-{device_id or index.get(digest) or digest}.sqlite3"


def _index() -> dict[str, str]:
    try:
        found = json.loads((Path.home() / ".fairhub" / _INDEX).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _indexed(token: str) -> str | None:
    return _index().get(hashlib.sha256(token.encode()).hexdigest()[:16])


def _device_id(me: dict[str, Any] | None) -> str | None:
    device = (me or {}).get("device") or {}
    found = device.get("id") or (me or {}).get("subject_id")
    return str(found) if found else None


async def _ask_me(link: Link) -> dict[str, Any] | None:
    try:
        me = await link.me()
    except LinkDown as exc:
        link.went_down(exc)
        return None
    link.came_up()
    return me


async def _post(
    store: Store, link: Link, args: argparse.Namespace, fair: str, known: dict[str, Any] | None
) -> Post:
    """A gate or a booth: the options, else the device's own settings."""
    waiting = store.other_fairs_queued(fair)
    if waiting:
        raise CannotStart(f"{store.path} holds {waiting} unsent scans of another fair")
    if store.meta("fair") != fair:
        store.set_meta("keys", {})
    store.set_meta("fair", fair)
    device = (known.get("device") if known and known.get("fair_id") == fair else None) or {}
    own = device.get("employer_id")
    if args.booth and own and args.booth != own:
        raise CannotStart(f"this device is the scanner of employer {own}'s booth, not {args.booth}")
    employer = args.booth or (None if args.gate else own)
    if employer:
        place = await _booth_label(store, link, fair, str(employer))
        return Post(fair, "booth", place, employer_id=str(employer))
    gate = args.gate or device.get("gate")
    return Post(fair, "gate", str(gate or device.get("label") or "-"), gate=gate)


async def _booth_label(store: Store, link: Link, fair: str, employer: str) -> str:
    """The employer's booth and name for the banner (remembered for an offline start)."""
    if link.online:
        try:
            status, found = await link.call("GET", f"/v1/fairs/{fair}/employers/{employer}")
        except LinkDown:
            found = None
        if isinstance(found, dict) and status == 200 and found.get("name"):
            label = " ".join(str(found[k]) for k in ("booth", "name") if found.get(k))
            store.set_meta(f"employer:{employer}", label)
    return str(store.meta(f"employer:{employer}") or employer)


async def _keys(store: Store, link: Link, fair: str) -> None:
    """The fair's public keys, fresh if the gateway answers, else as cached by the last run."""
    if link.online:
        try:
            store.set_meta("keys", await link.public_keys(fair))
        except LinkDown as exc:
            link.went_down(exc)
    if not store.meta("keys"):
        raise CannotStart(
            f"no public keys of fair {fair} in {store.path}, and {link.base} cannot give them"
            f" ({link.problem}): without them no badge can be checked offline; connect once"
        )
