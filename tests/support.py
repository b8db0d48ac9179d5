"""What tests share besides fixtures: the injected clock, a live WSGI server, an exposition parser."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import make_server

from harness.ports import free_port


class FakeClock:
    """An injected clock: tests move time forward instead of sleeping."""

    def __init__(self, start: float = 1_763_800_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LiveServer:
    """A WSGI app on a real loopback socket, in a thread of the test process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.server = make_server("127.0.0.1", port or free_port(), app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_samples(text: str) -> Samples:
    """An exposition as {(name, sorted label pairs): value}, parsed by client_python's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
