"""A service as the store keeps it: what its last heartbeat said, and when it arrived.

One hash field per service holds the fields of its last heartbeat, tab-separated (a tab cannot
occur in any of them: names refuse control characters, the rest are numbers and fixed words).
"""

from __future__ import annotations

import json
from typing import NamedTuple

OTHER = "other"
STOPPING = "stopping"  # the heartbeat ``status`` that says goodbye


class ServiceRecord(NamedTuple):
    """One service as stored (a tuple: the exporter makes one per service per scrape)."""

    name: str
    service_type: str
    address: str
    last_seen: float  # the receiver's clock
    received: int
    sent_at: float | None = None  # the sender's clock, if it sent one
    interval: float | None = None  # the beat interval the sender declares
    stopping: bool = False  # the last heartbeat was a goodbye
    seq: int | None = None  # the sender's sequence number of its last beat
    instance: str | None = None  # the sender's process instance
    lost: int = 0  # beats missing from seq gaps within one instance
    restarts: int = 0  # how often the instance changed to one not seen just before
    other_seen: float | None = None  # the last beat of the other instance it switched from
    progress: tuple[tuple[str, float], ...] = ()  # its progress counters, by name
    progress_at: float | None = None  # when they last changed (grew, or reset with a new instance)


class Beat(NamedTuple):
    """One heartbeat as the record script takes it."""

    name: str
    now: float
    meta: str
    seq: str = ""  # the sender's sequence number, "" when it sends none
    instance: str = ""  # the sender's instance, "" when it sends none: nothing is tracked then
    progress: str = ""  # its progress counters as compact JSON, "" when it sends none
    cap: int = 0  # services this one may bring the store to when new; 0: the store's own cap

    @property
    def service_type(self) -> str:
        return self.meta.partition("\t")[0]  # the first field of encode_meta


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def encode_meta(
    service_type: str,
    address: str,
    sent_at: float | None,
    interval: float | None,
    stopping: bool,
    seq: int | None = None,
    instance: str | None = None,
) -> str:
    status = STOPPING if stopping else ""
    fields = (
        service_type,
        address,
        _number(sent_at),
        _number(interval),
        status,
        _number(seq),
        instance or "",
    )
    return "\t".join(fields)


def _float(raw: str) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _sequence(raw: str | None) -> tuple[int, int, float | None]:
    """(lost, restarts, the other instance's last beat) from the record script's tracking field."""
    parts = (raw or "").split("\t")
    if len(parts) != 8:
        return 0, 0, None
    try:
        return int(float(parts[2])), int(float(parts[3])), _float(parts[5])
    except ValueError:
        return 0, 0, None


def _progress(raw: str | None) -> tuple[tuple[str, float], ...]:
    try:
        counters = json.loads(raw) if raw else {}
        return tuple((str(k), float(v)) for k, v in sorted(counters.items()))
    except (ValueError, TypeError, AttributeError):
        return ()


def decode(
    name: str,
    last_seen: float,
    received: int,
    meta: str | None,
    sequence: str | None = None,
    progress: tuple[str | None, str | None] = (None, None),
) -> ServiceRecord:
    """A record from its stored fields; older layouts (three or five fields) and damage read as defaults."""
    parts = (meta or "").split("\t")
    if len(parts) not in (3, 5, 7):
        return ServiceRecord(name, OTHER, "", last_seen, received)
    parts += [""] * (7 - len(parts))
    service_type, address, sent_at, interval, status, seq, instance = parts
    number = _float(seq)
    return ServiceRecord(
        name,
        service_type or OTHER,
        address,
        last_seen,
        received,
        _float(sent_at),
        _float(interval),
        status == STOPPING,
        None if number is None else int(number),
        instance or None,
        *_sequence(sequence),
        _progress(progress[0]),
        _float(progress[1] or ""),
    )
