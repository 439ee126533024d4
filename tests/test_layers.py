"""Imports point one way, as DESIGN.md's rooms say: a lower room never reaches up."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What each room may import of the others (bench sits on top and may use anything). ``errors``
# and ``textnorm`` (folding, language detection, the language list) are the bottom of the
# house: every room may import them, and they import nothing but the standard library.
FLOOR = {"errors", "textnorm"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "textnorm": set(),
    "store": FLOOR,
    "knowledge": {"store"} | FLOOR,
    "channels": {"store"} | FLOOR,
    "agent": {"knowledge", "store"} | FLOOR,
    "workers": {"agent", "knowledge", "store", "channels"} | FLOOR,
    "gateway": {"workers", "agent", "knowledge", "store", "channels"} | FLOOR,
    # evals drive the workers' drain and sender too (the window family); workers never import evals
    "evals": {"workers", "agent", "knowledge", "store", "channels"} | FLOOR,
    "frontdesk": {"gateway", "workers", "agent", "knowledge", "store", "channels", "evals"} | FLOOR,
}
# Frameworks that belong to the rooms above the agent.
FORBIDDEN_FRAMEWORKS: dict[str, set[str]] = {
    "agent": {"celery", "fastapi", "kombu"},
    "knowledge": {"celery", "fastapi", "kombu"},
    "store": {"celery", "fastapi", "kombu", "langgraph"},
}
STDLIB_ONLY = FLOOR
"""Rooms that import nothing but the standard library."""


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_each_room_imports_only_the_rooms_below_it() -> None:
    rooms = set(ALLOWED) | {"bench"}
    wrong: list[str] = []
    for room, allowed in ALLOWED.items():
        forbidden = FORBIDDEN_FRAMEWORKS.get(room, set())
        for path in sorted((ROOT / room).rglob("*.py")):
            for imported in _imported_roots(path):
                if imported in rooms and imported != room and imported not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
                if imported in forbidden:
                    wrong.append(f"{path.relative_to(ROOT)} imports the framework {imported}")
                if room in STDLIB_ONLY and imported != room and imported not in sys.stdlib_module_names:
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported} (only the standard library)")
    assert not wrong, "\n".join(wrong)
