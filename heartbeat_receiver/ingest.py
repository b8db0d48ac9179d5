"""The one ingest path: every heartbeat request is answered here, whichever server carries it.

:meth:`Ingest.accept` takes the request's headers, its body (already read, bounded) and the
peer's address, and returns the whole answer: status, headers and JSON bytes. It knows no web
framework. The WSGI fast path (``fastpath``) and the Flask route (``routes``) only read the
body and send the answer, so the two cannot drift apart; a test sends the same requests
through both and compares the bytes.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from werkzeug.wsgi import get_content_length, get_input_stream

from heartbeat_core.errors import ApiError, store_unavailable
from heartbeat_core.store import CapacityExceeded, HeartbeatStore
from heartbeat_core.types import ServiceTypes
from heartbeat_receiver.heartbeat import parse

log = logging.getLogger(__name__)

JSON = ("Content-Type", "application/json")


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def encode(value: dict[str, Any]) -> bytes:
    """What Flask's ``jsonify`` writes (sorted keys, compact, UTF-8, a final newline)."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()


def error_answer(exc: ApiError) -> Answer:
    return Answer(
        exc.status, (JSON, *exc.headers().items()), encode({"error": exc.code, "message": exc.message})
    )


def read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """At most ``limit`` bytes of the body; None when it is larger (a chunked body too)."""
    length = get_content_length(environ)
    if length is not None and length > limit:
        return None
    data = get_input_stream(environ, safe_fallback=True).read(limit + 1)
    return None if len(data) > limit else data


def token_matches(header: str, tokens: tuple[str, ...]) -> bool:
    """Compare against every token in constant time, so timing tells nothing about a near miss."""
    scheme, _, given = header.partition(" ")
    match = False
    for token in tokens:
        match |= hmac.compare_digest(given.strip().encode(), token.encode())
    return scheme.lower() == "bearer" and match


class Ingest:
    def __init__(
        self,
        store: HeartbeatStore,
        types: ServiceTypes,
        clock: Callable[[], float],
        max_body: int,
        tokens: tuple[str, ...],
        max_counters: int = 8,
    ) -> None:
        self.store = store
        self.types = types
        self.clock = clock
        self.max_body = max_body
        self.tokens = tokens
        self.max_counters = max_counters
        self._store_failing = False  # a plain flag: a race only repeats or skips one log line

    def accept(self, headers: Headers, body: bytes | None, peer: str) -> Answer:
        try:
            fields = self._record(headers, body, peer)
        except ApiError as exc:
            return error_answer(exc)
        except redis.RedisError as exc:
            first, self._store_failing = not self._store_failing, True
            # an outage is reported once per process, not once per refused heartbeat
            (log.warning if first else log.debug)("heartbeat store unavailable: %s", exc)
            return error_answer(store_unavailable())
        if self._store_failing:
            self._store_failing = False
            log.info("heartbeat store available again")
        return Answer(200, (JSON,), encode(fields))

    def _record(self, headers: Headers, body: bytes | None, peer: str) -> dict[str, Any]:
        if self.tokens:
            header = headers.get("Authorization") or ""
            if not header.partition(" ")[2].strip():
                raise ApiError(401, "unauthorized", "a bearer token is required")
            if not token_matches(header, self.tokens):
                raise ApiError(401, "unauthorized", "the token is not valid")
        if body is None:
            raise ApiError(413, "request_entity_too_large", f"the body is larger than {self.max_body} bytes")
        if not body.strip():
            raise ApiError(400, "invalid_json", "the body is empty; send a JSON object")
        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        beat = parse(decoded, self.types, peer or "unknown", self.max_counters)
        now = self.clock()
        try:
            self.store.record(
                beat.service,
                beat.service_type,
                peer,
                now,
                beat.sent_at,
                interval=beat.interval,
                stopping=beat.stopping,
                seq=beat.seq,
                instance=beat.instance,
                progress=beat.progress,
            )
        except CapacityExceeded:
            raise ApiError(
                429,
                "too_many_services",
                f"the receiver already tracks its limit of {self.store.max_services} services; "
                "new names are refused until old ones expire",
            ) from None
        return {"service": beat.service, "type": beat.service_type, "received_at": now}
