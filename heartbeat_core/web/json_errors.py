"""Flask's side of errors: each leaves as JSON, ``{"error": code, "message": text}``, a 4xx or 503."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from heartbeat_core.errors import ApiError, store_unavailable

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message)
        response.headers.update(exc.headers())
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        for key, value in exc.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                response.headers[key] = value
        return response

    @app.errorhandler(redis.RedisError)
    def store_down(exc: redis.RedisError) -> Response:
        log.warning("heartbeat store unavailable: %s", exc)
        return api_error(store_unavailable())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error")
