"""Checks of a heartbeat's values, each a 400 that names the field and its limit.

The field declarations (``heartbeat_core.fields``) are built from these; nothing else needs to
know what makes a value acceptable.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from heartbeat_core.errors import ApiError

MAX_NAME = 200
NAME_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # progress counter names
LABEL_RULE = re.compile(r"(?!__)[a-z_][a-z0-9_]{0,63}")  # reported metric names and info keys
# labels the exporter and Prometheus put on a service's series; the fields shown as labels join them
# (``heartbeat_core.fields.RESERVED_LABELS``)
OUR_LABELS = frozenset({"service_name", "service_type", "name", "instance", "job"})


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


def type_value(value: Any, _: object = None) -> str | int:
    """A heartbeat's ``type``: a label, or a numeric code that ``type_codes`` maps."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid("type", "must be a string or an integer")
    return name(value, "type") if isinstance(value, str) else value


def integer_in(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(field, f"must be an integer from {low} to {high}")
    return value


def counters(value: Any, limit: int) -> str:
    """``progress``: compact JSON with sorted keys, for the record script compares it as text."""
    if not isinstance(value, dict):
        raise invalid("progress", "must be an object of counters")
    if len(value) > limit:
        raise invalid("progress", f"has more than {limit} counters")
    for counter, number in value.items():
        if not NAME_RULE.fullmatch(counter):
            raise invalid("progress", f"counter names are [A-Za-z_][A-Za-z0-9_]*, got {counter!r}")
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number < 2**63:
            raise invalid(f"progress.{counter}", "must be a non-negative number")
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def float_or_none(value: Any) -> float | None:
    """A stored number read back, as Redis' text or as JSON: the one parser of stored numbers.
    Damage (not a number, an empty field, a boolean) reads as absent rather than failing a scrape."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# line ends of every kind become "\n", which the exposition escapes; other control characters
# (ESC of a coloured log, BEL, …) go: raw in a label value, line-splitting parsers break on them
_LINE_ENDS = re.compile("\r\n?|[\u0085\u2028\u2029]")
_CONTROLS = re.compile("[\x01-\x08\x0b-\x1f\x7f-\x84\x86-\x9f]")


def message(value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise invalid("message", f"must be a string of at most {limit} characters")
    return _CONTROLS.sub("", _LINE_ENDS.sub("\n", value))


def label_name(field: str, key: Any, reserved: frozenset[str] = OUR_LABELS) -> str:
    """A key that can be a Prometheus label or a metric's name: never reserved, never ``__…``."""
    if not isinstance(key, str) or not LABEL_RULE.fullmatch(key) or key in reserved:
        raise invalid(field, f"names are [a-z_][a-z0-9_]{{0,63}}, not __… nor a label of ours; got {key!r}")
    return key


def reported_metrics(value: Any, limit: int) -> dict[str, float]:
    if not isinstance(value, dict):
        raise invalid("metrics", "must be an object of name -> number")
    if len(value) > limit:
        raise invalid("metrics", f"has more than {limit} names (max_metrics)")
    return {label_name("metrics", key): finite(number, f"metrics.{key}") for key, number in value.items()}


def info(value: Any, max_keys: int, max_value: int, reserved: frozenset[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid("info", "must be an object of key -> string")
    if len(value) > max_keys:
        raise invalid("info", f"has more than {max_keys} keys")
    for key, text in value.items():
        label_name("info", key, reserved)
        if not isinstance(text, str) or len(text) > max_value or not text.isprintable():
            raise invalid(f"info.{key}", f"must be a printable string of at most {max_value} characters")
    return dict(value)


def mapping_of(kind: type[Any]) -> Callable[[Any], Any]:
    """A stored object read back: name -> ``kind`` (numbers as floats), or None when damaged."""

    def read(value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        if kind is float:
            numbers = {k: float_or_none(v) for k, v in value.items()}
            return None if None in numbers.values() else numbers
        return value if all(isinstance(v, kind) for v in value.values()) else None

    return read
