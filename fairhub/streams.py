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

# KEYS[1] is the partition's stream, KEYS[2..] the "seen" key of each event; ARGV[1] the ttl,
# ARGV[2] the fair, then the payloads. Setting the seen key and adding the entry in one script
# makes them durable together: an id is "duplicate" only if its event is in the stream.
INGEST_SCRIPT = """
local added = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'f', ARGV[2], 'e', ARGV[i + 1])
    added[i - 1] = 1
  else
    added[i - 1] = 0
  end
end
return added
"""

# Check-in scans. KEYS: the stream, the fair's "entered" hash, then each scan's seen key.
# ARGV: ttl, the fair, then five per scan: seeker id ('' when the verdict is already decided,
# e.g. a forged badge), occurred_at, the payload if admitted (or the decided one), the payload
# if a re-entry, the decided verdict. The seen key keeps the answer, so a kiosk's retry of the
# same id gets the same verdict; HSETNX makes "first entry" atomic across gates and gateways.
CHECKIN_SCRIPT = """
local out = {}
for k = 3, #KEYS do
  local a = 3 + (k - 3) * 5
  local prior = redis.call('GET', KEYS[k])
  if prior then
    out[#out + 1] = 0
    out[#out + 1] = prior
  else
    local answer, payload
    if ARGV[a] == '' then
      answer, payload = ARGV[a + 4] .. '|', ARGV[a + 2]
    elseif redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1]) == 1 then
      answer, payload = 'admitted|' .. ARGV[a + 1], ARGV[a + 2]
    else
      answer, payload = 'reentry|' .. redis.call('HGET', KEYS[2], ARGV[a]), ARGV[a + 3]
    end
    redis.call('SET', KEYS[k], answer, 'EX', ARGV[1])
    redis.call('XADD', KEYS[1], '*', 'f', ARGV[2], 'e', payload)
    out[#out + 1] = 1
    out[#out + 1] = answer
  end
end
return out
"""


class NotDurableError(Exception):
    """Redis did not confirm the events are on disk; the client must retry (503)."""


@dataclass(frozen=True)
class Scan:
    """A check-in whose verdict Redis decides (first entry or re-entry) as it appends it."""

    event_id: str
    seeker_id: str | None  # None: the verdict is already decided (denied)
    occurred_at: str
    payload: str  # as admitted, or as decided
    reentry_payload: str = ""
    decided: str = ""  # the denied verdict


@dataclass(frozen=True)
class ScanAnswer:
    added: bool  # False: this id was seen before, and this is the first answer again
    verdict: str | None  # None: the id belongs to an event that was not a check-in
    first_seen_at: str | None


def _answer(added: int, raw: bytes | str) -> ScanAnswer:
    text = raw.decode() if isinstance(raw, bytes) else raw
    verdict, sep, first = text.partition("|")
    if not sep:
        return ScanAnswer(added == 1, None, None)
    return ScanAnswer(added == 1, verdict, first or None)


# An entry to append: a plain event (id, payload JSON), or a check-in scan.
Entry = tuple[str, str] | Scan
# What became of it: True if added, False for a known id; a ScanAnswer for a scan.
Outcome = bool | ScanAnswer


@dataclass
class _Append:
    fair: str
    entries: list[Entry]

    def runs(self) -> list[list[Entry]]:
        """Consecutive entries of one kind go in one script call, in order."""
        runs: list[list[Entry]] = []
        for entry in self.entries:
            if runs and isinstance(runs[-1][0], Scan) == isinstance(entry, Scan):
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return runs


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
        """Add plain events and check-in scans durably and in order, in one flush."""
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
        runs = [item.runs() for item in batch]
        ttl = settings.dedupe_ttl_seconds
        ops = [
            _op(item.fair, run, ttl)
            for item, item_runs in zip(batch, runs, strict=True)
            for run in item_runs
        ]
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
        results: list[list[Outcome]] = []
        position = 0
        for item_runs in runs:
            outcomes: list[Outcome] = []
            for run in item_runs:
                reply = replies[position]
                position += 1
                if isinstance(run[0], Scan):
                    outcomes.extend(
                        _answer(*pair) for pair in zip(reply[::2], reply[1::2], strict=True)
                    )
                else:
                    outcomes.extend(flag == 1 for flag in reply)
            results.append(outcomes)
        return results


def _confirmed(reply: Any, local: int, replicas: int) -> bool:
    return isinstance(reply, list) and reply[0] >= local and reply[1] >= replicas


def _op(fair: str, run: list[Entry], ttl: int) -> Op:
    """One script call: a run of plain events, or of check-in scans, of one fair."""
    stream, seen = keys.stream(fair), keys.seen_prefix(fair)
    scans = [entry for entry in run if isinstance(entry, Scan)]
    if scans:
        scan_keys = [stream, keys.entered(fair), *(seen + scan.event_id for scan in scans)]
        return script(CHECKIN_SCRIPT, scan_keys, [ttl, fair, *_args(scans)])
    plain = [entry for entry in run if not isinstance(entry, Scan)]
    event_keys = [stream, *(seen + event_id for event_id, _ in plain)]
    return script(INGEST_SCRIPT, event_keys, [ttl, fair, *(payload for _, payload in plain)])


def _args(scans: list[Scan]) -> list[str]:
    """CHECKIN_SCRIPT's five arguments per scan, flat."""
    args: list[str] = []
    for scan in scans:
        args += [scan.seeker_id or "", scan.occurred_at, scan.payload]
        args += [scan.reentry_payload, scan.decided]
    return args
