"""Verdicts the kiosk gives by itself while the link is down, and what it learns when it is up.

A badge is verified with the fair's public keys (cached in the SQLite file), so a forgery is
refused offline as it is online. Whether a genuine badge is a first entry or a re-entry comes
from the kiosk's own memory of whom it let in; a badge older than one the kiosk has seen, or
one the server called revoked, is refused. Two kiosks offline cannot know of each other: their
verdicts are provisional, and the server's answer on upload replaces them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fairhub import badges
from fairhub.kiosk.queue import Store

ADMITTED = frozenset({"admitted", "reentry"})
LEADS = frozenset({"new_lead", "known_lead"})


@dataclass(frozen=True)
class Local:
    """A verdict and whom it is about."""

    verdict: str
    seeker_id: str | None = None
    name: str | None = None
    reason: str | None = None


def decode_keys(cached: Mapping[str, str]) -> dict[str, bytes]:
    """kid -> raw key, from the base64url form GET /v1/fairs/{fair}/keys serves."""
    found = {}
    for kid, text in cached.items():
        try:
            found[kid] = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
    return found


def _identify(
    store: Store, fair: str, keys: Mapping[str, bytes], code: str
) -> tuple[badges.Claims | None, Local | None]:
    """The claims of a genuine, current badge of this fair, or the refusal."""
    try:
        claims = badges.read(code)
    except badges.BadBadge as exc:
        return None, Local("invalid_badge", reason=str(exc))
    if claims.fair_id != fair:
        # Another fair's keys are not cached here: refused either way, the server tells which.
        return None, Local("wrong_fair", reason="a badge of another fair (not checked offline)")
    try:
        badges.verify(code, keys)
    except badges.BadBadge as exc:
        return None, Local("invalid_badge", reason=str(exc))
    known = store.seeker(fair, claims.seeker_id)
    if known is not None and claims.serial < known.min_serial:
        return None, Local("revoked", claims.seeker_id, known.name, "this badge was replaced")
    return claims, None


def judge_checkin(store: Store, fair: str, keys: Mapping[str, bytes], code: str) -> Local:
    """Admit or re-admit a genuine badge from this kiosk's memory, and remember it."""
    claims, refused = _identify(store, fair, keys, code)
    if claims is None:
        assert refused is not None
        return refused
    known = store.seeker(fair, claims.seeker_id)
    verdict = "reentry" if known is not None and known.admitted else "admitted"
    store.remember(fair, claims.seeker_id, min_serial=claims.serial, admitted=True)
    return Local(verdict, claims.seeker_id, known.name if known else None)


def judge_lead(
    store: Store, fair: str, keys: Mapping[str, bytes], employer_id: str, code: str
) -> Local:
    """A new lead or one this booth has already, from its own memory."""
    claims, refused = _identify(store, fair, keys, code)
    if claims is None:
        assert refused is not None
        return refused
    known = store.seeker(fair, claims.seeker_id)
    verdict = "known_lead" if store.has_lead(fair, employer_id, claims.seeker_id) else "new_lead"
    store.remember_lead(fair, employer_id, claims.seeker_id)
    return Local(verdict, claims.seeker_id, known.name if known else None)


def learn(
    store: Store, fair: str, kind: str, employer_id: str | None, code: str, got: Local
) -> None:
    """Keep what the server said about a badge for the next offline verdict."""
    try:
        claims = badges.read(code)
    except badges.BadBadge:
        return
    if claims.fair_id != fair:
        return
    seeker_id = got.seeker_id or claims.seeker_id
    if got.verdict in ADMITTED:
        store.remember(fair, seeker_id, name=got.name, min_serial=claims.serial, admitted=True)
    elif got.verdict in LEADS:
        store.remember(fair, seeker_id, name=got.name, min_serial=claims.serial)
        if employer_id:
            store.remember_lead(fair, employer_id, seeker_id)
    elif got.verdict == "revoked":
        # This badge and any older one are refused from now on; a reissued one is not.
        store.remember(fair, claims.seeker_id, min_serial=claims.serial + 1)


def seeker_of(answer: Any) -> tuple[str | None, str | None]:
    """(id, name) from a check-in answer's `seeker`, if any."""
    seeker = answer.get("seeker") if isinstance(answer, dict) else None
    if not isinstance(seeker, dict):
        return None, None
    return seeker.get("id"), seeker.get("name")
