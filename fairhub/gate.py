"""Who a scanned badge is, and whether they may come in: the gate's decisions.

Everything here runs on public keys in memory and seeker cards in Redis, never on Postgres,
so the gates keep admitting while the database is away. Whether a valid badge is a first entry
or a re-entry is decided later, atomically in Redis, as the scan is appended (streams.Scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from fairhub import badges
from fairhub.directory import Directory, SeekerCard
from fairhub.events import Checkin
from fairhub.keyring import KeyRing
from fairhub.streams import NO_SUCH_SEEKER, REPLACED, REVOKED, Scan

Verdict = Literal["admitted", "reentry", "invalid_badge", "wrong_fair", "revoked"]
VERDICTS: tuple[str, ...] = ("admitted", "reentry", "invalid_badge", "wrong_fair", "revoked")
ADMITTED = frozenset({"admitted", "reentry"})


@dataclass(slots=True)  # not frozen: one per scan, and frozen costs 1 us to build
class Identity:
    """Who was scanned; `denied` is set when the scan cannot let anyone in."""

    seeker_id: str | None
    card: SeekerCard | None = None
    denied: Verdict | None = None
    reason: str | None = None
    serial: int | None = None  # the badge's serial; None when no badge was scanned
    digest: str = ""  # the badge's, when its signature is left to the card (claim(by_digest))


async def identify(
    keyring: KeyRing, directory: Directory, fair: str, who: Sequence[tuple[str | None, str | None]]
) -> list[Identity]:
    """Resolve (badge, seeker_id) pairs, badges verified against the fair's public keys.

    The gate's check-ins make the same card decisions inside CHECKIN_SCRIPT (streams.py), where
    the card is read in the same round trip as the entry is decided; keep the two alike.
    """
    claimed = [await claim(keyring, fair, badge) if badge else Identity(sid) for badge, sid in who]
    cards = await directory.cards(
        fair, {i.seeker_id for i in claimed if i.seeker_id and not i.denied}
    )
    resolved = []
    for identity in claimed:
        if identity.denied or identity.seeker_id is None:
            resolved.append(identity)
            continue
        card = cards.get(identity.seeker_id)
        badge = identity.serial is not None
        if card is None:
            # A signed badge for a seeker the registry does not know: deleted, or never issued.
            denied: Verdict | None = "invalid_badge" if badge else None
            reason = NO_SUCH_SEEKER if badge else None
            resolved.append(Identity(identity.seeker_id, None, denied, reason))
        elif card.revoked:
            resolved.append(Identity(card.id, card, "revoked", REVOKED))
        elif identity.serial is not None and identity.serial < card.serial:
            resolved.append(Identity(card.id, card, "revoked", REPLACED))
        else:
            resolved.append(Identity(card.id, card))
    return resolved


async def claim(keyring: KeyRing, fair: str, badge: str, by_digest: bool = False) -> Identity:
    """Who a badge names, if its signature is one of the fair's keys' (no card looked at).

    `by_digest` (check-ins): a badge of this fair with a live key's id is not checked here; its
    digest goes with the scan, and CHECKIN_SCRIPT takes it only if it is the digest on the
    seeker's card (the badge the fair issued), else sends it back to be checked.
    """
    try:
        unverified = badges.unpack(badge)  # parsed once: the fair it names, then its proof
    except badges.BadBadge as exc:
        return Identity(None, denied="invalid_badge", reason=str(exc))
    claims = unverified.claims
    if claims.fair_id != fair:
        # Tell a real badge of another fair (a lost visitor) from a forgery.
        try:
            badges.verified(unverified, await keyring.public_keys(claims.fair_id))
        except badges.BadBadge:
            return Identity(None, denied="invalid_badge", reason="the badge is not valid")
        # The other fair's seeker id is kept out: it means nothing in this fair's figures.
        return Identity(None, denied="wrong_fair", reason="a badge of another fair")
    try:
        if by_digest:
            badges.live_key(unverified, await keyring.public_keys(fair))  # a retired key: no
            digest = badges.digest(unverified.signed, unverified.signature)
            return Identity(claims.seeker_id, serial=claims.serial, digest=digest)
        badges.verified(unverified, await keyring.public_keys(fair))
    except badges.BadBadge as exc:
        return Identity(None, denied="invalid_badge", reason=str(exc))
    return Identity(claims.seeker_id, serial=claims.serial)


async def checked(keyring: KeyRing, fair: str, event: Checkin, extra: dict[str, Any]) -> Scan:
    """The scan of a check-in with its badge's signature checked (CHECKIN_SCRIPT found that
    the badge is not the one on the card): a valid one is trusted, a forgery refused as such."""
    return scan(event, await claim(keyring, fair, event.badge or ""), extra)


def scan(event: Checkin, identity: Identity, extra: dict[str, Any]) -> Scan:
    """The stream entry of a check-in, whose verdict Redis decides with the seeker's card."""
    added = dict(extra)
    if identity.seeker_id and event.seeker_id != identity.seeker_id:
        added["seeker_id"] = identity.seeker_id
    if identity.denied:
        added.update(verdict=identity.denied, reason=identity.reason)
        payload = with_fields(event, added)
        return Scan(
            event.id, None, _moment(payload), payload, identity.denied, identity.reason or ""
        )
    serial = "" if identity.serial is None else str(identity.serial)
    # A badge that named a seeker is stored as the seeker's id: its text (a bearer credential
    # that opens the gate) stays out of the stream, the log and Postgres, and each scan
    # writes a third fewer bytes everywhere it goes. A denied badge's text is kept: it is
    # the subject its denials are counted under.
    payload = with_fields(event, added, leave_out={"badge"} if identity.seeker_id else None)
    moment = _moment(payload)
    return Scan(
        event.id, identity.seeker_id, moment, payload, serial=serial, digest=identity.digest
    )


_OCCURRED_AT = '"occurred_at":"'


def _moment(payload: str) -> str:
    """occurred_at as the payload has it (RFC 3339, as pydantic wrote it): the first entry's
    time in the register. Read back from the JSON because datetime.isoformat() costs a
    check-in more than a microsecond (pydantic's time zones answer utcoffset() slowly); the
    key comes first after the id, and no string value can hold it unescaped."""
    start = payload.index(_OCCURRED_AT) + len(_OCCURRED_AT)
    return payload[start : payload.index('"', start)]


def with_fields(event: BaseModel, added: dict[str, Any], leave_out: set[str] | None = None) -> str:
    """The event's JSON with server-side fields appended (pydantic's fast dump, then a splice).

    The model's serializer is called directly: model_dump_json's wrapper costs a third more."""
    body = event.__pydantic_serializer__.to_json(
        event, exclude_none=True, exclude=leave_out
    ).decode()
    if not added:
        return body
    return body[:-1] + "," + orjson.dumps(added).decode()[1:]
