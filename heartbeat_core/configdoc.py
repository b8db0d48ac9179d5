"""The key table of docs/configuration.md, made from the schema: ``python -m heartbeat_core.configdoc``.

The docs cannot drift from the code: a test compares the committed table with this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from heartbeat_core.config import Settings
from heartbeat_core.sections import DEFAULT_TABLES

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN, END = "<!-- keys: begin (generated) -->", "<!-- keys: end -->"


def _default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
        return f"`{value[0]}:{value[1]}`"
    if isinstance(value, (dict, tuple)) and not value:
        return "none"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def table() -> str:
    rows = ["| key | environment variable | default | read by | meaning |", "|---|---|---|---|---|"]
    for key, field in Settings.model_fields.items():
        default = (
            "see below"
            if key in ("types", "tables")
            else _default(field.get_default(call_default_factory=True))
        )
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        app = str(extra.get("app", "both"))
        rows.append(f"| `{key}` | `HEARTBEAT_{key.upper()}` | {default} | {app} | {field.description} |")
    rows += ["", "Default log tables (`tables`), one per key, each overridable field by field:", ""]
    rows += ["| key | id column | IP columns | time column (kind) |", "|---|---|---|---|"]
    for name, spec in DEFAULT_TABLES.items():
        ips = ", ".join(f"`{c}`" for c in spec.ip_columns)
        rows.append(f"| `{name}` | `{spec.id_column}` | {ips} | `{spec.time_column}` ({spec.time_kind}) |")
    return "\n".join(rows) + "\n"


def render(document: str) -> str:
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
