"""The status API's answer (``POST /heartbeat/status``), assembled from one ``Reading``.

The route parses the window and the caller; everything the answer says is built here, from the
one read of the store and the parts that know the rest (the pipeline, the history, the probe,
the traffic windows), so that the answer is one consistent picture and the route stays small.
A service's entry loops over the fields that ``heartbeat_core.fields`` declares as shown in the
status API (``IN_STATUS``); the page's extra columns are the answer's ``columns``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from exporter.sql.probe import DatabaseProbe
from exporter.state.history import Change, StateHistory
from exporter.state.pipeline import PipelineView
from exporter.state.reader import Reading
from exporter.state.window import WindowCounter, empty_traffic, traffic_trend
from heartbeat_core.band import duration_band
from heartbeat_core.errors import ApiError
from heartbeat_core.fields import COLUMNS, IN_STATUS, WATERMARK
from heartbeat_core.job import OUTCOMES, Job, Runs
from heartbeat_core.status import STATES, ServiceView
from heartbeat_core.suspicion import suspicion
from heartbeat_core.types import ServiceTypes

MAX_HISTORY = 5000  # state changes per answer (about 400 KB of JSON); the rest by history_offset


@dataclass(frozen=True)
class Audience:
    """Who asks: admins see addresses, traffic and database errors; viewers see pseudonyms."""

    admin: bool
    shown: Callable[[str], str]  # a service's name as this caller may see it


@dataclass(frozen=True)
class Window:
    """The span an answer covers, and what to add to it."""

    start: float
    end: float
    now: float
    history: bool = False
    history_offset: int = 0
    trend: bool = False


@dataclass(frozen=True)
class StatusView:
    """The parts an answer is built from, held once by the exporter."""

    types: ServiceTypes
    pipeline: PipelineView
    history: StateHistory | None = None
    probe: DatabaseProbe | None = None
    windows: WindowCounter | None = None
    max_keys: int = 100  # addresses per edge in the traffic counts

    def answer(self, reading: Reading, audience: Audience, window: Window) -> dict[str, Any]:
        if reading.snapshot is None:
            raise ApiError(503, "store_unavailable", "the heartbeat store is unavailable")
        views = reading.views
        counts = Counter((view.service_type, view.state.value) for view in views)
        service_status = services(views, self.types, audience, reading.now)
        service_status["database"] = database(self.probe, audience.admin)
        answer: dict[str, Any] = {
            "service_status": service_status,
            "columns": [{"key": field.name, "title": field.shown.column} for field in COLUMNS],
            # states for everyone (whether data flows); the rates are traffic, for admins only
            "pipeline": [
                {
                    "edge": edge.edge,
                    "source": edge.source,
                    "target": edge.target,
                    "state": edge.state,
                    "records_per_minute": edge.records_per_minute if audience.admin else None,
                }
                for edge in self.pipeline(counts, reading.conditions.blind, reading.now)
            ],
            "types": self._types(views, counts, reading.now),
            "ingest_blind": reading.conditions.blind,
        }
        if window.history and self.history is not None:
            names = {view.record.name for view in views}  # none of services deleted since
            answer.update(history_page(self.history, window, names, audience.shown))
        if self.probe is not None:
            answer["database_trend"] = [
                [t, latency] for t, latency in self.probe.trend(window.start, window.end)
            ]
        if audience.admin:
            answer.update(self._traffic(window))
        return answer

    def _types(
        self, views: Sequence[ServiceView], counts: Counter[tuple[str, str]], now: float
    ) -> dict[str, Any]:
        lags = lags_by_type(views, now)
        return {
            t.name: {
                "status_key": t.status_key,
                "states": {s.value: counts[(t.name, s.value)] for s in STATES},
                "lag_seconds": lags.get(t.name),  # the furthest behind of its services' watermarks
            }
            for t in self.types.all
        }

    def _traffic(self, window: Window) -> dict[str, Any]:
        """The window's traffic, for admins: counts per edge and key, and its trend when asked."""
        error: str | None = "no pipeline database is configured"
        answer: dict[str, Any] = {"traffic_status": empty_traffic()}
        if self.windows is not None:
            counted = self.windows.counts(window.start, window.end, self.max_keys, window.now)
            answer["traffic_status"], error = counted.traffic, counted.error
            if window.trend and self.windows.rollup is not None:
                answer["traffic_trend"] = traffic_trend(
                    self.windows.rollup, window.start, window.end, window.now
                )
        if error:
            answer["traffic_error"] = error
        return answer


