"""Batch ingest (``POST /heartbeat/batch``): a cache's or a relay's heartbeats in one request.

Each beat goes through the single route's own checks (:meth:`Ingest.beat`), so a bad beat in a
batch gets the answer it would get alone, as its entry in ``results``; the good ones are stored
together in one atomic call, each at its own time (a replay never moves last-seen backwards).
:func:`check` and :func:`answer` know no web framework, like the single route's; the RSGI server
awaits the store between them, the Flask route (:func:`accept`) does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from heartbeat_core.errors import ApiError, decode, encode
from heartbeat_core.record import Beat
from heartbeat_core.store import CapacityExceeded, accepted_count
from heartbeat_receiver.ingest import JSON, Answer, Headers, Ingest, error_answer

PATH = "/heartbeat/batch"
MAX_BEATS = 1000

Item = Beat | ApiError  # a beat to store, or the error that answers it


def check(
    ingest: Ingest, headers: Headers, body: bytes | None, peer: str, forwarded: Sequence[str] = ()
) -> list[Item]:
    """Each beat of the batch, checked; the whole request's own faults raise :class:`ApiError`."""
    token, body, signed = ingest.admit(headers, body, ingest.max_batch)
    beats = decode(body)
    if not isinstance(beats, list):
        raise ApiError(400, "invalid_body", "a batch is a JSON array of heartbeats")
    if len(beats) > MAX_BEATS:
        raise ApiError(413, "too_many_heartbeats", f"a batch holds at most {MAX_BEATS} heartbeats")
    address = ingest.address(peer, forwarded)
    items: list[Item] = []
    for beat in beats:
        try:
            items.append(ingest.beat(token, beat, address, replay=True)._replace(signed=signed))
        except ApiError as exc:
            items.append(exc)
    return items


def store(ingest: Ingest, beats: Sequence[Beat]) -> list[int]:
    """The batch's signature claimed once (it signs the whole body), then its beats stored in one
    call; a blocking call, with :class:`ApiError` for a replay and Redis' errors as they are."""
    if beats:
        ingest.claim(beats[0].signed)
    return ingest.store.record_many(beats)


def stored(items: Sequence[Item]) -> list[Beat]:
    return [item for item in items if isinstance(item, Beat)]


def answer(ingest: Ingest, items: Sequence[Item], counts: Sequence[int]) -> Answer:
    """``{"accepted": n, "results": [...]}``, one result per beat, in the batch's order."""
    ingest.outage.ok()
    found = iter(counts)
    results: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Beat):
            try:
                accepted_count(item, next(found))
                results.append({"status": 200, **ingest.received(item)})
                continue
            except CapacityExceeded as exc:
                item = ingest.refused_error(exc)
        results.append({"status": item.status, **item.payload()})
    accepted = sum(result["status"] == 200 for result in results)
    return Answer(200, (JSON,), encode({"accepted": accepted, "results": results}))


def accept(
    ingest: Ingest, headers: Headers, body: bytes | None, peer: str, forwarded: Sequence[str] = ()
) -> Answer:
    try:
        items = check(ingest, headers, body, peer, forwarded)
    except ApiError as exc:
        return error_answer(exc)
    try:
        counts = store(ingest, stored(items))
    except ApiError as exc:
        return error_answer(exc)
    except redis.RedisError as exc:
        return ingest.refused(exc)
    return answer(ingest, items, counts)
