"""The heartbeat agent: standard library only; ``agent.py`` alone can be vendored."""

from heartbeat_agent.agent import DEFAULT_URL, HeartbeatSender, backoff_delay, main, next_due

__all__ = ["DEFAULT_URL", "HeartbeatSender", "backoff_delay", "main", "next_due"]
