"""Availability figures from the ledger (SPEC §16): a window's seconds by class, from two reads.

Every entity carries its totals since it was first seen, so a window's figures are the totals at
its end minus those at its start, and the totals at any instant come from one field: the open
segment (``{P}:avail:now``) when it began before that instant, else the day's pieces. A window of
any length costs the same two hashes: that is what keeps ``/availability?window=90d`` fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exporter.state.availability import BAD, CAUSED, GOOD, PAUSED, UNKNOWN
from exporter.state.ledger import text
from heartbeat_core.keys import KeySpace

DAY = 86400
Totals = dict[str, float]


@dataclass(frozen=True)
class Segment:
    """An entity's open segment and its totals before it."""

    time_class: str
    since: float
    totals: Totals
    service_type: str


def parse_totals(raw: str, sep: str = ",") -> Totals:
    found: Totals = {}
    for part in raw.split(sep):
        if part:
            key, _, value = part.partition("=")
            found[key] = float(value)
    return found


def parse_segment(raw: str) -> Segment:
    time_class, since, totals, service_type = raw.split("\t")
    return Segment(time_class, float(since), parse_totals(totals), service_type)


def totals_at(segment: Segment | None, day_entry: str | None, x: float) -> Totals:
    """An entity's seconds by class from its first sight up to the instant ``x``."""
    if segment is None:
        return {}
    if segment.since <= x:
        found = dict(segment.totals)
        found[segment.time_class] = found.get(segment.time_class, 0.0) + x - segment.since
        return found
    if day_entry is None:
        return {}  # not seen yet at x (or x is older than the ledger keeps)
    base, _, pieces = day_entry.partition("\t")
    found = parse_totals(base)
    offset = x - math.floor(x / DAY) * DAY
    for piece in pieces.split(";")[1:]:
        time_class, start, end = piece.rsplit(",", 2)
        a, b = float(start), float(end)
        if a >= offset:
            break
        if time_class.startswith("*"):  # a folded stretch: its seconds spread evenly over it
            share = (min(b, offset) - a) / (b - a) if b > a else 1.0
            for key, value in parse_totals(time_class[1:], "|").items():
                found[key] = found.get(key, 0.0) + value * share
        else:
            found[time_class] = found.get(time_class, 0.0) + min(b, offset) - a
    return found


@dataclass
class Figure:
    """One entity's seconds in a window, and the figures §16 reports from them."""

    good: float = 0.0
    own_bad: float = 0.0
    paused: float = 0.0
    unknown: float = 0.0
    caused: dict[str, float] = field(default_factory=dict)
    incidents: int = 0

    @classmethod
    def between(cls, start: Totals, end: Totals) -> Figure:
        def seconds(key: str) -> float:
            return round(max(0.0, end.get(key, 0.0) - start.get(key, 0.0)), 3)

        caused = {k[len(CAUSED) :]: seconds(k) for k in end if k.startswith(CAUSED) and seconds(k) > 0}
        return cls(seconds(GOOD), seconds(BAD), seconds(PAUSED), seconds(UNKNOWN), caused)

    @property
    def bad(self) -> float:
        return round(self.own_bad + sum(self.caused.values()), 3)

    def json(self) -> dict[str, Any]:
        def ratio(bad: float) -> float | None:
            judged = self.good + bad
            return None if judged <= 0 else round(self.good / judged, 6)

        return {
            "availability": ratio(self.bad),
            "own_availability": ratio(self.own_bad),
            "good_seconds": _number(self.good),
            "bad_seconds": _number(self.bad),
            "excluded_seconds": {"paused": _number(self.paused), "unknown": _number(self.unknown)},
            "caused_upstream_seconds": {k: _number(v) for k, v in sorted(self.caused.items())},
            "incidents": self.incidents,
        }


def _number(seconds: float) -> float | int:
    return int(seconds) if seconds == int(seconds) else seconds


