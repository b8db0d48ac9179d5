"""The accepted-heartbeat path as plain WSGI, in front of the Flask app.

Heartbeats are nearly all of the receiver's traffic and nearly all of them are valid. For those,
Flask's request machinery costs more than validating and recording them; this middleware does
the same work through the same functions (``accept``) and answers directly. Anything else —
another route, a body without a length, a bad token, invalid input — goes to the Flask app
untouched (the body re-wound), so every error is still the app's JSON error.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import redis

from heartbeat_receiver.auth import token_matches
from heartbeat_receiver.errors import ApiError, store_unavailable
from heartbeat_receiver.heartbeat import accept
from heartbeat_receiver.service import TypeRules
from heartbeat_receiver.store import HeartbeatStore

log = logging.getLogger(__name__)

PATHS = frozenset(("/heartbeat", "/heartbeat/report"))
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_STATUS = {200: "200 OK", 429: "429 Too Many Requests", 503: "503 Service Unavailable"}


def _json(value: dict[str, Any]) -> bytes:
    # the same bytes Flask's jsonify writes: sorted keys, compact, a final newline
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()


class FastHeartbeats:
    def __init__(
        self,
        app: WSGIApp,
        store: HeartbeatStore,
        rules: TypeRules,
        clock: Callable[[], float],
        max_body: int,
        tokens: tuple[str, ...],
    ) -> None:
        self.app = app
        self.store = store
        self.rules = rules
        self.clock = clock
        self.max_body = max_body
        self.tokens = tokens

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH") or ""
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") not in PATHS
            or not length.isdigit()
            or not 0 < int(length) <= self.max_body
            or (self.tokens and not token_matches(environ.get("HTTP_AUTHORIZATION", ""), self.tokens))
        ):
            return self.app(environ, start_response)
        data = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(data)  # the Flask app can read it again
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return self.app(environ, start_response)
        try:
            answer = accept(body, self.rules, self.store, environ.get("REMOTE_ADDR") or "", self.clock())
        except ApiError as exc:
            if exc.status != 429:  # no side effect happened: let the app answer as it always does
                return self.app(environ, start_response)
            return self._send(
                exc.status, {"error": exc.code, "message": exc.message}, exc.headers(), start_response
            )
        except redis.RedisError as exc:
            log.warning("heartbeat store unavailable: %s", exc)
            error = store_unavailable()
            return self._send(
                503, {"error": error.code, "message": error.message}, error.headers(), start_response
            )
        return self._send(200, answer, {}, start_response)

    @staticmethod
    def _send(
        status: int, value: dict[str, Any], headers: dict[str, str], start_response: StartResponse
    ) -> list[bytes]:
        payload = _json(value)
        start_response(
            _STATUS[status],
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers.items()],
        )
        return [payload]
