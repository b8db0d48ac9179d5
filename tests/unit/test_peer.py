"""The one resolver of a client's address (heartbeat_core/web/peer.py)."""

from __future__ import annotations

import pytest

from heartbeat_core.errors import ApiError
from heartbeat_core.web.peer import client_address


def test_without_trusted_proxies_the_socket_is_the_client_whatever_the_header_says() -> None:
    assert client_address("10.0.0.7", ["6.6.6.6"], 0) == "10.0.0.7"
    assert client_address("", [], 0) == ""  # a test client: no peer


def test_the_nth_entry_from_the_right_across_all_header_lines() -> None:
    # the client forged "6.6.6.6"; the first trusted proxy appended the client's real address on
    # a line of its own, the second proxy appended the first one's address
    lines = ["6.6.6.6", "10.1.2.3, 192.168.0.2"]
    assert client_address("192.168.0.3", lines, 2) == "10.1.2.3"
    assert client_address("192.168.0.3", lines, 1) == "192.168.0.2"
    assert client_address("192.168.0.3", ["10.1.2.3"], 2) == "192.168.0.3"  # fewer hops than proxies


@pytest.mark.parametrize("text", ["2001:DB8:0::1", " 2001:db8::1 ", "[2001:db8::1]"])
def test_one_spelling_per_address(text: str) -> None:
    assert client_address("127.0.0.1", [text], 1) == "2001:db8::1"


@pytest.mark.parametrize("text", ["fe80::1%eth0", "fe80::1%1\tx", "<script>", "10.1.2.3:80", ""])
def test_anything_but_an_address_is_a_400(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        client_address("127.0.0.1", [text], 1)
    assert (caught.value.status, caught.value.code) == (400, "invalid_client_address")