@dataclass(frozen=True)
class Incident:
    id: int
    start: float
    end: float | None
    service_type: str
    services: tuple[str, ...]
    types: tuple[str, ...]
    root: str | None
    state: str
    notes: tuple[dict[str, Any], ...]

    @classmethod
    def parse(cls, raw: str) -> Incident:
        fields = json.loads(raw)

        def listed(key: str) -> tuple[Any, ...]:
            return tuple(fields.get(key) or ())  # cjson writes an empty list as {}

        return cls(
            int(fields["id"]),
            float(fields["start"]),
            None if fields.get("end") is None else float(fields["end"]),
            str(fields["service_type"]),
            listed("services"),
            listed("types"),
            fields.get("root") or None,
            str(fields.get("state") or "down"),
            listed("notes"),
        )

    def overlaps(self, start: float, end: float) -> bool:
        return self.start <= end and (self.end is None or self.end >= start)


class LedgerReader:
    """Reads the ledger's figures: a window's, each day's, and the incidents."""

    def __init__(self, space: KeySpace, retention: float) -> None:
        self.space = space
        self.retention = retention

    def segments(self, entities: Iterable[str] | None = None) -> dict[str, Segment]:
        key = self.space.ledger[0]
        if entities is None:
            raws = self.space.client.hgetall(key).items()
        else:
            wanted = list(entities)
            raws = zip(wanted, self.space.client.hmget(key, wanted) if wanted else [], strict=True)
        return {text(k): parse_segment(text(v)) for k, v in raws if v is not None}

    def day(self, x: float, entities: Iterable[str] | None = None) -> dict[str, str]:
        key = self.space.ledger_day + str(math.floor(x / DAY))
        if entities is None:
            return {text(k): text(v) for k, v in self.space.client.hgetall(key).items()}
        wanted = list(entities)
        values = self.space.client.hmget(key, wanted) if wanted else []
        return {k: text(v) for k, v in zip(wanted, values, strict=True) if v is not None}

    def window(
        self, start: float, end: float, now: float, segments: Mapping[str, Segment] | None = None
    ) -> dict[str, Figure]:
        """Every entity's figure over ``[start, end]`` (clipped to now and to the retention)."""
        segments = self.segments() if segments is None else segments
        start = max(start, now - self.retention)
        end = min(end, now)
        if end <= start:
            return {entity: Figure() for entity in segments}
        names = list(segments)
        at_start = self.day(start, names)
        at_end = {} if end >= now else self.day(end, names)
        return {
            entity: Figure.between(
                totals_at(segment, at_start.get(entity), start), totals_at(segment, at_end.get(entity), end)
            )
            for entity, segment in segments.items()
        }

    def daily(
        self, days: int, now: float, segments: Mapping[str, Segment] | None = None
    ) -> list[tuple[int, dict[str, Figure]]]:
        """Each UTC day's figures, the last ``days`` days up to today (so far), oldest first."""
        segments = self.segments() if segments is None else segments
        names = list(segments)
        today = math.floor(now / DAY)
        read: dict[int, dict[str, str]] = {}

        def entries(day: int) -> dict[str, str]:
            if day not in read:
                read[day] = self.day(day * DAY, names)
            return read[day]

        out = []
        for day in range(today - days + 1, today + 1):
            start, end = day * DAY, min((day + 1) * DAY, now)
            if start < now - self.retention:
                continue
            first, last = entries(day), (entries(day + 1) if end < now else {})
            out.append(
                (
                    day,
                    {
                        entity: Figure.between(
                            totals_at(segment, first.get(entity), start),
                            totals_at(segment, last.get(entity), end),
                        )
                        for entity, segment in segments.items()
                    },
                )
            )
        return out

    def incidents(self, start: float, end: float) -> list[Incident]:
        ids = self.space.client.zrangebyscore(self.space.ledger[2], "-inf", end)
        if not ids:
            return []
        raws = self.space.client.hmget(self.space.ledger[1], ids)
        found = [Incident.parse(text(raw)) for raw in raws if raw is not None]
        return sorted((i for i in found if i.overlaps(start, end)), key=lambda i: (i.start, i.id))


def count_incidents(figures: Mapping[str, Figure], incidents: Iterable[Incident]) -> None:
    """Each figure's ``incidents``: those its type or service was part of."""
    for incident in incidents:
        for entity in {*("t\t" + t for t in incident.types), *("s\t" + s for s in incident.services)}:
            if entity in figures:
                figures[entity].incidents += 1
