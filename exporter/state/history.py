"""Each service's state changes, kept in Redis for the status page's timelines.

Only changes are written, never a heartbeat: the exporter compares the states of each read of
the store with the last ones it saw, and hands the differences to one script. The script
compares them again with the last state recorded in Redis, so two exporters that see the same
change record it once.

Layout (``P`` is the prefix):

* ``{P}:state``    hash, service -> its last recorded state and when it began (``state\\ttime``)
* ``{P}:history``  sorted set of ``service\\ttime\\tfrom\\tto``, scored by the time of the change;
                   older than the retention, or beyond ``MAX_CHANGES``, dropped
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_CHANGES = 200_000

# KEYS: state, history; ARGV: now, cutoff, max entries, then (service, state) pairs.
RECORD_CHANGES = """
local now, cutoff, most = ARGV[1], ARGV[2], tonumber(ARGV[3])
local changed = 0
for i = 4, #ARGV, 2 do
  local name, state = ARGV[i], ARGV[i + 1]
  local last = redis.call('HGET', KEYS[1], name)
  local before = last and string.match(last, '^([^\\t]*)') or ''
  if before ~= state then
    redis.call('HSET', KEYS[1], name, state .. '\\t' .. now)
    redis.call('ZADD', KEYS[2], now, name .. '\\t' .. now .. '\\t' .. before .. '\\t' .. state)
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff)
  local extra = redis.call('ZCARD', KEYS[2]) - most
  if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1) end
end
return changed
"""


@dataclass(frozen=True)
class Change:
    service: str
    time: float
    before: str  # "" for the first state recorded
    after: str


class StateHistory:
    def __init__(self, client: Any, prefix: str, retention: float) -> None:
        self.client = client
        tag = "{" + prefix + "}"
        self.keys = [f"{tag}:state", f"{tag}:history"]
        self.retention = retention
        self._record = client.register_script(RECORD_CHANGES)
        self._seen: dict[str, str] = {}  # what this exporter last saw, to write only changes

    def observe(self, states: Iterable[tuple[str, str]], now: float) -> int:
        """Record the states that changed since the last call; how many changed in Redis."""
        changes = [(name, state) for name, state in states if self._seen.get(name) != state]
        if not changes:
            return 0
        args: list[Any] = [repr(now), repr(now - self.retention), MAX_CHANGES]
        for name, state in changes:
            args += [name, state]
        written = int(self._record(keys=self.keys, args=args))
        self._seen.update(changes)  # only once written: a failed write is tried again
        return written

    def changes(self, start: float, end: float) -> list[Change]:
        """Every change in ``[start, end]``, oldest first."""
        found = []
        for raw in self.client.zrangebyscore(self.keys[1], start, end):
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            name, when, before, after = text.rsplit("\t", 3)
            found.append(Change(name, float(when), before, after))
        return found
