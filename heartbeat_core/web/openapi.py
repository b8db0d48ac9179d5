"""Serving an app's OpenAPI document (kept as YAML beside the code that implements it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import Flask, jsonify


def register(app: Flask, document: Path) -> None:
    spec: dict[str, Any] = yaml.safe_load(document.read_text(encoding="utf-8"))

    @app.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(spec)
