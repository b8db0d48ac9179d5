"""What the agent must agree on with the receiver. The agent imports nothing of the server's, so
these are copies; tests/unit/test_agent_limits.py checks each against the core's own."""

from __future__ import annotations

DEFAULT_URL = "http://127.0.0.1:26002/heartbeat"
USER_AGENT = "heartbeat-agent/0.1"
MAX_BATCH = 1000  # beats the receiver takes in one POST /heartbeat/batch
MAX_RTT_MS = 3_600_000.0  # the largest rtt_ms the receiver takes
MAX_MESSAGE = 1000  # characters of a heartbeat's message
SIGNATURE_HEADER = "X-Heartbeat-Signature"
