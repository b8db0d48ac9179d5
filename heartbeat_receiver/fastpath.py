"""The ingest routes as plain WSGI, in front of the Flask app.

Heartbeats are nearly all of the receiver's traffic. For them, Flask's request machinery costs
more than validating and recording them, so this adapter hands them to the one ingest path
(:class:`~heartbeat_receiver.ingest.Ingest`) directly. Every other route goes to the Flask app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.datastructures import EnvironHeaders

from heartbeat_receiver.ingest import Ingest, read_body

PATHS = frozenset(("/heartbeat", "/heartbeat/report"))
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_STATUS = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class FastHeartbeats:
    def __init__(self, app: WSGIApp, ingest: Ingest) -> None:
        self.app = app
        self.ingest = ingest

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in PATHS:
            return self.app(environ, start_response)
        answer = self.ingest.accept(
            EnvironHeaders(environ),
            read_body(environ, self.ingest.max_body),
            environ.get("REMOTE_ADDR") or "",
        )
        start_response(_STATUS[answer.status], [*answer.headers, ("Content-Length", str(len(answer.body)))])
        return [answer.body]
