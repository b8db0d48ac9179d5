"""``GET /events``: Server-Sent Events that tell the status page when a state changed.

Every ``TICK`` seconds the stream reads the store (the shared snapshot, so a hundred open pages
cost Redis one read a second) and, when any service's state or the ingest's blindness differs
from the last event, or a new minute began (the traffic rollup's buckets are per minute), sends
``event: status`` with the states; the page then fetches the status.
A stream ends after ``LIFETIME`` seconds and the page reconnects, so a token that expired or was
revoked stops being served within that time. Comments keep proxies from timing the stream out.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from exporter.context import Exporter
from exporter.web.host import caller, current
from heartbeat_core.errors import ApiError
from heartbeat_core.web.bridge import DISCONNECTED, STREAMS

bp = Blueprint("events", __name__)

TICK = 1.0
LIFETIME = 300.0
KEEPALIVE = 15.0


def stream(
    exporter: Exporter,
    sleep: Callable[[float], None] = time.sleep,
    lifetime: float = LIFETIME,
    admin: bool = True,
    stop: threading.Event | None = None,
) -> Iterator[str]:
    yield f"retry: {int(TICK * 2000)}\n\n"
    last: str | None = None
    quiet = 0.0
    started = time.monotonic()
    while time.monotonic() - started < lifetime and not (stop is not None and stop.is_set()):
        reading = exporter.reader.read()
        states = {
            exporter.auth.shown_name(view.record.name, admin): view.state.value for view in reading.views
        }
        payload = json.dumps(
            {"blind": reading.conditions.blind, "states": states, "at": reading.now},
            ensure_ascii=False,
            sort_keys=True,
        )
        # the minute too: once a minute the page fetches the status, and the trends' last step
        digest = json.dumps([reading.conditions.blind, sorted(states.items()), int(reading.now // 60)])
        if digest != last:
            last, quiet = digest, 0.0
            yield f"event: status\ndata: {payload}\n\n"
        elif quiet >= KEEPALIVE:
            quiet = 0.0
            yield ": still here\n\n"
        sleep(TICK)
        quiet += TICK


OPEN_STREAMS = threading.BoundedSemaphore(STREAMS)


class _Released:
    """The stream, giving its place back when it is closed: at its end, when its client goes
    away (the bridge closes it), or unread (a generator's ``finally`` would not run then)."""

    def __init__(self, events: Iterator[str]) -> None:
        self.events = events
        self.open = True

    def __iter__(self) -> _Released:
        return self

    def __next__(self) -> str:
        return next(self.events)

    def close(self) -> None:
        if self.open:
            self.open = False
            OPEN_STREAMS.release()


@bp.get("/events")
def events() -> Response:
    exporter = current()
    principal = caller()  # 401 before any stream starts
    if not OPEN_STREAMS.acquire(blocking=False):
        # each stream holds one of the bridge's stream threads: one more would get headers, then
        # wait for a thread with no data; a 503 sends the page back to polling instead
        raise ApiError(503, "too_many_streams", f"{STREAMS} event streams are open; try again", retry_after=5)
    return Response(
        # the bridge sets this event when the client goes away: the stream ends within a tick
        _Released(stream(exporter, admin=principal.is_admin, stop=request.environ.get(DISCONNECTED))),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
