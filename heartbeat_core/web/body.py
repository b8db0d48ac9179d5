"""Reading a request body safely: size-limited (chunked too), every failure a JSON 4xx.

One reader for every WSGI route (the receiver's heartbeats, the exporter's JSON APIs); the RSGI
servers read bodies on the event loop before the app runs (``heartbeat_core.web.bridge``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.wsgi import get_content_length, get_input_stream

from heartbeat_core.errors import ApiError, decode

EMPTY = object()


def read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """At most ``limit`` bytes of the body; None when it is larger (a chunked body too)."""
    length = get_content_length(environ)
    if length is not None and length > limit:
        return None
    data = get_input_stream(environ, safe_fallback=True).read(limit + 1)
    return None if len(data) > limit else data


def read_json(*, allow_empty: bool = False) -> Any:
    """The decoded body; ``EMPTY`` for no body when ``allow_empty``; else :class:`ApiError`."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    data = read_body(request.environ, limit)
    if data is None:
        raise ApiError(413, "request_entity_too_large", f"the body is larger than {limit} bytes")
    if allow_empty and not data.strip():
        return EMPTY
    return decode(data)
