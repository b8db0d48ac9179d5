"""The user's original status API: ``POST /auth/login`` and ``POST /heartbeat/status``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from exporter.context import Exporter
from exporter.state.history import Change, StateHistory
from exporter.state.window import empty_traffic, traffic_trend
from exporter.web.auth import Principal
from exporter.web.bodies import Login, StatusQuery, validated
from exporter.web.host import current
from heartbeat_core.errors import ApiError
from heartbeat_core.fields import INFO, MESSAGE, METRICS, OK, STATUS, WATERMARK
from heartbeat_core.job import OUTCOMES, Job, Runs
from heartbeat_core.status import STATES, ServiceView
from heartbeat_core.types import ServiceTypes
from heartbeat_core.web.body import EMPTY, read_json

bp = Blueprint("status", __name__)

DEFAULT_WINDOW = 86400.0
STATUS_WAIT = 5.0  # seconds a status call waits for a slot before 429
MAX_HISTORY = 5000  # state changes per answer (about 400 KB of JSON); the rest by history_offset
M = TypeVar("M", bound=BaseModel)


def _body(model: type[M], code: str, *, required: bool) -> M:
    body = read_json(allow_empty=not required)
    return validated(model, {} if body is EMPTY else body, code)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.post("/auth/login")
def login() -> ResponseReturnValue:
    exporter = current()
    if request.mimetype != "application/json":
        # a web page can POST text/plain cross-site without asking; JSON needs the browser's consent
        raise ApiError(415, "unsupported_media_type", "log in with Content-Type: application/json")
    body = _body(Login, "invalid_body", required=True)
    token = exporter.auth.login(body.username, body.password, request.remote_addr or "")
    return jsonify(
        access_token=token,
        token_type="bearer",  # noqa: S106
        expires_in=exporter.settings.token_ttl_seconds,
    )


@bp.post("/auth/logout")
def logout() -> ResponseReturnValue:
    exporter = current()
    exporter.auth.logout()
    return jsonify(status="logged_out")


@bp.post("/heartbeat/status")
def status() -> ResponseReturnValue:
    exporter = current()
    settings = exporter.settings
    principal = exporter.auth.principal()
    query = _body(StatusQuery, "invalid_window", required=False)
    now = exporter.clock()
    end = now if query.end_time is None else query.end_time
    start = end - DEFAULT_WINDOW if query.start_time is None else query.start_time
    if end < start:
        raise ApiError(400, "invalid_window", "'end_time' is before 'start_time'")
    if end - start > settings.max_window_seconds:
        raise ApiError(400, "invalid_window", f"the window is longer than {settings.max_window_seconds:g} s")
    # a few answers at a time: each is CPU (history, windows), and a loop of long-window calls
    # from several viewers would otherwise take the interpreter from the scrapes; the rest wait
    if not exporter.status_slots.acquire(timeout=STATUS_WAIT):
        raise ApiError(429, "too_many_status_calls", "status answers are busy; try again", retry_after=1)
    try:
        return _answer(exporter, principal, query, start, end, now)
    finally:
        exporter.status_slots.release()


def _answer(
    exporter: Exporter, principal: Principal, query: StatusQuery, start: float, end: float, now: float
) -> ResponseReturnValue:
    settings = exporter.settings
    history, trend = query.history, query.trend
    reading = exporter.reader.read()
    snapshot = reading.snapshot
    if snapshot is None:
        raise ApiError(503, "store_unavailable", "the heartbeat store is unavailable")
    types = settings.service_types
    views = reading.views

    def shown(name: str) -> str:
        return exporter.auth.shown_name(name, principal.is_admin)

    service_status = _services(views, types, shown, principal.is_admin, reading.now)
    counts = Counter((view.service_type, view.state.value) for view in views)
    service_status["database"] = _database(exporter, principal.is_admin)
    answer: dict[str, Any] = {"service_status": service_status}
    # states for everyone (whether data flows); the rates are traffic, for admins only
    answer["pipeline"] = [
        {
            "edge": edge.edge,
            "source": edge.source,
            "target": edge.target,
            "state": edge.state,
            "records_per_minute": edge.records_per_minute if principal.is_admin else None,
        }
        for edge in exporter.pipeline(counts, reading.conditions.blind, reading.now)
    ]
    lags = _lags(views, reading.now)
    answer["types"] = {
        t.name: {
            "status_key": t.status_key,
            "states": {s.value: counts[(t.name, s.value)] for s in STATES},
            "lag_seconds": lags.get(t.name),  # the furthest behind of its services' watermarks
        }
        for t in types.all
    }
    answer["ingest_blind"] = reading.conditions.blind
    if history and exporter.reader.history is not None:
        services = {view.record.name for view in views}  # none of services deleted since
        answer.update(
            _history_page(exporter.reader.history, start, end, query.history_offset, services, shown)
        )
    if exporter.probe is not None:
        answer["database_trend"] = [[t, latency] for t, latency in exporter.probe.trend(start, end)]
    if principal.is_admin:
        answer.update(_traffic(exporter, start, end, now, trend))
    return jsonify(answer)


def _lags(views: Iterable[ServiceView], now: float) -> dict[str, float]:
    """Per type, how far its furthest-behind service's watermark trails now (SPEC §14)."""
    lags: dict[str, float] = {}
    for view in views:
        watermark = WATERMARK.of(view.record)
        if watermark is not None:
            lags[view.service_type] = max(lags.get(view.service_type, 0.0), round(now - watermark, 3))
    return lags


