"""Reading a JSON request body safely: size-limited (chunked too), every failure a JSON 4xx."""

from __future__ import annotations

import math
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


LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last time a datetime can hold


def unix_seconds(value: Any, key: str, code: str) -> float:
    """A time field of a JSON body, checked; :class:`ApiError` (400, ``code``) for anything else.

    An integer too large for a float (``10**400``) is refused like infinity, not a 500.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, code, f"'{key}' must be Unix seconds (a number)")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not 0 <= number <= LAST_SECOND:  # NaN and infinity fail here too
        raise ApiError(400, code, f"'{key}' must be between 0 and {LAST_SECOND} (year 9999)")
    return number
