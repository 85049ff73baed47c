"""The producer: XADD events into the fair's stream and answer only once Redis has them on disk.

Concurrent requests share one flush (group commit): while flushes are in flight, new appends
queue up and go out together in the next one, so the durability wait is paid once per flush,
not once per event or per request. A flush sends one pipeline to each node holding some of its
streams (one node, on a single server), and each of those pipelines ends with that node's own
WAITAOF, which covers exactly the appends made on that connection: every shard confirms its
own appends before anyone gets a 202. A few flushes run at once, each on its own connections,
so Redis parses one pipeline while another waits for its fsync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from fairhub import keys
from fairhub.batching import Batcher
from fairhub.config import Settings
from fairhub.redis import Op, Shards, Tail, script

log = logging.getLogger(__name__)
# With replicas, each WAITAOF waits this long at most before it is asked again.
REPLICA_STEP_MS = 20
FLUSHES = Counter("fairhub_writer_flushes_total", "Durable flushes (one per node they touched)")
NOT_DURABLE = Counter(
    "fairhub_writer_not_durable_total",
    "Flushes answered 503: a node away, an append refused, WAITAOF short or late",
)

# One stream entry per script call, whatever the number of events it adds: {f: fair, e: the
# event} for one, {f: fair, b: the events' JSON joined by newlines} for several (JSON text has
# no raw newline), in order. An XADD per event cost Redis a tenth of an event's work (the
# entry, its copy in the AOF) and the worker as much again to read and acknowledge it.
_APPEND = """
if #appended == 1 then
  redis.call('XADD', KEYS[1], '*', 'f', ARGV[2], 'e', appended[1])
elseif #appended > 1 then
  redis.call('XADD', KEYS[1], '*', 'f', ARGV[2], 'b', table.concat(appended, '\\n'))
end
"""

# KEYS[1] is the partition's stream, KEYS[2..] the "seen" key of each event; ARGV[1] the ttl,
# ARGV[2] the fair, then the payloads. Setting the seen key and adding the entry in one script
# makes them durable together: an id is "duplicate" only if its event is in the stream.
INGEST_SCRIPT = (
    """