def _traffic(exporter: Exporter, start: float, end: float, now: float, trend: bool) -> dict[str, Any]:
    """The window's traffic, for admins: counts per edge and key, and its trend when asked."""
    error: str | None = "no pipeline database is configured"
    answer: dict[str, Any] = {"traffic_status": empty_traffic()}
    if exporter.windows is not None:
        window = exporter.windows.counts(start, end, exporter.settings.max_ips_per_edge, now)
        answer["traffic_status"], error = window.traffic, window.error
        if trend and exporter.windows.rollup is not None:
            answer["traffic_trend"] = traffic_trend(exporter.windows.rollup, start, end, now)
    if error:
        answer["traffic_error"] = error
    return answer


def _services(
    views: Sequence[ServiceView], types: ServiceTypes, shown: Callable[[str], str], admin: bool, now: float
) -> dict[str, Any]:
    """The user's original ``service_status``: services by their type's key, by name.

    A sender's address is an IP of the pipeline's hosts: for admins only, like traffic.
    """
    service_status: dict[str, Any] = {t.status_key: [] for t in types.all}
    for view in sorted(views, key=lambda v: v.record.name):
        service_status[types.by_name[view.service_type].status_key].append(
            {
                "service": shown(view.record.name),
                "type": view.service_type,
                "address": view.record.address if admin else None,
                "last_seen": view.record.last_seen,
                "age_seconds": round(view.age, 3),
                "timeout_seconds": view.timeout,
                "is_alive": view.alive,
                "state": view.state.value,
                # the service's own words, for admins and viewers alike (SPEC §12)
                "status": STATUS.of(view.record) or OK,
                "message": MESSAGE.of(view.record),
                "metrics": METRICS.of(view.record) or {},
                "info": INFO.of(view.record) or {},
                "watermark": WATERMARK.of(view.record),
                **({"job": _job(view, view.job, now)} if view.job is not None else {}),
            }
        )
    return service_status


def _job(view: ServiceView, job: Job, now: float) -> dict[str, Any]:
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
    }


def _history_page(
    history: StateHistory,
    start: float,
    end: float,
    offset: int,
    services: set[str],
    shown: Callable[[str], str],
) -> dict[str, Any]:
    """A page of the window's state changes; ``history_next`` where more follow, so that no answer
    grows with the fleet's whole past."""
    changes, more = history.changes(start, end, MAX_HISTORY, offset)
    page: dict[str, Any] = {"history": _history([c for c in changes if c.service in services], shown)}
    if more:
        page["history_next"] = offset + MAX_HISTORY
    return page


def _history(changes: list[Change], shown: Callable[[str], str]) -> dict[str, list[dict[str, Any]]]:
    """Each service's state changes in the window, oldest first."""
    history: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        history.setdefault(shown(change.service), []).append(
            {"time": change.time, "from": change.before or None, "to": change.after}
        )
    return history


def _database(exporter: Exporter, admin: bool) -> dict[str, Any]:
    if exporter.probe is None:
        return {
            "is_connected": False,
            "connection_time": None,
            "latency_seconds": None,
            "error_message": "no pipeline database is configured",
        }
    last, last_success, _ = exporter.probe.snapshot()
    if last is None:
        return {
            "is_connected": False,
            "connection_time": None,
            "latency_seconds": None,
            "error_message": "not probed yet",
        }
    return {
        "is_connected": last.up,
        "connection_time": _iso(last_success),
        "latency_seconds": round(last.duration, 6) if last.up else None,
        # the driver's text can name hosts, users and SQL: a viewer learns only the kind of failure
        "error_message": last.error if admin or last.up else f"the database probe failed ({last.reason})",
    }
