"""Maintenance windows over HTTP, for admins: ``POST``, ``GET`` and ``DELETE /maintenance``.

Windows are kept in Redis through the store, so every exporter sees the same ones. Deleting a
window that has begun ends it now (its services then get a timeout's grace, as after any
window); deleting one that has not begun removes it. Windows that ended longer ago than the
longest timeout no longer matter to any state and are pruned.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from exporter.context import Exporter
from exporter.web.bodies import MaintenanceRequest, validated
from exporter.web.host import caller, current
from heartbeat_core.errors import ApiError
from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.web.body import read_json

bp = Blueprint("maintenance", __name__)


def _admin() -> Exporter:
    exporter = current()
    if not caller().is_admin:
        raise ApiError(403, "forbidden", "maintenance windows are for admins")
    return exporter


def _windows(exporter: Exporter) -> tuple[MaintenanceWindow, ...]:
    snapshot = exporter.reader.read().snapshot
    if snapshot is None:
        raise ApiError(503, "store_unavailable", "the heartbeat store is unavailable")
    return snapshot.windows


def _prune(exporter: Exporter, windows: tuple[MaintenanceWindow, ...], now: float) -> None:
    keep = max(t.timeout for t in exporter.settings.service_types.all)
    exporter.reader.store.windows.drop([w.id for w in windows if w.end < now - keep])


def parse_window(body: Any, types: set[str]) -> MaintenanceWindow:
    request = validated(MaintenanceRequest, body, "invalid_field")
    if request.service_type is not None and request.service_type not in types:
        raise ApiError(400, "invalid_field", f"unknown service type {request.service_type!r}")
    fields = request.model_dump()
    return MaintenanceWindow(secrets.token_hex(8), **fields)


@bp.post("/maintenance")
def create() -> ResponseReturnValue:
    exporter = _admin()
    window = parse_window(read_json(), set(exporter.settings.service_types.by_name))
    exporter.reader.store.windows.put(window)
    exporter.reader.forget()
    return jsonify(window.__dict__), 201


@bp.get("/maintenance")
def listing() -> ResponseReturnValue:
    exporter = _admin()
    now = exporter.clock()
    windows = _windows(exporter)
    _prune(exporter, windows, now)
    return jsonify(windows=[w.__dict__ for w in windows if w.end > now])


@bp.delete("/maintenance/<window_id>")
def end(window_id: str) -> ResponseReturnValue:
    exporter = _admin()
    now = exporter.clock()
    found = [w for w in _windows(exporter) if w.id == window_id]
    if not found:
        raise ApiError(404, "not_found", "no such maintenance window")
    (window,) = found
    if window.start > now:
        exporter.reader.store.windows.drop([window.id])
        exporter.reader.forget()
        return jsonify(deleted=window.id)
    ended = MaintenanceWindow(
        window.id,
        window.start,
        min(window.end, now),
        window.service_type,
        window.service_prefix,
        window.reason,
    )
    exporter.reader.store.windows.put(ended)
    exporter.reader.forget()
    return jsonify(ended.__dict__)
