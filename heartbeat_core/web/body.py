"""Reading a JSON request body safely: size-limited (chunked too), every failure a JSON 4xx."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from heartbeat_core.errors import ApiError, decode

EMPTY = object()


def read_json(*, allow_empty: bool = False) -> Any:
    """The decoded body; ``EMPTY`` for no body when ``allow_empty``; else :class:`ApiError`."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None:
        # a chunked body has no length to check up front: read one byte past the limit to tell
        data = request.input_stream.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "request_entity_too_large", f"the body is larger than {limit} bytes")
    else:
        data = request.get_data(cache=False)  # Werkzeug answers 413 past MAX_CONTENT_LENGTH
    if allow_empty and not data.strip():
        return EMPTY
    return decode(data)
