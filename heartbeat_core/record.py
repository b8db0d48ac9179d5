"""A service as the store keeps it: what its last heartbeat said, and when it arrived.

One hash field per service holds its last heartbeat as a JSON object: ``service_type``,
``address`` and every field declared ``latest`` (``heartbeat_core.fields``) that the beat sent,
by name. A field added later needs no change of layout; records written by older versions
(tab-separated, three to seven fields) are still read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from heartbeat_core.checks import float_or_none
from heartbeat_core.fields import (
    FIELDS,
    INSTANCE,
    INTERVAL,
    KEPT,
    MESSAGE,
    SCRIPTED,
    SEQ,
    STATUS,
    STOPPING,
    TIMESTAMP,
)
from heartbeat_core.job import Runs, decode_runs
from heartbeat_core.suspicion import Gaps

OTHER = "other"
UNKEPT = frozenset(field.name for field in FIELDS if not field.latest)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # once per heartbeat: hot
NOTHING: Mapping[str, Any] = MappingProxyType({})
# the tab-separated layout before fields were declared, by position
_LEGACY = (TIMESTAMP.name, INTERVAL.name, STATUS.name, SEQ.name, INSTANCE.name)


class ServiceRecord(NamedTuple):
    """One service as stored (a tuple: the exporter makes one per service per scrape)."""

    name: str
    service_type: str
    address: str
    last_seen: float  # the receiver's clock
    received: int
    reported: Mapping[str, Any] = NOTHING  # the declared fields of its last heartbeat, by JSON name
    lost: int = 0  # beats missing from seq gaps within one instance
    restarts: int = 0  # how often the instance changed to one not seen just before
    other_seen: float | None = None  # the last beat of the other instance it switched from
    progress: tuple[tuple[str, float], ...] = ()  # its progress counters, by name
    progress_at: float | None = None  # when they last changed (grew, or reset with a new instance)
    first_seen: float | None = None  # receiver time of its first heartbeat (None: stored before kept)
    failing_streak: int = 0  # its last heartbeats in a row that said "failing"
    runs: Runs | None = None  # a job's runs (SPEC §13); None: it never sent one
    gaps: Gaps | None = None  # its learned gaps between beats (SPEC §17); None: none learned

    @property
    def sent_at(self) -> float | None:
        return TIMESTAMP.of(self)

    @property
    def interval(self) -> float | None:
        return INTERVAL.of(self)

    @property
    def stopping(self) -> bool:
        """The last heartbeat was a goodbye."""
        return STATUS.of(self) == STOPPING

    @property
    def seq(self) -> int | None:
        return SEQ.of(self)

    @property
    def instance(self) -> str | None:
        return INSTANCE.of(self)


class Beat(NamedTuple):
    """One heartbeat as the store takes it: who, when (receiver clock; replayed: its own), its fields."""

    name: str
    service_type: str
    address: str
    now: float
    fields: Mapping[str, Any] = NOTHING  # checked values by JSON name (``Field.check``'s)
    cap: int = 0  # services this one may bring the store to when new; 0: the store's own cap
    # from a batch, at its own time: when it was received (older than the service's last, it is
    # only counted; new, its service is first seen when it arrived, never at a time it claims)
    replay: float | None = None
    job: float | None = None  # under ``jobs:``: its max_runtime (every beat of it ends a run)
    signed: tuple[str, float] | None = None  # its request's signature, and when that goes stale
    learn: tuple[int, float] | None = None  # its type learns gaps: how many to keep, the longest one

    def meta(self) -> str:
        """The record's hash value: the type, the address and the fields kept with the service."""
        kept = self.fields
        if not UNKEPT.isdisjoint(kept):
            kept = {name: value for name, value in kept.items() if name in KEPT}
        return _ENCODE({"service_type": self.service_type, "address": self.address, **kept})

    def script_fields(self) -> list[str]:
        """The fields the record script reads, as ``name, value`` pairs."""
        pairs: list[str] = []
        for field in SCRIPTED:
            value = self.fields.get(field.name)
            if value is not None and field.script is not None:
                pairs += (field.name, field.script(value))
        if self.job is not None:
            pairs += ("job", repr(self.job))
        if self.replay is not None:
            pairs += ("replay", repr(self.replay))
        if self.learn is not None:
            pairs += ("learn", str(self.learn[0]), "learn_max", repr(self.learn[1]))
            interval = self.fields.get(INTERVAL.name)
            if interval is not None:  # the gaps are relearned when it changes
                pairs += (INTERVAL.name, repr(interval))
        return pairs


