"""The one ingest path: every heartbeat request is answered here, whichever server carries it.

:meth:`Ingest.check` takes the request's headers, its body (already read, bounded) and the
peer's address, and returns the heartbeat to store or raises the error that answers it;
:meth:`Ingest.answer` turns what the store said into the whole answer: status, headers and JSON
bytes. It knows no web framework. The RSGI server (``rsgi``) stores the heartbeats of many
requests in one batch between the two; the Flask route (``routes``, for WSGI servers and test
clients) calls :meth:`Ingest.accept`, which does all three. Neither decides anything, so they
cannot drift apart; a test sends the same requests through both and compares.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from heartbeat_core.errors import ApiError, decode, encode, store_unavailable
from heartbeat_core.fields import DEFAULT_LIMITS, EVENT, TIMESTAMP, Limits
from heartbeat_core.outage import Outage
from heartbeat_core.record import Beat
from heartbeat_core.replays import ReplayMemory
from heartbeat_core.sections import IngestToken
from heartbeat_core.store import CapacityExceeded, HeartbeatStore, accepted_count
from heartbeat_core.types import ServiceTypes
from heartbeat_core.web.peer import client_address
from heartbeat_receiver.heartbeat import parse
from heartbeat_receiver.signature import HEADER, SignatureGate
from heartbeat_receiver.token import OPEN, TokenGate, allowed_types, check_name, check_type

log = logging.getLogger(__name__)

PATHS = frozenset(("/heartbeat", "/heartbeat/report"))  # the routes that take a heartbeat
JSON = ("Content-Type", "application/json")
# a full store frees room only as services expire; a sender should back off, not hammer
CAP_RETRY_AFTER = 60
REPLAY_HORIZON = 86400.0  # a replayed beat's own time is believed back to a day ago


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def error_answer(exc: ApiError) -> Answer:
    return Answer(exc.status, (JSON, *exc.headers().items()), exc.body())


def is_json(content_type: str | None) -> bool:
    """Only JSON is taken, so a web page cannot send heartbeats with a plain cross-site form."""
    return (content_type or "").partition(";")[0].strip().lower() == "application/json"


class Ingest:
    """Checks a heartbeat request (:meth:`check`), and answers it once stored (:meth:`answer`).

    :meth:`accept` does both around a blocking store call; the asynchronous adapter awaits the
    store between the two instead.
    """

    def __init__(
        self,
        store: HeartbeatStore,
        types: ServiceTypes,
        clock: Callable[[], float],
        max_body: int,
        max_batch: int,
        tokens: tuple[IngestToken, ...],
        limits: Limits = DEFAULT_LIMITS,
        trusted_proxies: int = 0,
        signature_tolerance: float = 300.0,
    ) -> None:
        self.store = store
        self.types = types
        self.clock = clock
        self.max_body = max_body
        self.max_batch = max_batch
        self.gate = TokenGate(tokens)
        self.signatures = SignatureGate(tokens, signature_tolerance, clock)
        self.replays = ReplayMemory(store.space)
        self.allowed_types = {token.token_hash: allowed_types(token, types) for token in (*tokens, OPEN)}
        self.limits = limits
        self.trusted_proxies = trusted_proxies
        # names without a reserve may fill the cap only up to what the tokens' reserves leave
        self.shared_cap = store.max_services - sum(token.reserve for token in tokens)
        # an outage is reported once per process, not once per refused heartbeat
        self.outage = Outage(log, "heartbeat store unavailable", "heartbeat store available again")

    def accept(
        self, headers: Headers, body: bytes | None, peer: str, forwarded: Sequence[str] = ()
    ) -> Answer:
        try:
            beat = self.check(headers, body, peer, forwarded)
            self.claim(beat.signed)
            self.commit(beat)
        except ApiError as exc:
            return error_answer(exc)
        return Answer(200, (JSON,), encode(self.received(beat)))

    def commit(self, beat: Beat) -> None:
        """Store one checked heartbeat; the cap's refusal or an outage raised as the
        :class:`ApiError` that answers it (the blocking routes: Flask's and the compatible ones)."""
        try:
            self.store.commit(beat)
        except (CapacityExceeded, redis.RedisError) as exc:
            raise self.refused_error(exc) from None
        self.outage.ok()

    def check(self, headers: Headers, body: bytes | None, peer: str, forwarded: Sequence[str] = ()) -> Beat:
        """The heartbeat to store, or the :class:`ApiError` that answers the request.

        ``peer``: the socket's; ``forwarded``: the X-Forwarded-For header's lines, trusted as far
        as ``trusted_proxies`` says (``heartbeat_core.web.peer``). A signed beat carries its
        signature, claimed (:meth:`claim`) just before it is stored.
        """
        token, body, signed = self.admit(headers, body, self.max_body)
        beat = self.beat(token, decode(body), self.address(peer, forwarded))
        return beat if signed is None else beat._replace(signed=signed)

    def admit(
        self, headers: Headers, body: bytes | None, limit: int
    ) -> tuple[IngestToken, bytes, tuple[str, float] | None]:
        """The request's token (a bearer token, or the one its signature proves), once its body
        is known to fit and to be JSON; with a signature, the signature to claim."""
        signature = headers.get(HEADER) if self.signatures.any else None
        token = self.gate.grant(headers.get("Authorization")) if signature is None else OPEN
        if body is None:
            raise ApiError(413, "request_entity_too_large", f"the body is larger than {limit} bytes")
        if not is_json(headers.get("Content-Type")):
            raise ApiError(415, "unsupported_media_type", "send heartbeats as Content-Type: application/json")
        if signature is None:
            return token, body, None
        signed = self.signatures.verify(signature, body)
        return signed.token, body, (signed.signature, signed.stale_at)

    def claim(self, signed: tuple[str, float] | None) -> None:
        """409 for a signature already taken, by any receiver of the store: a recorded signed
        request sent again is refused, whoever sends it. A blocking Redis call."""
        if signed is None:
            return
        try:
            fresh = self.replays.claim(*signed, self.clock())
        except redis.RedisError as exc:
            raise self.refused_error(exc) from None
        if not fresh:
            raise ApiError(409, "replayed", "this signature was taken already: sign each heartbeat anew")

    def address(self, peer: str, forwarded: Sequence[str] = ()) -> str:
        return client_address(peer, forwarded, self.trusted_proxies) or "unknown"

    def beat(self, token: IngestToken, body: Any, address: str, *, replay: bool = False) -> Beat:
        """A decoded heartbeat body, checked and allowed for ``token``.

        ``replay``: the beat comes from a batch and is recorded at its own ``timestamp`` (never
        later than now, nor more than a day before), so that a cache's beats keep their times.
        """
        beat = parse(body, self.types, address, self.limits)
        check_name(token, beat.service)
        check_type(self.allowed_types[token.token_hash], beat.service_type)
        cap = self.store.max_services if token.reserve else self.shared_cap
        now = self.clock()
        sent = beat.fields.get(TIMESTAMP.name)
        at = now if not replay or sent is None else min(now, max(now - REPLAY_HORIZON, sent))
        job = self.types.job(beat.service, beat.service_type, EVENT.name in beat.fields)
        limit = None if job is None else job.max_runtime
        received = now if replay else None
        rules = self.types.get(beat.service_type)
        # its type learns its gaps (SPEC §17), up to twice its timeout (a lost beat on a 60 s type
        # is an ordinary 60-72 s gap); a job runs on a schedule: its gaps are no heartbeat's
        learns = job is None and rules.detection.learns
        learn = (rules.detection.samples, 2 * rules.timeout) if learns else None
        return Beat(
            beat.service, beat.service_type, address, at, beat.fields, cap, received, limit, learn=learn
        )

    def answer(self, beat: Beat, count: int) -> Answer:
        """The answer to a stored heartbeat (``count``: what the store returned for it)."""
        try:
            accepted_count(beat, count)
        except CapacityExceeded as exc:
            return self.refused(exc)
        self.outage.ok()
        return Answer(200, (JSON,), encode(self.received(beat)))

    @staticmethod
    def received(beat: Beat) -> dict[str, Any]:
        return {"service": beat.name, "type": beat.service_type, "received_at": beat.now}

    def refused(self, exc: Exception) -> Answer:
        """The answer when the store could not take the heartbeat: the cap, or an outage."""
        return error_answer(self.refused_error(exc))

    def refused_error(self, exc: Exception) -> ApiError:
        if isinstance(exc, CapacityExceeded):
            return ApiError(
                429,
                "too_many_services",
                f"the receiver already tracks its limit of services ({self.store.max_services}, "
                "less what tokens reserve); new names are refused until old ones expire",
                retry_after=CAP_RETRY_AFTER,
            )
        self.outage.failed(exc)
        return store_unavailable()
