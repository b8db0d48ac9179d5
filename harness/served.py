"""Our own commands as the production set-up runs them, and a plain HTTP endpoint that records POSTs."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

from harness.ports import free_port
from harness.servers import wait_http


@contextlib.contextmanager
def served(
    module: str, *args: str, env: dict[str, str] | None = None, log: IO[bytes] | None = None
) -> Iterator[int]:
    """``python -m module --listen 127.0.0.1:PORT args…`` until the block ends; yields the port."""
    port = free_port()
    command = [sys.executable, "-m", module, "--listen", f"127.0.0.1:{port}", *args]
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield port
    finally:
        process.terminate()
        process.wait(20)


class RecordingServer(http.server.ThreadingHTTPServer):
    """Answers every POST with one status and keeps (time, path, JSON body) of each."""

    def __init__(self, status: int = 200) -> None:
        posts: list[tuple[float, str, Any]] = []
        self.posts = posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                posts.append((time.time(), self.path, json.loads(body) if body else None))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[Any]:
        return [body for _, _, body in self.posts]
