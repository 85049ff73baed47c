"""The seeker directory in Redis: what the gate needs to know about a seeker, without Postgres.

Postgres holds the seekers; every change is copied here after it commits (name, current badge
serial, revoked), and a miss is filled from Postgres, so the hash is a cache that the gate can
live on while Postgres is away.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

import asyncpg

from fairhub import badges, keys
from fairhub.batching import Batcher
from fairhub.db import TRANSIENT_ERRORS
from fairhub.masterkey import SecretKeyError
from fairhub.redis import RedisClient

log = logging.getLogger(__name__)
# The key a fair signs badges with now (keyring.newest_key), None if it has none yet.
SigningKeys = Callable[[str], Awaitable[badges.KeyPair | None]]


@dataclass(frozen=True)
class SeekerCard:
    id: str
    name: str
    serial: int  # the current badge serial; a badge with a lower one was replaced
    revoked: bool = False
    # badges.digest of the badge the fair's signing key gives this serial: a scan of exactly
    # that badge is admitted without a signature check (CHECKIN_SCRIPT); '' matches nothing.
    digest: str = ""


UNKNOWN = b"0"  # the directory's mark for an id that is not a seeker of the fair
_CARD_SQL = (
    "SELECT id, name, badge_serial AS serial, revoked_at IS NOT NULL AS revoked"
    " FROM seekers WHERE fair_id = $1 AND id = ANY($2::text[])"
)


def card_text(card: SeekerCard | None) -> str:
    """A card as Redis keeps it (CHECKIN_SCRIPT reads it too); UNKNOWN for no such seeker."""
    return json.dumps(asdict(card), ensure_ascii=False) if card else UNKNOWN.decode()


class Directory:
    """Seeker cards per fair: Redis first, Postgres for what Redis does not have.

    Reads are group-committed: the gate's concurrent requests wait for the read in flight,
    then share one pipeline of HMGETs, instead of one round trip each.
    """

    def __init__(
        self, db: asyncpg.Pool, redis: RedisClient, signing_keys: SigningKeys | None = None
    ) -> None:
        self._db = db
        self._redis = redis
        self._signing_keys = signing_keys  # None: cards without digests (seekers sans badges)
        self._reads: Batcher[tuple[str, list[str]], list[Any]] = Batcher(self._hmget_all)

    async def _hmget_all(self, reads: list[tuple[str, list[str]]]) -> list[list[Any]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for fair, wanted in reads:
                pipe.hmget(keys.seekers(fair), wanted)
            answers: list[list[Any]] = await pipe.execute()
        return answers

    async def cards(self, fair: str, ids: Iterable[str]) -> dict[str, SeekerCard]:
        """The cards of the seekers that exist; unknown ids are simply absent."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        raw = await self._reads.submit((fair, wanted))
        found: dict[str, SeekerCard] = {}
        missing = []
        for seeker, value in zip(wanted, raw, strict=True):
            if value is None:
                missing.append(seeker)
            elif value != UNKNOWN:
                found[seeker] = SeekerCard(**json.loads(value))
        if missing:
            try:
                rows = await self._db.fetch(_CARD_SQL, fair, missing)
            except TRANSIENT_ERRORS:
                return found  # Postgres away: what Redis knows is all there is
            loaded = await self.remember(fair, [SeekerCard(**dict(r)) for r in rows])
            found.update((card.id, card) for card in loaded)
            # Ids the registry does not know (an integration's own): remember that too, so
            # they do not cost a Postgres read each time.
            unknown = {seeker: UNKNOWN for seeker in missing if seeker not in found}
            if unknown:
                await self._redis.hset(keys.seekers(fair), mapping=unknown)  # type: ignore[arg-type]
        return found

    async def remember(self, fair: str, cards: Iterable[SeekerCard]) -> list[SeekerCard]:
        """Copy cards into Redis (after the Postgres transaction that changed them), each with
        the digest of its current badge; the cards as written."""
        written = await self._with_digests(fair, list(cards))
        mapping: dict[bytes | bytearray | memoryview[int] | str | int | float, Any] = {
            card.id: card_text(card) for card in written
        }
        if mapping:
            await self._redis.hset(keys.seekers(fair), mapping=mapping)
        return written

    async def _with_digests(self, fair: str, cards: list[SeekerCard]) -> list[SeekerCard]:
        """One signature per card written (not per scan); without the key, no digests: their
        scans are verified by the gateway, and the card is written all the same."""
        if not cards or self._signing_keys is None:
            return cards
        try:
            key = await self._signing_keys(fair)
        except (SecretKeyError, asyncpg.PostgresError, *TRANSIENT_ERRORS) as exc:
            log.warning("seeker cards of fair %s written without badge digests: %r", fair, exc)
            return cards
        if key is None:
            return cards
        return [replace(card, digest=_digest(key, fair, card)) for card in cards]

    async def reload(self, fair: str, ids: Iterable[str]) -> None:
        """Copy the current Postgres state of these seekers into Redis."""
        rows = await self._db.fetch(_CARD_SQL, fair, list(ids))
        await self.remember(fair, [SeekerCard(**dict(r)) for r in rows])


def _digest(key: badges.KeyPair, fair: str, card: SeekerCard) -> str:
    try:
        return badges.issued_digest(key, fair, card.id, card.serial)
    except (ValueError, OverflowError):  # an id or serial no badge can carry: no badge
        return ""
