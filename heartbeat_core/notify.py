"""Where pages go (``notify:``, SPEC §18): Alertmanager's own integrations, declared once.

The monitor never sends a notification itself. ``heartbeat-exporter alert-config`` (and the
all-in-one, which runs Alertmanager) turns this section into the receivers of the Alertmanager
configuration, so retries, grouping, silences and resolved messages are Alertmanager's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Slack(_Section):
    url: Annotated[HttpUrl, Field(description="the incoming webhook's URL")]
    channel: Annotated[str, Field(min_length=1)] | None = None


class Email(_Section):
    to: Annotated[str, Field(min_length=3)]
    from_: Annotated[str, Field(min_length=3, alias="from")]
    smarthost: Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$", description="host:port of the SMTP relay")]
    auth_username: str | None = None
    auth_password: str | None = None
    require_tls: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Notify(_Section):
    """Each target gets every page (critical) and every warning, through Alertmanager."""

    webhook: tuple[HttpUrl, ...] = ()
    slack: tuple[Slack, ...] = ()
    email: tuple[Email, ...] = ()
    watchdog: HttpUrl | None = None  # HeartbeatWatchdog's own receiver: an external dead man's switch

    def integrations(self) -> dict[str, list[dict[str, Any]]]:
        """One Alertmanager receiver's integrations, in its own configuration's words."""
        found: dict[str, list[dict[str, Any]]] = {}
        if self.webhook:
            found["webhook_configs"] = [{"url": str(url), "send_resolved": True} for url in self.webhook]
        if self.slack:
            found["slack_configs"] = [
                {
                    "api_url": str(s.url),
                    **({"channel": s.channel} if s.channel else {}),
                    "send_resolved": True,
                }
                for s in self.slack
            ]
        if self.email:
            found["email_configs"] = [
                {
                    "to": e.to,
                    "from": e.from_,
                    "smarthost": e.smarthost,
                    "require_tls": e.require_tls,
                    **({"auth_username": e.auth_username} if e.auth_username else {}),
                    **({"auth_password": e.auth_password} if e.auth_password else {}),
                    "send_resolved": True,
                }
                for e in self.email
            ]
        return found
