"""The heartbeat agent: standard library only; copy this folder into a program to vendor it."""

from .command import main
from .limits import DEFAULT_URL
from .policy import RetryPolicy, backoff_delay, next_due
from .sender import HeartbeatSender
from .system import SystemStats

__all__ = [
    "DEFAULT_URL",
    "HeartbeatSender",
    "RetryPolicy",
    "SystemStats",
    "backoff_delay",
    "main",
    "next_due",
]
