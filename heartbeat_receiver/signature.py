"""Signed heartbeats (SPEC §18): ``X-Heartbeat-Signature: t=<unix seconds>,v1=<hex>``.

``v1`` is the HMAC-SHA256 of ``"<t>.<body>"`` keyed with a ``signed: true`` ingest token, as
Stripe signs its webhooks. The token itself never travels, so a URL or a header that leaks from
a crontab, a proxy's log or a CI log cannot be used to send "all is well" for a dead job. A
signature is good for ``signature_tolerance`` seconds either side of the receiver's clock, and
once: the store remembers the ones it took (:meth:`HeartbeatStore.claim`), for every receiver.
Several ``v1`` values may be given (a key being rotated); any one that matches will do.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import NamedTuple

from heartbeat_core.errors import ApiError
from heartbeat_core.sections import IngestToken

HEADER = "X-Heartbeat-Signature"
MOST_SIGNATURES = 8  # v1 values one header may carry


class Signed(NamedTuple):
    """The token a signature proved, and the signature to claim until it goes stale."""

    token: IngestToken
    signature: str
    stale_at: float


def sign(key: str, t: int, body: bytes) -> str:
    return hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def parse(header: str) -> tuple[int, list[str]]:
    t, found = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdecimal() and len(value) <= 12:
            t = int(value)
        elif name == "v1" and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            found.append(value)
    if t is None or not found or len(found) > MOST_SIGNATURES:
        raise ApiError(401, "invalid_signature", f"{HEADER} must be t=<unix seconds>,v1=<hex HMAC-SHA256>")
    return t, found


class SignatureGate:
    """Checks a signed request against every ``signed`` token, in constant time per token."""

    def __init__(self, tokens: tuple[IngestToken, ...], tolerance: float, clock: Callable[[], float]) -> None:
        self.keys = tuple((t, t.token.get_secret_value()) for t in tokens if t.signed and t.token is not None)
        self.tolerance = tolerance
        self.clock = clock

    @property
    def any(self) -> bool:
        return bool(self.keys)

    def verify(self, header: str, body: bytes) -> Signed:
        t, given = parse(header)
        if abs(self.clock() - t) > self.tolerance:
            raise ApiError(
                401, "stale_signature", f"the signature's t is more than {self.tolerance:g} s from this clock"
            )
        found = None
        for token, key in self.keys:
            expected = sign(key, t, body)
            for value in given:
                if hmac.compare_digest(expected, value) and found is None:
                    found = Signed(token, value, t + self.tolerance)
        if found is None:
            raise ApiError(401, "invalid_signature", "the signature does not match the body")
        return found
