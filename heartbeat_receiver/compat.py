"""What other monitors' clients send, taken unchanged (SPEC §12): move over by changing a host.

* healthchecks.io's slug pings, ``/ping/<ping_key>/<slug>[/start|/fail|/log|/<0-255>][?rid=…]``: the key
  is an ingest token (its prefixes bind the slugs it may ping), the slug the service's name;
* Uptime Kuma's push monitors, ``/api/push/<push_token>?status=up&msg=…&ping=…``: the token
  stands for one service (``push_tokens``).

Each becomes the heartbeat body it means and goes through the one ingest path
(:meth:`Ingest.beat`), so every check and limit of ``POST /heartbeat`` applies to it.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from heartbeat_core.errors import ApiError
from heartbeat_core.fields import MAX_MESSAGE
from heartbeat_core.sections import IngestToken
from heartbeat_core.web.body import read_body
from heartbeat_receiver.host import current
from heartbeat_receiver.token import OPEN, unsigned

bp = Blueprint("compat", __name__)

PING_BODY = 10_000  # bytes of a ping's body, which becomes the service's message
METHODS = ["GET", "HEAD", "POST"]


def _not_cross_site() -> None:
    """A ping is a GET that any web page can make (``<img src=…>``): refused when a browser says it
    comes from another site. Cron jobs, curl and client libraries send neither header."""
    fetched_from = request.headers.get("Sec-Fetch-Site", "").lower()
    if fetched_from in ("cross-site", "same-site") or request.headers.get("Origin") is not None:
        raise ApiError(403, "cross_site", "pings from web pages are refused: send them from a script or job")


def _store(token: IngestToken, body: dict[str, Any]) -> None:
    """One heartbeat through the ingest path; its refusals raised as the single route's errors."""
    ingest = current().ingest
    address = ingest.address(request.remote_addr or "", request.headers.getlist("X-Forwarded-For"))
    ingest.commit(ingest.beat(token, body, address))


def _message(data: bytes) -> str | None:
    """A body as a message: the end of a long one, where a command's error usually is."""
    text = data.decode("utf-8", "replace").replace("\x00", "").strip()
    if len(text) > MAX_MESSAGE:
        text = "…" + text[-(MAX_MESSAGE - 1) :]
    return text or None


def _signal(signal: str, message: str | None) -> dict[str, Any] | None:
    """The heartbeat fields a ping's suffix means; None for a suffix that is not a signal.

    ``/start`` begins a job's run and ``/fail`` or an exit status ends one (SPEC §13); the run
    is the one ``?rid=`` names, as healthchecks pairs them.
    """
    if signal == "start":
        return {"message": message, "event": "start"}
    if signal == "":
        return {"message": message, "status": "ok"}
    if signal == "fail":
        return {"message": message, "status": "failing", "event": "finish"}
    if signal.isdigit() and signal.isascii() and int(signal) <= 255:
        code = int(signal)
        said = message or (f"exit status {code}" if code else None)
        return {
            "message": said,
            "exit_status": code,
            "event": "finish",
            "status": "failing" if code else "ok",
        }
    return None


@bp.route("/ping/<key>/<slug>", methods=METHODS, defaults={"signal": ""})
@bp.route("/ping/<key>/<slug>/<signal>", methods=METHODS)
def ping(key: str, slug: str, signal: str) -> ResponseReturnValue:
    _not_cross_site()
    token = unsigned(current().ingest.gate.find(key))
    data = read_body(request.environ, PING_BODY)
    if data is None:
        raise ApiError(413, "request_entity_too_large", f"a ping's body is at most {PING_BODY} bytes")
    message = _message(data)
    if signal == "log":
        return _log(token, slug, message)
    fields = _signal(signal, message)
    if fields is None:
        raise ApiError(
            404, "not_found", "a ping ends in the slug, /start, /fail, /log or an exit status 0-255"
        )
    _store(token, {"service": slug, **fields, "run_id": request.args.get("rid") or None})
    return ok()


def _log(token: IngestToken, slug: str, message: str | None) -> ResponseReturnValue:
    """A log line: the service's message changes, its state and last-seen time do not."""
    ingest = current().ingest
    name = ingest.beat(token, {"service": slug}, "").name  # the name and token checks of a beat
    if not ingest.store.note(name, message or ""):
        raise ApiError(404, "not_found", f"no service {name!r} has sent a heartbeat yet")
    return ok()


def ok() -> Response:
    return Response("OK", mimetype="text/plain")


@bp.route("/api/push/<token>", methods=["GET", "POST"])
def push(token: str) -> ResponseReturnValue:
    _not_cross_site()
    name = current().push_tokens.find(token)
    if name is None:
        return jsonify(ok=False, msg="Monitor not found or not active."), 404
    body: dict[str, Any] = {
        "service": name,
        "status": "ok" if request.args.get("status", "up") == "up" else "failing",
        "message": request.args.get("msg") or None,
        "rtt_ms": _rtt(request.args.get("ping", "")),
    }
    try:
        _store(OPEN, body)
    except ApiError as exc:
        response = jsonify(ok=False, msg=exc.message, error=exc.code)
        response.status_code = exc.status
        response.headers.update(exc.headers())
        return response
    return jsonify(ok=True)


def _rtt(text: str) -> float | None:
    """Kuma's ``ping``: milliseconds, or nothing (it sends ``ping=`` empty by default)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
