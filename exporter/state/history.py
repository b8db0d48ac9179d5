"""Each service's state changes, kept in Redis for the status page's timelines.

Only changes are written, never a heartbeat: the exporter compares the states of each read of
the store with the last ones it saw, and hands the differences to one script. The script
compares them again with the last state recorded in Redis, so two exporters that see the same
change record it once.

Its keys, ``{P}:state`` and ``{P}:history``, are described in ``heartbeat_core.keys``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from heartbeat_core.keys import KeySpace
from heartbeat_core.scripts import RECORD_CHANGES_SCRIPT

log = logging.getLogger(__name__)

MAX_CHANGES = 200_000


@dataclass(frozen=True)
class Change:
    service: str
    time: float
    before: str  # "" for the first state recorded
    after: str


class StateHistory:
    def __init__(self, space: KeySpace, retention: float) -> None:
        self.space = space
        self.retention = retention
        self._record = space.script(RECORD_CHANGES_SCRIPT)
        self._seen: dict[str, str] = {}  # what this exporter last saw, to write only changes

    def observe(self, states: Iterable[tuple[str, str]], now: float) -> int:
        """Record the states that changed since the last call; how many changed in Redis.

        ``states``: every service the store holds now; the ones it no longer holds are forgotten
        here (and the store's record script drops them from ``{P}:state`` when it prunes them).
        """
        current = dict(states)
        changes = [(name, state) for name, state in current.items() if self._seen.get(name) != state]
        written = 0
        if changes:
            args: list[Any] = [repr(now), repr(now - self.retention), MAX_CHANGES]
            for name, state in changes:
                args += [name, state]
            written = int(self._record(keys=[self.space.state, self.space.history], args=args))
        self._seen = current  # only once written: a failed write is tried again
        return written

    def changes(self, start: float, end: float, limit: int, offset: int = 0) -> tuple[list[Change], bool]:
        """``limit`` changes in ``[start, end]`` from the ``offset``-th on, oldest first; and
        whether more follow. (Pages by position, not by time: one read of the store writes all
        its changes under one time, so a page boundary by time could split them forever.)"""
        found = []
        raws = self.space.client.zrangebyscore(self.space.history, start, end, start=offset, num=limit + 1)
        for raw in raws[:limit]:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            name, when, before, after = text.rsplit("\t", 3)
            found.append(Change(name, float(when), before, after))
        return found, len(raws) > limit
