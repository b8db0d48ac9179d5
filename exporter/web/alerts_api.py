"""``GET /alerts``: what pages now, from Alertmanager; ``POST /alerts/test``: a test page (admins).

Viewers see an alert's name, severity, type and edge, and its service under the name they see
everywhere else (a sender's IP stays a pseudonym). Everything else an alert carries (instance
addresses, annotations written from raw labels, receivers) is for admins only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from exporter.firing import MOST_SHOWN
from exporter.web.host import caller, current
from heartbeat_core.errors import ApiError

bp = Blueprint("alerts", __name__)

VIEWER_LABELS = ("alertname", "severity", "service_type", "edge")
SEVERITY_ORDER = {"critical": 0, "warning": 1}
NO_WATCHDOG = (
    "HeartbeatWatchdog is not firing: Prometheus is not evaluating rules or not reaching Alertmanager"
)


@bp.get("/alerts")
def firing() -> ResponseReturnValue:
    exporter = current()
    principal = caller()
    source = exporter.alerts
    if source is None:
        return jsonify(
            alertmanager="not_configured",
            alerting_path="unknown",
            message="no alertmanager_url is configured: alerts are not shown here",
            alerts=[],
            more=0,
        )
    reading = source.read()
    if not reading.reachable:
        return jsonify(
            alertmanager="unreachable", alerting_path="broken", message=reading.error, alerts=[], more=0
        )
    paging = sorted(reading.paging, key=_rank)
    shown = [_shown(a, principal.is_admin) for a in paging[:MOST_SHOWN]]
    return jsonify(
        alertmanager="ok",
        alerting_path="works" if reading.watchdog else "broken",
        message="" if reading.watchdog else NO_WATCHDOG,
        alerts=shown,
        more=max(0, len(paging) - MOST_SHOWN),
    )


def _rank(alert: Mapping[str, Any]) -> tuple[int, str]:
    """Pages first, then warnings, each oldest first."""
    return SEVERITY_ORDER.get(alert.get("labels", {}).get("severity", ""), 2), str(alert.get("startsAt"))


def _shown(alert: Mapping[str, Any], admin: bool) -> dict[str, Any]:
    labels = {str(k): str(v) for k, v in dict(alert.get("labels") or {}).items()}
    name = labels.get("service_name")
    shown: dict[str, Any] = {key: labels.get(key) for key in VIEWER_LABELS}
    shown["service_name"] = None if name is None else current().auth.shown_name(name, admin)
    shown["since"] = alert.get("startsAt")
    if admin:
        shown["labels"] = labels
        shown["annotations"] = {str(k): str(v) for k, v in dict(alert.get("annotations") or {}).items()}
        shown["receivers"] = [str(r.get("name")) for r in alert.get("receivers") or [] if isinstance(r, dict)]
    return shown


@bp.post("/alerts/test")
def test_notification() -> ResponseReturnValue:
    exporter = current()
    principal = caller()
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "test notifications are for admins")
    source = exporter.alerts
    if source is None:
        raise ApiError(409, "alertmanager_not_configured", "no alertmanager_url is configured")
    alert = source.send_test(principal.username)
    return jsonify(sent=alert["labels"], ends_at=alert["endsAt"]), 202
