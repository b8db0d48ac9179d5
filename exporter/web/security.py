"""What every answer of the exporter carries for the browser, and what ``/metrics`` asks of a scraper.

The status page's script and styles are files of the exporter (no inline code, no CDN), so the
policy can allow ``'self'`` alone. The metrics check compares SHA-256 digests in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from flask import Flask, Response

from heartbeat_core.errors import ApiError
from heartbeat_core.sections import MetricsAuth
from heartbeat_core.web.headers import HEADERS


def register(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _same(given: str, expected: bytes | None) -> bool:
    if expected is None:
        return False
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), expected)


def _digest(hex_digest: str | None) -> bytes | None:
    return None if hex_digest is None else bytes.fromhex(hex_digest)


class ScraperGate:
    """``/metrics`` behind a bearer token or basic auth when ``metrics_auth`` is set."""

    def __init__(self, auth: MetricsAuth | None) -> None:
        self.auth = auth
        # what each scrape is compared with, worked out once
        self._bearer = _digest(auth.bearer_token_hash) if auth else None
        self._user = hashlib.sha256(auth.username.encode()).digest() if auth and auth.username else None
        self._password = _digest(auth.password_hash) if auth else None

    def check(self, authorization: str | None) -> None:
        if self.auth is None:
            return
        scheme, _, credentials = (authorization or "").partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        ok = False
        if scheme == "bearer":
            ok = _same(credentials, self._bearer)
        elif scheme == "basic" and self._user is not None:
            try:
                user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            # both compared, always: the time taken tells nothing of which one was wrong
            ok = _same(user, self._user) & _same(password, self._password)
        if not ok:
            raise ApiError(401, "unauthorized", "scraping needs the credentials set in metrics_auth")
