"""Redis for the tests and benchmarks: one server (loopback's, which the all-in-one runs too),
or a cluster of three on loopback."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import redis

from loopback.child import wait_until
from loopback.ports import port_pair
from loopback.redis import RedisServer as RedisServer


class RedisCluster:
    """Three masters on loopback (redis-server in cluster mode), joined with redis-cli --cluster."""

    def __init__(self, masters: int = 3) -> None:
        self.nodes = []
        for _ in range(masters):
            folder = Path(tempfile.mkdtemp(prefix="heartbeat-cluster-"))
            node = RedisServer(
                port=port_pair(),
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
        except TimeoutError:
            self.close()  # never leave nodes running behind a failed start
            raise

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def close(self) -> None:
        for node in self.nodes:
            node.close()
            shutil.rmtree(node.folder, ignore_errors=True)
