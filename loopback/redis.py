"""redis-server on a loopback port without persistence: the all-in-one's private store (with a
generated password) and the tests' servers (harness/redis.py adds a cluster of them)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import redis

from loopback.child import Child, ChildExited
from loopback.ports import free_port


class RedisServerError(RuntimeError):
    pass


def find_redis_server() -> str:
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(p).exists()), None
    )
    if not found:
        raise RedisServerError(
            "redis-server was not found on PATH; install it (Debian: apt-get install redis-server)"
        )
    return found


class RedisServer:
    """``stop()`` ends it; the port is kept across ``stop()``/``start()``, so that a restart looks
    like an outage to clients."""

    def __init__(
        self,
        port: int | None = None,
        folder: Path | None = None,
        extra_args: tuple[str, ...] = (),
        password: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.password = password
        self._own_folder = folder is None
        self.folder = folder or Path(tempfile.mkdtemp(prefix="heartbeat-redis-"))
        self.extra_args = extra_args
        self.child: Child | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def shown_url(self) -> str:
        """The URL to print: the password hidden."""
        return f"redis://{':***@' if self.password else ''}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        command = [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),  # the log Child shows when redis exits
            *(("--requirepass", self.password) if self.password else ()),
            *self.extra_args,
        ]  # fmt: skip
        client = redis.Redis(
            port=self.port, password=self.password, socket_timeout=1, socket_connect_timeout=1
        )

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        self.child = Child("redis", command, self.folder, answers)
        try:
            self.child.start().wait_ready(timeout)
        except ChildExited as exc:
            raise RedisServerError(str(exc)) from None
        except TimeoutError:
            raise RedisServerError(f"redis-server did not answer on port {self.port}") from None
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop(10)
        self.child = None

    def close(self) -> None:
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
