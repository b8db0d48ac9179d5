"""Checks of a heartbeat's values, each a 400 that names the field and its limit.

The field declarations (``heartbeat_core.fields``) are built from these; nothing else needs to
know what makes a value acceptable.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from heartbeat_core.errors import ApiError

MAX_NAME = 200
NAME_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # counter and metric names


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_field", f"'{field}' {message}")


def finite(value: Any, field: str) -> float:
    """A JSON number that is finite (booleans are not numbers; ``10**400`` is no float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(field, "must be a finite number")
    try:
        number = float(value)
    except OverflowError:  # an integer literal too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise invalid(field, "must be a finite number")
    return number


def name(value: Any, field: str) -> str:
    """A name as it is stored: NFKC-normalised, so that look-alike spellings are one service."""
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    # before the length check: NFKC may lengthen a name ("ﷺ" is 18 characters); ASCII is NFKC already
    text = value if value.isascii() else unicodedata.normalize("NFKC", value[: MAX_NAME + 1])
    if not text.strip():
        raise invalid(field, "must not be empty")
    if len(value) > MAX_NAME or len(text) > MAX_NAME:
        raise invalid(field, f"is longer than {MAX_NAME} characters")
    # not printable: control, invisible format (U+200B, U+202E: names that look alike), unassigned,
    # line and paragraph separators; spaces are printable (NFKC has made every other space one)
    if not text.isprintable():
        raise invalid(field, "contains control, invisible or unassigned characters")
    return text


def float_or_none(value: Any) -> float | None:
    """A stored number read back; damage reads as absent rather than failing a scrape."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