def lags_by_type(views: Iterable[ServiceView], now: float) -> dict[str, float]:
    """Per type, how far its furthest-behind service's watermark trails now (SPEC §14)."""
    lags: dict[str, float] = {}
    for view in views:
        watermark = WATERMARK.of(view.record)
        if watermark is not None:
            lags[view.service_type] = max(lags.get(view.service_type, 0.0), round(now - watermark, 3))
    return lags


def services(
    views: Sequence[ServiceView], types: ServiceTypes, audience: Audience, now: float
) -> dict[str, Any]:
    """The user's original ``service_status``: services by their type's key, by name.

    A sender's address is an IP of the pipeline's hosts: for admins only, like traffic. What the
    service says of itself (the fields shown in the status API) is for admins and viewers alike.
    """
    service_status: dict[str, Any] = {t.status_key: [] for t in types.all}
    for view in sorted(views, key=lambda v: v.record.name):
        entry = {
            "service": audience.shown(view.record.name),
            "type": view.service_type,
            "address": view.record.address if audience.admin else None,
            "last_seen": view.record.last_seen,
            "age_seconds": round(view.age, 3),
            "timeout_seconds": view.timeout,
            "is_alive": view.alive,
            "state": view.state.value,
            **{field.name: field.shown_of(view.record) for field in IN_STATUS},
            "suspicion": _suspicion(view, types),
        }
        if view.job is not None:
            entry["job"] = job_entry(view, view.job, now)
        service_status[types.by_name[view.service_type].status_key].append(entry)
    return service_status


def _suspicion(view: ServiceView, types: ServiceTypes) -> float | None:
    """φ now (SPEC §17), for a service whose type learns its gaps and has learned enough."""
    level = suspicion(view.record.gaps, view.age, types.get(view.service_type).detection)
    return None if level is None else round(level, 2)


def job_entry(view: ServiceView, job: Job, now: float) -> dict[str, Any]:
    """A job's runs (SPEC §13): why it is down, when it is next due, its last runs as bars; and
    the rules it is judged by (the page shows them where a service shows its timeout)."""
    runs = view.record.runs or Runs()
    return {
        "reason": view.reason or None,
        "schedule": job.schedule,
        "tz": job.tz,
        "grace_seconds": job.grace,
        "max_runtime_seconds": job.max_runtime,
        "next_due": job.next_scheduled(now),
        "running_since": runs.open[-1] if runs.open else None,
        "last_duration": runs.last_duration,
        "last_success": runs.last_success,
        "runs": {outcome: runs.counts.get(outcome, 0) for outcome in OUTCOMES},
        "recent": [{"start": start, "end": end, "outcome": outcome} for start, end, outcome in runs.bars],
        "duration_band": _band(runs),
    }


def _band(runs: Runs) -> dict[str, float] | None:
    """The run duration learned from its last successful runs (SPEC §17), once there are ten."""
    band = duration_band(runs.durations)
    return None if band is None else {"low": round(band[0], 1), "high": round(band[1], 1)}


def history_page(
    history: StateHistory, window: Window, services: set[str], shown: Callable[[str], str]
) -> dict[str, Any]:
    """A page of the window's state changes; ``history_next`` where more follow, so that no answer
    grows with the fleet's whole past."""
    changes, more = history.changes(window.start, window.end, MAX_HISTORY, window.history_offset)
    page: dict[str, Any] = {"history": by_service([c for c in changes if c.service in services], shown)}
    if more:
        page["history_next"] = window.history_offset + MAX_HISTORY
    return page


def by_service(changes: list[Change], shown: Callable[[str], str]) -> dict[str, list[dict[str, Any]]]:
    """Each service's state changes in the window, oldest first."""
    history: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        history.setdefault(shown(change.service), []).append(
            {"time": change.time, "from": change.before or None, "to": change.after}
        )
    return history


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def database(probe: DatabaseProbe | None, admin: bool) -> dict[str, Any]:
    if probe is None:
        return _disconnected("no pipeline database is configured")
    last, last_success, _ = probe.snapshot()
    if last is None:
        return _disconnected("not probed yet")
    return {
        "is_connected": last.up,
        "connection_time": iso(last_success),
        "latency_seconds": round(last.duration, 6) if last.up else None,
        # the driver's text can name hosts, users and SQL: a viewer learns only the kind of failure
        "error_message": last.error if admin or last.up else f"the database probe failed ({last.reason})",
    }


def _disconnected(why: str) -> dict[str, Any]:
    return {"is_connected": False, "connection_time": None, "latency_seconds": None, "error_message": why}
