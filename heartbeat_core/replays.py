"""The signatures the receivers took (SPEC §18): a signed heartbeat is good once.

One sorted set, ``{P}:signatures``, signature -> when it goes stale, shared by every receiver of
the store. A claim prunes what has gone stale (a stale signature is refused by its time anyway)
and keeps at most :data:`MOST` of the rest, dropping the soonest to go stale first, so the
memory is bounded whatever arrives: only a holder of a signing token can add to it, at most
its rate of beats × twice the tolerance. Past that bound the oldest could be replayed once
more; at a beat a second per token and a 300 s tolerance, that takes 160 tokens.
"""

from __future__ import annotations

from heartbeat_core.keys import KeySpace

MOST = 100_000

CLAIM_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if extra > 0 then redis.call('ZPOPMIN', KEYS[1], extra) end
return 1
"""


class ReplayMemory:
    def __init__(self, space: KeySpace, most: int = MOST) -> None:
        self.key = space.key("signatures")
        self.most = most
        self._claim = space.script(CLAIM_SCRIPT)

    def claim(self, signature: str, stale_at: float, now: float) -> bool:
        """True the first time ``signature`` is seen; False for a replay. Redis errors propagate."""
        return bool(self._claim(keys=[self.key], args=[signature, repr(stale_at), repr(now), self.most]))
