"""The user's original status API: ``POST /auth/login`` and ``POST /heartbeat/status``."""

from __future__ import annotations

from typing import TypeVar

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from exporter.context import Exporter
from exporter.state.status_view import Audience, Window
from exporter.web.bodies import Login, StatusQuery, validated
from exporter.web.host import caller, current
from heartbeat_core.errors import ApiError
from heartbeat_core.web.body import EMPTY, read_json

bp = Blueprint("status", __name__)

DEFAULT_WINDOW = 86400.0
STATUS_WAIT = 5.0  # seconds a status call waits for a slot before 429
M = TypeVar("M", bound=BaseModel)


def _body(model: type[M], code: str, *, required: bool) -> M:
    body = read_json(allow_empty=not required)
    return validated(model, {} if body is EMPTY else body, code)


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
    current().auth.logout(caller())
    return jsonify(status="logged_out")


@bp.post("/heartbeat/status")
def status() -> ResponseReturnValue:
    exporter = current()
    principal = caller()
    window = _window(_body(StatusQuery, "invalid_window", required=False), exporter)
    audience = Audience(principal.is_admin, lambda name: exporter.auth.shown_name(name, principal.is_admin))
    # a few answers at a time: each is CPU (history, windows), and a loop of long-window calls
    # from several viewers would otherwise take the interpreter from the scrapes; the rest wait
    if not exporter.status_slots.acquire(timeout=STATUS_WAIT):
        raise ApiError(429, "too_many_status_calls", "status answers are busy; try again", retry_after=1)
    try:
        return jsonify(exporter.status_view.answer(exporter.reader.read(), audience, window))
    finally:
        exporter.status_slots.release()


def _window(query: StatusQuery, exporter: Exporter) -> Window:
    now = exporter.clock()
    end = now if query.end_time is None else query.end_time
    start = end - DEFAULT_WINDOW if query.start_time is None else query.start_time
    if end < start:
        raise ApiError(400, "invalid_window", "'end_time' is before 'start_time'")
    longest = exporter.settings.max_window_seconds
    if end - start > longest:
        raise ApiError(400, "invalid_window", f"the window is longer than {longest:g} s")
    return Window(start, end, now, query.history, query.history_offset, query.trend)
