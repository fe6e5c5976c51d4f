"""The import rules of docs/design.md ("Layout"), checked on the source: imports go one way.

- `tracker.survival` is pure statistics: it imports nothing else of tracker, no web, no db;
- blueprints (auth, cases, research, reports' views, admin, api) do not import `tracker.survival`:
  they call a service; nor do they compute, draw or write files themselves (no numpy, pandas,
  matplotlib, `tracker.charts`, csv or openpyxl): they parse, call one service and render;
- nothing imports a blueprint's routes (they register themselves through the blueprint package);
- services do not import blueprints; models import no service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACKER = ROOT / "tracker"
SURVIVAL = TRACKER / "survival"
FORBIDDEN_IN_SURVIVAL = ("tracker", "flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug")
BLUEPRINTS = ("tracker.auth", "tracker.cases", "tracker.research", "tracker.admin", "tracker.api")
#: The report's blueprint modules (the rest of tracker/reports/ is its service and pipeline).
REPORT_VIEWS = ("tracker.reports.routes", "tracker.reports.forms")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
            if node.module and node.level == 0:  # `from tracker.cases import routes`
                found += [(f"{node.module}.{alias.name}", 0) for alias in node.names]
    return found


def absolute_imports(path: Path) -> list[str]:
    return [module for module, level in imported_modules(path) if level == 0]


def is_blueprint(module: str) -> bool:
    return module.startswith(tuple(f"{b}." for b in BLUEPRINTS)) or module in BLUEPRINTS or \
        module.startswith(REPORT_VIEWS)


SOURCES = sorted(TRACKER.rglob("*.py"))


@pytest.mark.parametrize("path", sorted(SURVIVAL.glob("*.py")), ids=lambda p: p.name)
def test_survival_imports_stay_inside_the_package(path: Path) -> None:
    for module, level in imported_modules(path):
        assert level <= 1, f"{path.name} reaches outside tracker.survival: {'.' * level}{module}"
        if level == 0:
            assert module.split(".")[0] not in FORBIDDEN_IN_SURVIVAL, f"{path.name} imports {module}"


#: What a blueprint leaves to its services: statistics, arrays, drawing and file writers.
COMPUTING = ("tracker.survival", "tracker.charts", "numpy", "pandas", "matplotlib", "csv", "openpyxl")


@pytest.mark.parametrize("path", [p for p in SOURCES if is_blueprint(module_name(p))], ids=module_name)
def test_blueprints_call_services_not_the_survival_engine(path: Path) -> None:
    for module in absolute_imports(path):
        assert not module.startswith(COMPUTING), f"{module_name(path)} imports {module}"


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_nothing_imports_a_blueprints_routes(path: Path) -> None:
    """Only a blueprint's own package (its __init__) may import its route modules, to register them."""
    for module in absolute_imports(path):
        if ".routes" in module:
            package = module.split(".routes")[0]
            assert module_name(path) == package, f"{module_name(path)} imports {module}"


LOWER_LAYERS = sorted((TRACKER / "services").rglob("*.py")) + sorted((TRACKER / "models").rglob("*.py"))


@pytest.mark.parametrize("path", LOWER_LAYERS, ids=module_name)
def test_services_and_models_do_not_import_blueprints(path: Path) -> None:
    for module in absolute_imports(path):
        assert not is_blueprint(module), f"{module_name(path)} imports {module}"
        if module_name(path).startswith("tracker.models"):
            assert not module.startswith("tracker.services"), f"{module_name(path)} imports {module}"
