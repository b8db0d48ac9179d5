"""Serving an app's OpenAPI document (kept as YAML beside the code that implements it).

Schemas that are declared in code (a heartbeat's fields) are filled in from there, so that the
document cannot drift from what the app accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, jsonify


def load(document: Path, properties: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The document, with ``properties``: schema name -> more of its properties, made elsewhere
    (from the heartbeat field table) beside those the document writes out."""
    spec: dict[str, Any] = yaml.safe_load(document.read_text(encoding="utf-8"))
    for schema, declared in (properties or {}).items():
        target = spec["components"]["schemas"][schema]
        target["properties"] = {**target.get("properties", {}), **declared}
    return spec


def register(app: Flask, spec: dict[str, Any]) -> None:
    @app.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(spec)
