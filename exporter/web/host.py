"""The exporter's Flask app, typed: its views reach the exporter's parts through :func:`current`."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, current_app, request

from exporter.access.auth import Principal
from exporter.context import Exporter


class ExporterApp(Flask):
    def __init__(self, exporter: Exporter, **options: Any) -> None:
        super().__init__("exporter", **options)
        self.exporter = exporter


def current() -> Exporter:
    """The exporter of the app handling the request."""
    return cast(ExporterApp, current_app).exporter


def caller() -> Principal:
    """Who makes the request, by its bearer token; 401 for anyone else."""
    return current().auth.principal(request.headers.get("Authorization", ""))
