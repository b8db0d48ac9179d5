"""The receiver on Granian's RSGI interface: heartbeats never hold a thread while they arrive.

A heartbeat's body is read on the event loop with a deadline (:mod:`heartbeat_core.web.bridge`),
checked by the one ingest path (:meth:`Ingest.check`), and the heartbeats that arrived together
go to Redis as one batch on a pool thread, so the event loop never waits on Redis. Every other
route is the Flask app, on the same pool.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis

from heartbeat_core.config import Settings, load_settings
from heartbeat_core.errors import ApiError
from heartbeat_core.record import Beat
from heartbeat_core.store import HeartbeatStore
from heartbeat_core.web.bridge import Headers, Scope, WsgiOnRsgi, host_of, too_slow
from heartbeat_receiver import batch
from heartbeat_receiver.app import create_app
from heartbeat_receiver.host import ReceiverApp
from heartbeat_receiver.ingest import PATHS, Answer, Ingest, error_answer

MAX_BATCH = 64


class Receiver(WsgiOnRsgi):
    def __init__(self, flask: ReceiverApp, settings: Settings) -> None:
        super().__init__(
            flask.wsgi_app,
            threads=settings.threads,
            client_timeout=settings.client_timeout,
            max_body=int(flask.config["MAX_CONTENT_LENGTH"]),
        )
        self.ingest: Ingest = flask.ingest
        self._pending: list[tuple[Beat, asyncio.Future[Answer]]] = []
        self._flusher: asyncio.Task[None] | None = None  # the batch in flight, while there is one

    async def __rsgi__(self, scope: Scope, proto: Any) -> None:
        if scope.proto != "http":
            return
        headers = Headers(scope.headers)
        if scope.method == "POST" and scope.path in PATHS:
            answer = await self._heartbeat(scope, proto, headers)
            proto.response_bytes(answer.status, list(answer.headers), answer.body)
        elif scope.method == "POST" and scope.path == batch.PATH:
            answer = await self._batch(scope, proto, headers)
            proto.response_bytes(answer.status, list(answer.headers), answer.body)
        else:
            await self.wsgi(scope, proto, headers)

    async def _heartbeat(self, scope: Scope, proto: Any, headers: Headers) -> Answer:
        try:
            body = await self.read_body(proto, headers, self.ingest.max_body)
            forwarded = scope.headers.get_all("x-forwarded-for") if self.ingest.trusted_proxies else ()
            beat = self.ingest.check(headers, body, host_of(scope.client), forwarded)
            if beat.signed is not None:  # a replay is refused before it joins a batch
                await asyncio.get_running_loop().run_in_executor(self.threads, self.ingest.claim, beat.signed)
        except TimeoutError:
            return error_answer(too_slow(self.client_timeout))
        except ApiError as exc:
            return error_answer(exc)
        return await self._commit(beat)

    async def _batch(self, scope: Scope, proto: Any, headers: Headers) -> Answer:
        """A batch is its own group: checked on the loop, stored in one call on a pool thread."""
        try:
            body = await self.read_body(proto, headers, self.ingest.max_batch)
            forwarded = scope.headers.get_all("x-forwarded-for") if self.ingest.trusted_proxies else ()
            items = batch.check(self.ingest, headers, body, host_of(scope.client), forwarded)
        except TimeoutError:
            return error_answer(too_slow(self.client_timeout))
        except ApiError as exc:
            return error_answer(exc)
        loop = asyncio.get_running_loop()
        try:
            beats = batch.stored(items)
            counts = await loop.run_in_executor(self.threads, batch.store, self.ingest, beats)
        except ApiError as exc:
            return error_answer(exc)
        except redis.RedisError as exc:
            return self.ingest.refused(exc)
        return batch.answer(self.ingest, items, counts)

    async def _commit(self, beat: Beat) -> Answer:
        """Group commit on the event loop: one batch in flight, the next one gathering meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append((beat, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())  # referenced: a task may not be collected
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:  # nothing is awaited between the last check and the task's end
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            beats = [beat for beat, _ in batch]
            try:
                counts = await loop.run_in_executor(self.threads, self.ingest.store.record_many, beats)
                answers = [self.ingest.answer(beat, n) for beat, n in zip(beats, counts, strict=True)]
            except redis.RedisError as exc:
                answers = [self.ingest.refused(exc)] * len(batch)
            except Exception as exc:  # a bug: each request of the batch fails with it
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)


def app(store: HeartbeatStore | None = None) -> Receiver:
    """The factory Granian's workers call: settings from ``HEARTBEAT_CONFIG`` and the environment.

    ``store``: a stand-in for the Redis store (a benchmark's that stores nothing), through the
    app factory, so that nobody overrides the receiver's own methods to measure it.
    """
    settings = load_settings()
    return Receiver(create_app(settings, store=store), settings)
