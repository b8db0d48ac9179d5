"""Who sent a request: the one resolver of a client's address, for every server and route.

Behind ``trusted_proxies`` proxies, the client is the entry of ``X-Forwarded-For`` that the
outermost trusted proxy appended: the n-th from the right across all of the header's lines
(a proxy may append a line of its own rather than extend the last one). Whatever comes from the
header must be an IP address, and is used as ``ipaddress`` writes it: one spelling per address,
no port, no IPv6 scope id (whose text after ``%`` could be anything).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from heartbeat_core.errors import ApiError


@functools.lru_cache(maxsize=4096)  # senders are few and send often; parsing an address is not cheap
def canonical(text: str) -> str:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise ApiError(
            400, "invalid_client_address", "the client address (X-Forwarded-For) is not an IP address"
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ApiError(400, "invalid_client_address", "the client address (X-Forwarded-For) has a scope id")
    return str(address)


def client_address(socket_peer: str, forwarded_for: Iterable[str], trusted_proxies: int) -> str:
    """The sender's address, canonical; "" when the server knows no peer (a test client)."""
    if trusted_proxies:
        hops = [hop for line in forwarded_for for hop in line.split(",")]
        if len(hops) >= trusted_proxies:
            return canonical(hops[-trusted_proxies])
    return canonical(socket_peer) if socket_peer else ""
