"""How it has been (SPEC §16): ``/availability``, ``/availability/daily``, ``/incidents``, ``/report``.

Each answer first reads the store (so that the ledger holds every change up to now), then the
ledger. Names pass through the caller's view (a viewer gets the pseudonyms the status API uses).
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from exporter.context import Exporter
from exporter.state.availability_view import DAY, WINDOWS, Shown, daily_json, incident_json, window_json
from exporter.web.bodies import NoteRequest, validated
from exporter.web.host import caller, current
from heartbeat_core.errors import ApiError
from heartbeat_core.web.body import read_json

bp = Blueprint("availability", __name__)

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _viewer() -> tuple[Exporter, Shown, bool]:
    exporter = current()
    principal = caller()
    exporter.reader.read()  # the ledger catches up with the store before it is read
    return exporter, lambda name: exporter.auth.shown_name(name, principal.is_admin), principal.is_admin


def parse_window(raw: str | None, now: float, retention: float, default: str = "24h") -> tuple[float, float]:
    """``24h``, ``7d``, ``30d``, ``90d`` (up to now) or ``<start>,<end>`` in Unix seconds."""
    raw = default if raw is None else raw
    if raw in WINDOWS:
        return now - WINDOWS[raw], now
    start_text, comma, end_text = raw.partition(",")
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        start = end = float("nan")
    if not comma or not (start == start and end == end) or end <= start:
        raise ApiError(400, "invalid_window", "window is 24h, 7d, 30d, 90d or <start>,<end> in Unix seconds")
    if end - start > retention:
        raise ApiError(400, "invalid_window", f"the window is longer than the {retention / DAY:g} days kept")
    return start, end


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, str(default))
    if not raw.isascii() or not raw.isdecimal() or not low <= int(raw) <= high:
        raise ApiError(400, f"invalid_{name}", f"'{name}' must be a whole number from {low} to {high}")
    return int(raw)


@bp.get("/availability")
def availability() -> ResponseReturnValue:
    exporter, shown, _ = _viewer()
    now = exporter.clock()
    start, end = parse_window(request.args.get("window"), now, exporter.settings.availability_retention)
    return jsonify(window_json(exporter.ledger, start, end, now, shown))


@bp.get("/availability/daily")
def daily() -> ResponseReturnValue:
    exporter, shown, _ = _viewer()
    kept = int(exporter.settings.availability_retention // DAY)
    days = _int_arg("days", 90, 1, kept)
    return jsonify(daily_json(exporter.ledger, days, exporter.clock(), shown))


@bp.get("/incidents")
def incidents() -> ResponseReturnValue:
    exporter, shown, _ = _viewer()
    now = exporter.clock()
    start, end = parse_window(
        request.args.get("window"), now, exporter.settings.availability_retention, "30d"
    )
    return jsonify([incident_json(i, shown) for i in exporter.ledger.incidents(start, end)])


@bp.post("/incidents/<incident_id>/notes")
def note(incident_id: str) -> ResponseReturnValue:
    exporter = current()
    principal = caller()
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "notes on incidents are for admins")
    if not incident_id.isascii() or not incident_id.isdecimal() or len(incident_id) > 18:
        raise ApiError(404, "not_found", "no such incident")
    body = validated(NoteRequest, read_json(), "invalid_body")
    if body.text is None:
        raise ApiError(400, "invalid_body", "'text' is required")
    ledger = exporter.reader.ledger
    assert ledger is not None
    added = ledger.add_note(int(incident_id), exporter.clock(), principal.username, body.text)
    if added == 0:
        raise ApiError(404, "not_found", "no such incident")
    if added < 0:
        raise ApiError(409, "too_many_notes", "this incident has as many notes as it may")
    found = [i for i in exporter.ledger.incidents(float("-inf"), float("inf")) if i.id == int(incident_id)]
    return jsonify(incident_json(found[0], lambda name: name)), 201


@bp.get("/report")
def report() -> ResponseReturnValue:
    exporter, shown, admin = _viewer()
    if not admin:
        raise ApiError(403, "forbidden", "reports are for admins")
    match = MONTH.match(request.args.get("month", ""))
    if match is None:
        raise ApiError(400, "invalid_month", "'month' must be YYYY-MM")
    year, month = int(match[1]), int(match[2])
    start = float(calendar.timegm((year, month, 1, 0, 0, 0)))
    end = float(calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0)))
    now = exporter.clock()
    answer = window_json(exporter.ledger, start, min(end, now), now, shown)
    answer["month"] = match[0]
    answer["incidents"] = [incident_json(i, shown) for i in exporter.ledger.incidents(start, end)]
    kind = request.args.get("format", "json")
    if kind == "json":
        return jsonify(answer)
    if kind != "csv":
        raise ApiError(400, "invalid_format", "'format' is json or csv")
    return Response(
        report_csv(answer),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="availability-{match[0]}.csv"'},
    )


CSV_COLUMNS = (
    "service",
    "service_type",
    "availability",
    "own_availability",
    "good_seconds",
    "bad_seconds",
    "paused_seconds",
    "unknown_seconds",
    "caused_upstream_seconds",
    "incidents",
)


def report_csv(answer: dict[str, Any]) -> str:
    """One row per service; a name that begins like a formula is quoted so no sheet runs it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for name, figure in answer["services"].items():
        caused = ";".join(f"{t}={s:g}" for t, s in figure["caused_upstream_seconds"].items())
        cells = [
            name,
            figure["service_type"],
            "" if figure["availability"] is None else figure["availability"],
            "" if figure["own_availability"] is None else figure["own_availability"],
            figure["good_seconds"],
            figure["bad_seconds"],
            figure["excluded_seconds"]["paused"],
            figure["excluded_seconds"]["unknown"],
            caused,
            figure["incidents"],
        ]
        writer.writerow(
            ["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in cells]
        )
    return out.getvalue()
