"""A real Alertmanager (Debian's) on a loopback port, with the config a test or benchmark gives it."""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from loopback.child import Child, http_ok
from loopback.ports import free_port


class AlertmanagerServer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="heartbeat-am-"))
        (self.folder / "alertmanager.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "alertmanager"
        command = [
            binary,
            f"--config.file={self.folder / 'alertmanager.yml'}",
            f"--storage.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip: one instance, loopback only
        ]
        ready = http_ok(f"{self.url}/-/ready")
        self.child = Child("alertmanager", command, self.folder, ready).start().wait_ready(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            return list(json.load(response))

    def close(self) -> None:
        self.child.stop(20)
        shutil.rmtree(self.folder, ignore_errors=True)
