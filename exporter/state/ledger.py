"""The availability ledger (SPEC §16): every service's and type's time classes, kept in Redis.

Each read of the store hands the ledger its states; the ledger works out when each new state
began (:func:`~exporter.state.availability.began_at`), replays them in time order
(:class:`~exporter.state.availability.Sweep`) and hands the class changes to one script, which
closes the open segments into per-day pieces and opens and closes incidents. The script ignores a
change to the class an entity already has, so two exporters that see the same change record it
once, and a restarted exporter resumes from what Redis holds. The keys and their formats are in
``heartbeat_core.availability_script``; the reads are :mod:`exporter.state.figures`.

Bytes: an entity's open segment is one field of ``{P}:avail:now`` (≈ 60 bytes); a service-day
without a change costs nothing until the segment closes, then one field of ≈ 40 bytes; a day of
many changes at most ``CAP`` pieces of ≈ 20 bytes before they fold (``MAX_ENTRY_BYTES`` is the
bound the tests hold the ledger to).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from exporter.state.availability import GONE, Change, Sweep, began_at
from heartbeat_core.availability_script import LEDGER_SCRIPT, NOTE_SCRIPT
from heartbeat_core.keys import KeySpace
from heartbeat_core.status import Conditions, ServiceView, State
from heartbeat_core.topology import Topology
from heartbeat_core.types import ServiceTypes

log = logging.getLogger(__name__)

CAP = 32  # pieces a service-day keeps before they fold: exact to the second up to 32 changes a day
MAX_ENTRY_BYTES = 1024  # the most one entity's field of one day's hash can hold (tested)
BATCH = 2000  # changes per script call: a restart's first read must not block Redis for long
MAX_NOTES = 100


def text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Ledger:
    def __init__(self, space: KeySpace, types: ServiceTypes, topology: Topology, retention: float) -> None:
        self.space = space
        self.types = types
        self.retention = retention
        self._write = space.script(LEDGER_SCRIPT)
        self._note = space.script(NOTE_SCRIPT)
        self._sweep = Sweep(types, topology)
        self._since: dict[str, float] = {}  # a service's class began then, as loaded (a restart)
        self._read_at: float | None = None  # this exporter's last read written
        self._loaded = False

    def observe(self, views: Sequence[ServiceView], conditions: Conditions, now: float) -> int:
        """Record the classes that changed since the last read; how many changed in Redis."""
        if not self._loaded:
            self._load(now)
        sweep = self._sweep
        out: list[Change] = []
        unseen = self._unseen_spell(conditions)
        if unseen is not None:  # a blind spell no read of this exporter saw: the store was unreadable
            out += sweep.apply((unseen, v.record.name, v.service_type, State.UNKNOWN) for v in views)
        changes: list[tuple[float, str, str, State | None]] = []
        present = set()
        for view in views:
            name = view.record.name
            present.add(name)
            if sweep.states.get(name) == view.state and sweep.service_type.get(name) == view.service_type:
                continue
            after = unseen if unseen is not None else self._read_at
            if after is None:
                after = self._since.get(name, 0.0)
            changes.append(
                (began_at(view, self.types, conditions, after, now), name, view.service_type, view.state)
            )
        for name in [n for n in sweep.states if n not in present]:
            changes.append((now, name, sweep.service_type[name], None))
        if self._read_at is None:  # the first read: the ledger's services the store no longer holds
            for entity, time_class in list(sweep.classes.items()):
                name = entity[2:]
                if entity.startswith("s\t") and time_class != GONE and name not in present:
                    changes.append((now, name, sweep.service_type.get(name, ""), None))
        out += sweep.apply(changes)
        try:
            written = self._send(out)
        except Exception:
            self._loaded = False  # what Redis holds is the truth: start again from it
            raise
        self._read_at = now
        return written

    def _unseen_spell(self, conditions: Conditions) -> float | None:
        """The start of a blind spell that began and ended since this exporter's last read."""
        since, until = conditions.blind_since, conditions.blind_until
        if self._read_at is None or since is None or until is None:
            return None
        return since if since > self._read_at and until > self._read_at else None

    def _send(self, changes: list[Change]) -> int:
        written = 0
        for i in range(0, len(changes), BATCH):
            args: list[Any] = [self.space.ledger_day, repr(self.retention), CAP]
            for c in changes[i : i + BATCH]:
                args += [repr(c.time), c.entity, c.time_class, c.service_type, c.incident_type, c.state]
            written += int(self._write(keys=self.space.ledger, args=args))
        return written

    def _load(self, now: float) -> None:
        """Resume from Redis: the classes it holds, and when they began; forget long-gone services."""
        classes: dict[str, str] = {}
        service_types: dict[str, str] = {}
        self._since = {}
        stale = []
        for raw_entity, raw in self.space.client.hgetall(self.space.ledger[0]).items():
            entity = text(raw_entity)
            time_class, since, _, service_type = text(raw).split("\t")
            if time_class == GONE and float(since) < now - self.retention:
                stale.append(entity)
                continue
            classes[entity] = time_class
            if entity.startswith("s\t"):
                service_types[entity[2:]] = service_type
                self._since[entity[2:]] = float(since)
        if stale:
            self.space.client.hdel(self.space.ledger[0], *stale)
        self._sweep = Sweep(self.types, self._sweep.topology)
        self._sweep.load(classes, service_types)
        self._read_at = None
        self._loaded = True

    def add_note(self, incident: int, time: float, author: str, note: str) -> int:
        """1 added, 0 no such incident, -1 it has ``MAX_NOTES`` already."""
        return int(
            self._note(keys=[self.space.ledger[1]], args=[str(incident), repr(time), author, note, MAX_NOTES])
        )
