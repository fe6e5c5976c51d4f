"""tracker.survival is pure statistics: it imports nothing else of tracker, no web, no db."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tracker" / "survival"
FORBIDDEN = ("tracker", "flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug")


def imported_modules(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_stay_inside_the_package(path: Path) -> None:
    for module, level in imported_modules(path):
        assert level <= 1, f"{path.name} reaches outside tracker.survival: {'.' * level}{module}"
        if level == 0:
            assert module.split(".")[0] not in FORBIDDEN, f"{path.name} imports {module}"
