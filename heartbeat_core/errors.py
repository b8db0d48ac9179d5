"""Errors an API call answers with, known to every layer without a web framework."""

from __future__ import annotations

import json
from typing import Any

STORE_RETRY_AFTER = 5


def encode(value: dict[str, Any]) -> bytes:
    """JSON as Flask's ``jsonify`` writes it (sorted keys, compact, UTF-8, a final newline)."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()


def decode(data: bytes) -> Any:
    """A request body's JSON, or a 400: invalid text, bad UTF-8 and nesting too deep for the parser alike."""
    if not data.strip():
        raise ApiError(400, "invalid_json", "the body is empty; send a JSON object")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None


class ApiError(Exception):
    """A client-facing failure: its status, a fixed code and a message a person can act on."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = STORE_RETRY_AFTER if retry_after is None and status == 503 else retry_after

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}

    def body(self) -> bytes:
        return encode(self.payload())

    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": 'Bearer realm="heartbeat"'}
        if self.retry_after is not None:  # 429 and 503: when trying again makes sense
            return {"Retry-After": str(self.retry_after)}
        return {}


def store_unavailable() -> ApiError:
    return ApiError(503, "store_unavailable", "the heartbeat store is unavailable")
