"""Free loopback ports for the servers the tests start (the one copy is loopback's)."""

from __future__ import annotations

from loopback.ports import free_port as free_port
from loopback.ports import port_pair as port_pair
