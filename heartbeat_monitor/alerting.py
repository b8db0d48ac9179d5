"""The real alerting path for the all-in-one (SPEC §18): Prometheus and Alertmanager as children.

Prometheus loads the shipped rules and scrapes this exporter (and itself, for the watchman's
alerts) at the shipped intervals; Alertmanager gets the configuration ``alert-config`` renders,
its receivers from ``notify``. Both write only under the data dir, listen on loopback by default,
and are stopped with the monitor by the PIDs it started; a PID file left by a monitor that was
killed outright is read at the next start, so its children do not linger on the ports.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from exporter.alertconfig import Targets, alertmanager_config
from heartbeat_core.config import Settings
from heartbeat_core.web.serving import ensure_free
from loopback.child import Child, ChildExited, http_ok, wait_until

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "alerts" / "heartbeat.rules.yml"
INSTALL = "apt-get install prometheus prometheus-alertmanager (bash scripts/bootstrap.sh run does it)"
Address = tuple[str, int]


class AlertingUnavailable(RuntimeError):
    """Why alerting is off, in one line a newcomer can act on."""


def binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AlertingUnavailable(f"{names[0]} is not installed: {INSTALL}; or run with --no-alerting")


def hostport(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def url(address: Address) -> str:
    return f"http://{hostport(address)}"


def prometheus_config(settings: Settings, prometheus: Address, alertmanager: Address) -> dict[str, Any]:
    """The shipped intervals, rules and jobs (deploy/systemd/prometheus.yml), on these addresses."""

    def targets(address: Address) -> list[dict[str, list[str]]]:
        return [{"targets": [hostport(address)]}]

    def job(name: str, address: Address) -> dict[str, Any]:
        return {"job_name": name, "static_configs": targets(address)}

    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": [str(RULES)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"{alertmanager[0]}:{alertmanager[1]}"]}]}]
        },
        "scrape_configs": [
            job("heartbeat-exporter", settings.exporter_listen),
            job("prometheus", prometheus),
            job("alertmanager", alertmanager),
        ],
    }


class AlertingStack:
    """Prometheus and Alertmanager for one monitor; :meth:`start` raises AlertingUnavailable."""

    def __init__(self, settings: Settings, folder: Path, prometheus: Address, alertmanager: Address) -> None:
        self.settings = settings
        self.folder = folder
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self.children: list[Child] = []
        self._prepared: Sequence[Child] = ()

    def prepare(self) -> AlertingStack:
        """Check the binaries, the rules and the ports, and write both configurations; raises
        AlertingUnavailable before anything starts."""
        try:
            self._prepared = self._children()
        except OSError as exc:  # a taken port
            raise AlertingUnavailable(str(exc)) from None
        return self

    def _children(self) -> Sequence[Child]:
        if self.settings.metrics_auth is not None:
            raise AlertingUnavailable(
                "metrics_auth is set and the embedded Prometheus has no credentials to scrape with"
            )
        if not RULES.is_file():
            raise AlertingUnavailable(f"the shipped rules are not at {RULES}: run from a checkout")
        prometheus_bin = binary("prometheus")
        alertmanager_bin = binary("prometheus-alertmanager", "alertmanager")
        for address in (self.prometheus, self.alertmanager):
            ensure_free(address)
        p_dir, am_dir = self.folder / "prometheus", self.folder / "alertmanager"
        p_dir.mkdir(parents=True, exist_ok=True)
        am_dir.mkdir(parents=True, exist_ok=True)
        config = prometheus_config(self.settings, self.prometheus, self.alertmanager)
        (p_dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        routes = alertmanager_config(self.settings, Targets.of(self.settings.notify))
        (am_dir / "alertmanager.yml").write_text(routes, encoding="utf-8")
        return (
            Child(
                "prometheus",
                [
                    prometheus_bin,
                    f"--config.file={p_dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={p_dir / 'data'}",
                    f"--web.listen-address={hostport(self.prometheus)}",
                ],
                p_dir,
                http_ok(f"{url(self.prometheus)}/-/ready"),
                pid_file=True,
            ),
            Child(
                "alertmanager",
                [
                    alertmanager_bin,
                    f"--config.file={am_dir / 'alertmanager.yml'}",
                    f"--storage.path={am_dir / 'data'}",
                    f"--web.listen-address={hostport(self.alertmanager)}",
                    "--cluster.listen-address=",  # one instance: no gossip port
                ],
                am_dir,
                http_ok(f"{url(self.alertmanager)}/-/ready"),
                pid_file=True,
            ),
        )

    def start(self, timeout: float = 60.0) -> AlertingStack:
        """Start what :meth:`prepare` checked, once the exporter listens (a first scrape that
        failed would look like the exporter down)."""
        if not self._prepared:
            self.prepare()
        self.children = [child.start() for child in self._prepared]
        try:
            wait_until(lambda: all(child.ready() for child in self.children), timeout, interval=0.2)
        except ChildExited as exc:
            self.stop()
            raise AlertingUnavailable(f"{exc} (at start)") from None
        except TimeoutError:
            self.stop()
            raise AlertingUnavailable("Prometheus or Alertmanager did not become ready in time") from None
        return self

    def stop(self) -> None:
        for child in self.children:
            child.stop()
        self.children = []
