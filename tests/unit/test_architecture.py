"""The house rules of docs/architecture.md, enforced: who imports whom, and how big things get."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (
    "heartbeat_core",
    "heartbeat_receiver",
    "exporter",
    "heartbeat_agent",
    "heartbeat_monitor",
    "loopback",
)
OURS = (*PRODUCT, "harness", "tests", "benchmarks", "dashboards")
# which of our top-level packages each may import (itself always)
MAY_IMPORT = {
    "heartbeat_core": set(),
    "heartbeat_receiver": {"heartbeat_core"},
    "exporter": {"heartbeat_core"},
    "heartbeat_agent": set(),
    "heartbeat_monitor": {"heartbeat_core", "heartbeat_receiver", "exporter", "heartbeat_agent", "loopback"},
    # child servers on loopback (Redis, Prometheus, Alertmanager): stands on nothing of ours, so
    # that the all-in-one and the tests' harness can share the one launcher
    "loopback": set(),
    "benchmarks": set(PRODUCT) | {"harness"},
    "harness": {"loopback"},  # the tests' and benchmarks' servers borrow nothing else of the product
}
LONG_MODULES: set[str] = set()  # none: the agent is a folder of small modules since #32
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


# the exporter's rooms (docs/architecture.md): which rooms each may import; the exporter's top-level
# modules (entry points, the context, the worker) may import every room
ROOMS = {
    "access": set(),
    "sql": set(),
    "state": {"sql"},
    "metrics": {"sql", "state"},
    "web": {"access", "sql", "state", "metrics"},
}
# module names that mean the same thing wherever they stand: the package, its command, its app
# factory, its typed Flask app and the servers' import target
SAME_MEANING = {"__init__", "__main__", "app", "host", "wsgi"}


def imported_modules(path: Path) -> set[str]:
    """Every module of ours a file imports, those under ``TYPE_CHECKING`` included."""
    found = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
            found |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return {name for name in found if name.split(".")[0] in OURS}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


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
    "module",
    ["exporter.sql.schema", "exporter.sql.traffic", "heartbeat_receiver.ingest", "heartbeat_core.status"],
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
        "import exporter.web.app; "
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


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "exporter" and len(parts) > 2 and parts[1] in ROOMS else None


def test_the_exporters_rooms_import_only_what_they_may() -> None:
    crossing = []
    for path in sources("exporter"):
        room = room_of(module_name(path) + ".x")
        if room is None:
            continue
        for name in imported_modules(path):
            other = room_of(name)
            if other is not None and other != room and other not in ROOMS[room]:
                crossing.append(f"{path.relative_to(ROOT)} ({room}) imports {name} ({other})")
    assert not crossing


# the served entry points build the app; every other module of the exporter stays below web/
BUILDS_THE_APP = {"exporter.wsgi", "exporter.__main__"}


def test_only_the_entry_points_import_the_exporters_web_room() -> None:
    """The context once imported web/auth.py: the parts a route uses live below the routes."""
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("exporter")
        if room_of(module_name(path) + ".x") != "web" and module_name(path) not in BUILDS_THE_APP
        for name in imported_modules(path)
        if name == "exporter.web" or name.startswith("exporter.web.")
    ]
    assert not found


def test_no_import_circle_even_for_typing() -> None:
    tree = (*PRODUCT, "harness", "benchmarks")  # the benchmarks' suites once imported each other
    modules = {module_name(path): path for package in tree for path in sources(package)}
    graph = {
        name: {m for m in imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    circles = []

    def walk(name: str, trail: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert not circles


def test_no_two_modules_share_a_name_with_different_meanings() -> None:
    by_tail: dict[str, list[str]] = {}
    for package in PRODUCT:
        for path in sources(package):
            by_tail.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    clashes = {tail: paths for tail, paths in by_tail.items() if len(paths) > 1 and tail not in SAME_MEANING}
    assert not clashes


def private_names_from_other_packages(path: Path, package: str) -> list[str]:
    """``from other import _name``, and ``module._name`` on a module of another package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}  # a local name bound to a module of another of our packages
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] in OURS and node.module.split(".")[0] != package:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"from {node.module} import {alias.name}")
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS and alias.name.split(".")[0] != package:
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{modules[node.value.id]}.{node.attr}")
    return found


def test_no_package_reaches_for_another_packages_private_names() -> None:
    """A leading underscore is a promise to change freely; benchmarks and tests use public seams."""
    found = {
        str(path.relative_to(ROOT)): names
        for package in OURS
        for path in sources(package)
        if (names := private_names_from_other_packages(path, package))
    }
    assert not found