def _sequence(raw: str | None) -> tuple[int, int, float | None]:
    """(lost, restarts, the other instance's last beat) from the record script's tracking field."""
    parts = (raw or "").split("\t")
    if len(parts) != 8:
        return 0, 0, None
    try:
        return int(float(parts[2])), int(float(parts[3])), float_or_none(parts[5])
    except ValueError:
        return 0, 0, None


def _gaps(raw: str | None) -> Gaps | None:
    """The record script's sums of learned gaps (``n\tsum\tsum of squares\t…``)."""
    parts = (raw or "").split("\t")
    if len(parts) < 3:
        return None
    count, total, squares = (float_or_none(part) for part in parts[:3])
    if count is None or total is None or squares is None:
        return None
    return Gaps.of_sums(int(count), total, squares)


def _progress(raw: str | None) -> tuple[tuple[str, float], ...]:
    try:
        counters = json.loads(raw) if raw else {}
        return tuple((str(k), float(v)) for k, v in sorted(counters.items()))
    except (ValueError, TypeError, AttributeError):
        return ()


def _legacy(meta: str) -> dict[str, Any]:
    """A record of the tab-separated layout, as the JSON one would hold it."""
    parts = meta.split("\t")
    if len(parts) not in (3, 5, 7):
        return {}
    found: dict[str, Any] = {"service_type": parts[0], "address": parts[1]}
    values = dict(zip(_LEGACY, parts[2:]))
    for key in (TIMESTAMP.name, INTERVAL.name, SEQ.name):
        number = float_or_none(values.get(key))
        if number is not None:
            found[key] = int(number) if key == SEQ.name else number
    for key in (STATUS.name, INSTANCE.name):
        if values.get(key):
            found[key] = values[key]
    return found


def _meta(meta: str | None) -> dict[str, Any]:
    if not meta:
        return {}
    if not meta.startswith("{"):
        return _legacy(meta)
    try:
        found = json.loads(meta)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def with_message(meta: str, message: str) -> str:
    """A stored record with only its message changed (a log line: healthchecks' ``/log``)."""
    return _ENCODE({**_meta(meta), MESSAGE.name: message})


def decode(
    name: str,
    last_seen: float,
    received: int,
    meta: str | None,
    sequence: str | None = None,
    progress: tuple[str | None, str | None] = (None, None),
    first_seen: str | None = None,
    failing_streak: str | None = None,
    runs: str | None = None,
    gaps: str | None = None,
) -> ServiceRecord:
    """A record from its stored fields; damage reads as defaults, never as a failed scrape."""
    stored = _meta(meta)
    service_type, address = stored.pop("service_type", None), stored.pop("address", None)
    reported = {}
    for key, raw in stored.items():
        field = KEPT.get(key)
        value = None if field is None else field.read(raw)
        if value is not None:
            reported[key] = value
    return ServiceRecord(
        name,
        service_type if isinstance(service_type, str) and service_type else OTHER,
        address if isinstance(address, str) else "",
        last_seen,
        received,
        reported,
        *_sequence(sequence),
        _progress(progress[0]),
        float_or_none(progress[1]),
        float_or_none(first_seen),
        int(float_or_none(failing_streak) or 0),
        decode_runs(runs),
        _gaps(gaps),
    )
