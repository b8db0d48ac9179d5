"""The RSGI adapter's deadline: it fires however the calling task is run (Granian's cannot be cancelled)."""

from __future__ import annotations

import asyncio

import pytest

from heartbeat_core.web.bridge import within


def test_a_body_that_never_comes_times_out() -> None:
    async def never() -> bytes:
        await asyncio.Event().wait()
        return b""

    with pytest.raises(TimeoutError):
        asyncio.run(within(0.05, never()))


def test_a_body_in_time_is_returned() -> None:
    async def soon() -> bytes:
        await asyncio.sleep(0)
        return b"{}"

    assert asyncio.run(within(5, soon())) == b"{}"


def test_the_deadline_fires_in_a_task_that_refuses_cancellation() -> None:
    # what Granian runs a request in: cancel() does nothing, so a deadline that cancels the
    # calling task (asyncio.wait_for from Python 3.12, asyncio.timeout) would never fire
    class Stubborn(asyncio.Task):  # type: ignore[type-arg]
        def cancel(self, msg: object = None) -> bool:
            return False

    async def main() -> str:
        async def request() -> str:
            try:
                await within(0.05, asyncio.Event().wait())
            except TimeoutError:
                return "timed out"
            return "finished"

        task = Stubborn(request())
        return await asyncio.wait_for(asyncio.shield(task), 5)

    assert asyncio.run(main()) == "timed out"
