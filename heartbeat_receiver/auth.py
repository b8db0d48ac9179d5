"""Optional ingest tokens: when configured, every heartbeat must carry one."""

from __future__ import annotations

import hmac

from flask import request

from heartbeat_receiver.errors import ApiError


def require_token(tokens: tuple[str, ...]) -> None:
    """Compare against every token in constant time, so timing tells nothing about a near miss."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    match = False
    for token in tokens:
        match |= hmac.compare_digest(given.strip().encode(), token.encode())
    if not match:
        raise ApiError(401, "unauthorized", "the token is not valid")