local added, appended = {}, {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    appended[#appended + 1] = ARGV[i + 1]
    added[i - 1] = 1
  else
    added[i - 1] = 0
  end
end
"""
    + _APPEND
    + "return added"
)

# Check-in scans. KEYS: the stream, the fair's "entered" hash, its seeker cards, then each
# scan's seen key. ARGV: ttl, the fair, then four per scan: the seeker id ('' when the verdict
# is already decided, e.g. a forged badge), occurred_at, the payload (complete when decided,
# else without its verdict), and the rest, '' when all of it is empty (a check-in by seeker id)
# or joined by \x1f: the badge's serial ('' for no badge), the decided verdict and its reason,
# the seeker's card ('' to read it here), and the badge's digest ('' when the gateway checked
# its signature itself). Empty arguments still cost both sides (packing, parsing, a Lua
# string each): a batch's check-ins by seeker id carry four, not eight. A badge whose
# signature was not checked is taken only if it is, byte for byte, the badge the card's digest
# names; any other is sent back undone. The card
# decides revoked and replaced badges as gate.identify() does; a first entry is HSETNX on
# "entered", atomic across gates and gateways; the seen key keeps the answer, so a kiosk's
# retry of the same id gets the same verdict. Three values per scan come back: 1 added / 0 seen
# before / -1 card unknown here / -2 badge not the card's (for both, nothing done: the gateway
# reads Postgres or checks the signature, and sends it again), the answer
# "verdict|first entry|reason", and the seeker's name.
CHECKIN_SCRIPT = (
    """
local REST = '^([^\\31]*)\\31([^\\31]*)\\31([^\\31]*)\\31([^\\31]*)\\31([^\\31]*)$'
local out, appended = {}, {}
for k = 4, #KEYS do
  local a = 3 + (k - 4) * 4
  local seeker, at, payload, rest = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local serial, verdict, reason, card, digest = '', '', '', '', ''
  if rest ~= '' then
    serial, verdict, reason, card, digest = string.match(rest, REST)
  end
  local prior = redis.call('GET', KEYS[k])
  local name = ''
  if seeker ~= '' and card == '' then card = redis.call('HGET', KEYS[3], seeker) end
  if card and card ~= '' and card ~= '0' then
    card = cjson.decode(card)
    name = card.name
  end
  if prior then
    out[#out + 1] = 0
    out[#out + 1] = prior
  elseif not card then
    out[#out + 1] = -1
    out[#out + 1] = ''
  elseif digest ~= '' and (card == '0' or card.digest ~= digest) then
    out[#out + 1] = -2
    out[#out + 1] = ''
  else
    local first = ''
    if seeker ~= '' then
      if card == '0' then
        if serial ~= '' then verdict, reason = 'invalid_badge', "no such seeker in this fair" end
      elseif card.revoked then
        verdict, reason = 'revoked', "this seeker's badge was revoked"
      elseif serial ~= '' and tonumber(serial) < card.serial then
        verdict, reason = 'revoked', "this badge was replaced"
      end
      if verdict ~= '' then
        payload = string.sub(payload, 1, -2) .. ',"verdict":"' .. verdict .. '","reason":'
          .. cjson.encode(reason) .. '}'
      else
        if redis.call('HSETNX', KEYS[2], seeker, at) == 1 then
          verdict, first = 'admitted', at
        else
          verdict, first = 'reentry', redis.call('HGET', KEYS[2], seeker)
        end
        payload = string.sub(payload, 1, -2) .. ',"verdict":"' .. verdict .. '"}'
      end
    end
    local answer = verdict .. '|' .. first .. '|' .. reason
    redis.call('SET', KEYS[k], answer, 'EX', ARGV[1])
    appended[#appended + 1] = payload
    out[#out + 1] = 1
    out[#out + 1] = answer
  end
  out[#out + 1] = name
end
"""
    + _APPEND
    + "return out"
)
# The reasons CHECKIN_SCRIPT gives, as gate.identify() gives them.
NO_SUCH_SEEKER = "no such seeker in this fair"
REVOKED = "this seeker's badge was revoked"
REPLACED = "this badge was replaced"


class NotDurableError(Exception):
    """Redis did not confirm the events are on disk; the client must retry (503)."""


# Not frozen: a frozen dataclass sets each field through object.__setattr__ (1.3 us a scan
# against 0.27), and one is built per check-in.
@dataclass(slots=True)
class Scan:
    """A check-in whose verdict Redis decides (first entry or re-entry) as it appends it."""

    event_id: str
    seeker_id: str | None  # None: the verdict is already decided (denied)
    occurred_at: str
    payload: str  # complete when decided, else without its verdict
    decided: str = ""  # the denied verdict
    reason: str = ""  # why it was denied
    serial: str = ""  # the badge's serial ('' for a scan without a badge)
    card: str = ""  # the seeker's card as the directory keeps it, when Redis lacked it
    digest: str = ""  # the badge's, its signature unchecked; '' when the gateway checked it


@dataclass(slots=True)
class ScanAnswer:
    added: bool  # False: this id was seen before, and this is the first answer again
    verdict: str | None  # None: the id belongs to an event that was not a check-in
    first_seen_at: str | None
    reason: str | None = None
    name: str | None = None  # the seeker's, from their card
    card_missing: bool = False  # Redis has no card for the seeker: nothing was done
    verify: bool = False  # the badge is not the card's: nothing was done, check its signature


def _answer(added: int, raw: bytes, name: bytes) -> ScanAnswer:
    if added == -1:
        return ScanAnswer(False, None, None, card_missing=True)
    if added == -2:
        return ScanAnswer(False, None, None, verify=True)
    parts = raw.decode().split("|", 2)
    if len(parts) < 2:  # the id belongs to an event that was not a check-in
        return ScanAnswer(added == 1, None, None)
    verdict, first, reason = (*parts, "")[:3]
    return ScanAnswer(added == 1, verdict, first or None, reason or None, name.decode() or None)


# An entry to append: a plain event (id, payload JSON), or a check-in scan.
Entry = tuple[str, str] | Scan
# What became of it: True if added, False for a known id; a ScanAnswer for a scan.
Outcome = bool | ScanAnswer


@dataclass
class _Append:
    fair: str
    entries: list[Entry]


class StreamWriter:
    """Appends events to fair streams with a shared durability wait."""

    def __init__(self, shards: Shards, settings: Settings) -> None:
        self._shards = shards
        self._settings = settings
        self._appends: Batcher[_Append, list[Outcome]] = Batcher(
            self._flush_or_refuse,
            flushers=settings.writer_flushes,
            limit=settings.writer_flush_events,
            weight=lambda item: len(item.entries),
        )
        # Each node's WAITAOF covers every write its connection made before it: that node's
        # share of the flush. A node that answers late or short fails the whole flush. With
        # replicas, short WAITAOFs are asked again (each asks the replicas afresh) instead of
        # one long one that may wait for a replica's once-a-second report.
        local, replicas = settings.waitaof_local, settings.waitaof_replicas
        if replicas:
            self._wait = Tail(
                ("WAITAOF", local, replicas, REPLICA_STEP_MS),
                alone=True,
                enough=lambda got: _confirmed(got, local, replicas),
                patience=settings.durability_timeout_ms / 1000,
            )
        else:
            self._wait = Tail(("WAITAOF", local, 0, settings.durability_timeout_ms))

    async def close(self) -> None:
        await self._appends.aclose(NotDurableError("the gateway is shutting down"))

    async def append(self, fair: str, events: list[tuple[str, str]]) -> list[bool]:
        """Add events durably; True for each event added now, False for a known id."""
        return [bool(outcome) for outcome in await self.append_all(fair, list(events))]

    async def append_all(self, fair: str, entries: list[Entry]) -> list[Outcome]:
        """Add plain events and check-in scans durably, in one flush (in order per kind)."""
        return await self._appends.submit(_Append(fair, entries))

    async def _flush_or_refuse(self, batch: list[_Append]) -> list[list[Outcome]]:
        """A flush; whatever went wrong, every waiting request gets its 503."""
        try:
            return await self._flush(batch)
        except Exception as exc:
            NOT_DURABLE.inc()
            log.warning("could not make %d appends durable: %r", len(batch), exc)
            if isinstance(exc, NotDurableError):
                raise
            raise NotDurableError(str(exc)) from exc

    async def _flush(self, batch: list[_Append]) -> list[list[Outcome]]:
        settings = self._settings
        # One script call per fair and kind for the whole flush, whatever the number of
        # requests in it: Redis runs one script, not one per request. Order is kept per kind.
        calls: dict[tuple[str, bool], list[Entry]] = {}
        spots: list[list[tuple[tuple[str, bool], int]]] = []  # each item's (call, position)
        for item in batch:
            mine = []
            for entry in item.entries:
                call = (item.fair, isinstance(entry, Scan))
                entries = calls.setdefault(call, [])
                mine.append((call, len(entries)))
                entries.append(entry)
            spots.append(mine)
        ttl = settings.dedupe_ttl_seconds
        ops = [_op(fair, entries, ttl) for (fair, _), entries in calls.items()]
        replies, waits = await self._shards.run(ops, tail=self._wait)
        FLUSHES.inc(len(waits))
        for node, confirmed in waits.items():
            if isinstance(confirmed, Exception):
                raise NotDurableError(f"WAITAOF failed on {node or 'redis'}: {confirmed}")
            local, replicas = confirmed
            if local < settings.waitaof_local or replicas < settings.waitaof_replicas:
                raise NotDurableError(
                    f"WAITAOF confirmed {local} local and {replicas} replica fsyncs in time"
                    + (f" on {node}" if node else "")
                )
        for reply in replies:
            if isinstance(reply, Exception):
                raise NotDurableError(f"an append failed: {reply}")
        outcomes = {
            call: _outcomes(call[1], reply) for call, reply in zip(calls, replies, strict=True)
        }
        return [[outcomes[call][n] for call, n in mine] for mine in spots]


def _outcomes(scans: bool, reply: list[Any]) -> list[Outcome]:
    """A script call's reply, one outcome per entry: three values per scan, one per event."""
    if scans:
        return [_answer(*three) for three in zip(reply[::3], reply[1::3], reply[2::3], strict=True)]
    return [flag == 1 for flag in reply]


def _confirmed(reply: Any, local: int, replicas: int) -> bool:
    return isinstance(reply, list) and reply[0] >= local and reply[1] >= replicas


def _op(fair: str, run: list[Entry], ttl: int) -> Op:
    """One script call: plain events, or check-in scans, of one fair."""
    stream, seen = keys.stream(fair), keys.seen_prefix(fair)
    scans = [entry for entry in run if isinstance(entry, Scan)]
    if scans:
        scan_keys = [stream, keys.entered(fair), keys.seekers(fair)]
        scan_keys += [seen + scan.event_id for scan in scans]
        return script(CHECKIN_SCRIPT, scan_keys, [ttl, fair, *_args(scans)])
    plain = [entry for entry in run if not isinstance(entry, Scan)]
    event_keys = [stream, *(seen + event_id for event_id, _ in plain)]
    return script(INGEST_SCRIPT, event_keys, [ttl, fair, *(payload for _, payload in plain)])


def _args(scans: list[Scan]) -> list[str]:
    """CHECKIN_SCRIPT's four arguments per scan, flat (no part of the rest holds a \x1f:
    serials, verdicts, digests and our reasons cannot, and a card is JSON, which escapes it)."""
    args: list[str] = []
    for scan in scans:
        rest = (scan.serial, scan.decided, scan.reason, scan.card, scan.digest)
        joined = "\x1f".join(rest) if any(rest) else ""
        args += [scan.seeker_id or "", scan.occurred_at, scan.payload, joined]
    return args
