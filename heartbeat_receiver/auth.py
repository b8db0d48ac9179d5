"""Optional ingest tokens: when configured, every heartbeat must carry one."""

from __future__ import annotations

import hmac

from flask import request

from heartbeat_receiver.errors import ApiError


def token_matches(header: str, tokens: tuple[str, ...]) -> bool:
    """Compare against every token in constant time, so timing tells nothing about a near miss."""
    scheme, _, given = header.partition(" ")
    match = False
    for token in tokens:
        match |= hmac.compare_digest(given.strip().encode(), token.encode())
    return scheme.lower() == "bearer" and match


def require_token(tokens: tuple[str, ...]) -> None:
    header = request.headers.get("Authorization", "")
    if not header.partition(" ")[2].strip():
        raise ApiError(401, "unauthorized", "a bearer token is required")
    if not token_matches(header, tokens):
        raise ApiError(401, "unauthorized", "the token is not valid")
