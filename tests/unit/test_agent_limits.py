"""The agent imports nothing of the server's, so it copies what it must agree on with the
receiver; each copy is checked against the one the receiver enforces."""

from __future__ import annotations

from heartbeat_agent import limits
from heartbeat_core import fields
from heartbeat_receiver import batch, signature


def test_the_agents_limits_are_the_receivers() -> None:
    assert limits.MAX_BATCH == batch.MAX_BEATS
    assert limits.MAX_RTT_MS == fields.MAX_RTT_MS
    assert limits.MAX_MESSAGE == fields.MAX_MESSAGE
    assert limits.SIGNATURE_HEADER.lower() == signature.HEADER.lower()
