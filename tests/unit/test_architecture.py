"""The house rules of docs/architecture.md, enforced: who imports whom, and how big things get."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("heartbeat_core", "heartbeat_receiver", "exporter", "heartbeat_agent", "heartbeat_monitor")
OURS = (*PRODUCT, "harness", "tests", "benchmarks", "dashboards")
# which of our top-level packages each may import (itself always)
MAY_IMPORT = {
    "heartbeat_core": set(),
    "heartbeat_receiver": {"heartbeat_core"},
    "exporter": {"heartbeat_core"},
    "heartbeat_agent": set(),
    "heartbeat_monitor": {"heartbeat_core", "heartbeat_receiver", "exporter", "heartbeat_agent"},
    "benchmarks": set(PRODUCT) | {"harness"},
}
# one file by design: users vendor agent.py alone into their programs and PyInstaller builds,
# and run it as a script or zipapp (tests/integration/test_agent.py); splitting it breaks that
LONG_MODULES = {"heartbeat_agent/agent.py"}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found & set(OURS)


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_flow_one_way(package: str) -> None:
    allowed = MAY_IMPORT[package] | {package}
    crossing = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(package)
        for name in imported_packages(path) - allowed
    }
    assert not crossing


@pytest.mark.parametrize(
    "module", ["exporter.schema", "exporter.traffic", "heartbeat_receiver.ingest", "heartbeat_core.status"]
)
def test_importing_a_module_builds_no_web_app(module: str) -> None:
    """No app factory and no Flask come along as a side effect (the packages' __init__ import nothing)."""
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m == 'flask' or m.endswith('.app') and m.split('.')[0] in "
        f"{OURS!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_receiver_and_the_exporter_load_nothing_of_each_other() -> None:
    code = (
        "import sys, heartbeat_receiver.app, heartbeat_receiver.wsgi; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'exporter'], 'exporter loaded'; "
        "import exporter.app; "
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


def test_product_modules_and_functions_stay_small() -> None:
    too_long = []
    for package in PRODUCT:
        for path in sources(package):
            name = str(path.relative_to(ROOT))
            text = path.read_text(encoding="utf-8")
            if len(text.splitlines()) > MAX_MODULE_LINES and name not in LONG_MODULES:
                too_long.append(f"{name}: {len(text.splitlines())} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    size = (node.end_lineno or node.lineno) - node.lineno + 1
                    if size > MAX_FUNCTION_LINES:
                        too_long.append(f"{name}:{node.lineno} {node.name}(): {size} lines")
    assert not too_long
