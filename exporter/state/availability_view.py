"""The availability answers' JSON (SPEC §16), from the ledger's figures, for every route that shows them.

The status API, the report and the public page all shape figures here, and all pass names
through ``shown`` (the viewer's pseudonyms, or the public page's list), so that what one route
hides no other shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from exporter.state.availability import GONE
from exporter.state.figures import Figure, Incident, LedgerReader, Segment, count_incidents

DAY = 86400.0
WINDOWS = {"24h": DAY, "1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY}
Shown = Callable[[str], str | None]  # a service's name as the caller may see it; None: hidden


def date_of(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY))


def incident_json(incident: Incident, shown: Shown, notes: bool = True) -> dict[str, Any]:
    return {
        "id": incident.id,
        "start": incident.start,
        "end": incident.end,
        "service_type": incident.service_type,
        "services": [n for n in (shown(s) for s in incident.services) if n is not None],
        "types": list(incident.types),
        "root": incident.root,
        "state": incident.state,
        **({"notes": list(incident.notes)} if notes else {}),
    }


def split(
    figures: Mapping[str, Figure], segments: Mapping[str, Segment], shown: Shown, types: set[str] | None
) -> tuple[dict[str, Figure], dict[str, tuple[str, Figure]]]:
    """Figures by type and by (shown) service; a gone service only while it has time in the window."""
    by_type: dict[str, Figure] = {}
    by_service: dict[str, tuple[str, Figure]] = {}
    for entity, figure in figures.items():
        segment = segments[entity]
        kind, name = entity[0], entity[2:]
        if kind == "t":
            listed = types is None or name in types
            if listed and (segment.time_class != GONE or figure.good + figure.bad):
                by_type[name] = figure
            continue
        seen = shown(name)
        if seen is None or (segment.time_class == GONE and not (figure.good + figure.bad + figure.paused)):
            continue
        by_service[seen] = (segment.service_type, figure)
    return by_type, by_service


def window_json(
    ledger: LedgerReader, start: float, end: float, now: float, shown: Shown, types: set[str] | None = None
) -> dict[str, Any]:
    segments = ledger.segments()
    figures = ledger.window(start, end, now, segments)
    count_incidents(figures, ledger.incidents(start, end))
    by_type, by_service = split(figures, segments, shown, types)
    return {
        "window": {"start": start, "end": end},
        "types": {name: f.json() for name, f in sorted(by_type.items())},
        "services": {
            name: {"service_type": service_type, **f.json()}
            for name, (service_type, f) in sorted(by_service.items())
        },
    }


def daily_json(
    ledger: LedgerReader, days: int, now: float, shown: Shown, types: set[str] | None = None
) -> dict[str, Any]:
    segments = ledger.segments()
    incidents = ledger.incidents(now - days * DAY, now)
    out_types: dict[str, list[dict[str, Any]]] = {}
    out_services: dict[str, dict[str, Any]] = {}
    for day, figures in ledger.daily(days, now, segments):
        count_incidents(figures, [i for i in incidents if i.overlaps(day * DAY, (day + 1) * DAY)])
        by_type, by_service = split(figures, segments, shown, types)
        stamp = {"date": date_of(day), "start": day * DAY}
        for name, figure in by_type.items():
            out_types.setdefault(name, []).append({**stamp, **figure.json()})
        for name, (service_type, figure) in by_service.items():
            entry = out_services.setdefault(name, {"service_type": service_type, "days": []})
            entry["days"].append({**stamp, **figure.json()})
    return {
        "days": days,
        "types": {name: {"days": entries} for name, entries in sorted(out_types.items())},
        "services": dict(sorted(out_services.items())),
    }
