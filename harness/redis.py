"""Redis for the tests and benchmarks: one server, or a cluster of three, on loopback.

The all-in-one command starts a private Redis of its own; the tests never borrow the product's
code to get a server.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import redis

from harness.ports import free_port
from harness.servers import wait_until


class RedisServer:
    """redis-server on a loopback port without persistence; ``stop()`` ends it.

    The port is kept across ``stop()``/``start()``, so a restart looks like an outage to clients.
    """

    def __init__(self, port: int | None = None, folder: Path | None = None, extra_args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self._own_folder = folder is None
        self.folder = folder or Path(tempfile.mkdtemp(prefix="harness-redis-"))
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        log = self.folder / "redis.log"
        options = {"port": self.port, "bind": "127.0.0.1", "dir": self.folder, "save": "", "logfile": log}
        command = [binary, *(arg for key, value in options.items() for arg in (f"--{key}", str(value)))]
        command += self.extra_args
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {tail}")
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_until(answers, timeout=timeout)
        except AssertionError:
            self.stop()
            raise RuntimeError(f"redis-server did not answer on port {self.port}") from None
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def cluster_port() -> int:
    """A free port p with p + 10000 free too (the cluster bus), as redis-server requires."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a cluster node")


class RedisCluster:
    """Three masters on loopback (redis-server in cluster mode), joined with redis-cli --cluster."""

    def __init__(self, masters: int = 3) -> None:
        self.nodes = []
        for _ in range(masters):
            folder = Path(tempfile.mkdtemp(prefix="heartbeat-cluster-"))
            node = RedisServer(
                port=cluster_port(),
                folder=folder,
                extra_args=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(folder / "nodes.conf"),
                    "--cluster-node-timeout",
                    "2000",
                ),
            )
            self.nodes.append(node.start())
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        result = subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            self.close()
            raise RuntimeError(f"cluster create failed: {result.stdout}{result.stderr}")

        def ready() -> bool:
            info = redis.Redis(port=self.nodes[0].port, decode_responses=True).cluster("INFO")
            return bool(info.get("cluster_state") == "ok")

        try:
            wait_until(ready, timeout=30, interval=0.2)
        except AssertionError:
            self.close()  # never leave nodes running behind a failed start
            raise

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def close(self) -> None:
        for node in self.nodes:
            node.close()
            shutil.rmtree(node.folder, ignore_errors=True)
