"""Errors an API call answers with, known to every layer without a web framework."""

from __future__ import annotations

STORE_RETRY_AFTER = 5


class ApiError(Exception):
    """A client-facing failure: its status, a fixed code and a message a person can act on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": 'Bearer realm="heartbeat"'}
        if self.status == 503:
            return {"Retry-After": str(STORE_RETRY_AFTER)}
        return {}


def store_unavailable() -> ApiError:
    return ApiError(503, "store_unavailable", "the heartbeat store is unavailable")
