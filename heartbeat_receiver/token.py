"""Ingest tokens: who may send heartbeats, for which service names, and of which types.

A token is looked up by its SHA-256 against every configured hash in constant time, so the
time an answer takes tells nothing about a near miss; the configuration holds only hashes.
A token bound to name prefixes is bound to types too: its ``types``, or else the types its
prefixes imply, so that a ``backend-`` token cannot count a service of its own as a kafka broker
(and hide that every real broker is down).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from heartbeat_core.errors import ApiError
from heartbeat_core.sections import IngestToken
from heartbeat_core.types import ServiceTypes

# what an open receiver (no tokens configured) allows: every name, no reserve
OPEN = IngestToken(token_hash="0" * 64)


class TokenGate:
    def __init__(self, tokens: tuple[IngestToken, ...]) -> None:
        self.tokens = tokens
        self._hashes = tuple(bytes.fromhex(token.token_hash) for token in tokens)

    @property
    def required(self) -> bool:
        return bool(self.tokens)

    def grant(self, authorization: str | None) -> IngestToken:
        """The token an ``Authorization: Bearer`` header carries; 401 for a missing or unknown one."""
        if not self.tokens:
            return OPEN
        scheme, _, given = (authorization or "").partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "unauthorized", "a bearer token is required")
        return unsigned(self.find(given))

    def find(self, given: str) -> IngestToken:
        """The token itself (a ping URL's key); 401 for an unknown one."""
        if not self.tokens:
            return OPEN
        digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        found = None
        for token, expected in zip(self.tokens, self._hashes):
            if hmac.compare_digest(digest, expected) and found is None:
                found = token
        if found is None:
            raise ApiError(401, "unauthorized", "the token is not valid")
        return found


def unsigned(token: IngestToken) -> IngestToken:
    """A token that may travel. A signed one never does (SPEC §18): sent as a bearer token or in a
    ping URL it is refused, so that a leaked copy of it sends nothing; a healthchecks or Uptime
    Kuma URL cannot sign, so a signed token cannot ping."""
    if token.signed:
        raise ApiError(
            403,
            "signature_required",
            "this token signs its heartbeats: send X-Heartbeat-Signature (heartbeat-agent --signed), "
            "never the token itself",
        )
    return token


def check_name(token: IngestToken, name: str) -> None:
    """403 for a name outside the token's prefixes (a token without prefixes may write any name)."""
    if token.prefixes and not name.startswith(token.prefixes):
        raise ApiError(
            403,
            "forbidden_name",
            f"this token may only send heartbeats for names starting with {', '.join(token.prefixes)}",
        )


def allowed_types(token: IngestToken, types: ServiceTypes) -> frozenset[str] | None:
    """The types a token's services may be; None for any (a token bound to nothing)."""
    if token.types:
        return frozenset(token.types)
    if token.prefixes:
        return frozenset(types.by_prefix(prefix) for prefix in token.prefixes)
    return None


def check_type(allowed: frozenset[str] | None, service_type: str) -> None:
    if allowed is not None and service_type not in allowed:
        raise ApiError(
            403,
            "forbidden_type",
            f"this token may only send heartbeats of type {', '.join(sorted(allowed))}, not {service_type}",
        )


class PushTokens:
    """Uptime Kuma push tokens: each names one service; kept and compared as SHA-256 hashes."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self._names = tuple((bytes.fromhex(digest), name) for digest, name in hashes.items())

    def find(self, given: str) -> str | None:
        """The service a push token stands for; every configured hash is compared, in constant time."""
        digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        found = None
        for expected, name in self._names:
            if hmac.compare_digest(digest, expected) and found is None:
                found = name
        return found
