"""Services, limits and registration speak domain errors, not HTTP: nothing below the API imports DRF or an api module.

(The app-to-app direction is import-linter's job; this is the narrower rule of the domain errors.)
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITE_MODULES = sorted(
    path.relative_to(ROOT).as_posix()
    for pattern in ("*/services.py", "*/limits.py", "*/registration.py", "*/stripe_api.py", "*/errors.py", "*/graph.py")
    for path in ROOT.glob(pattern)
    if path.parts[-2] not in ("config", "tests", ".venv")
)


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_rule_covers_every_app_that_writes():
    assert {"orgs/services.py", "orgs/limits.py", "workflows/registration.py", "lineage/services.py"} <= set(
        WRITE_MODULES
    )


@pytest.mark.parametrize("module", WRITE_MODULES)
def test_no_http_framework_below_the_api(module):
    offending = sorted(
        name
        for name in imported_modules(ROOT / module)
        if name.split(".")[0] == "rest_framework" or "api" in name.split(".")
    )
    assert offending == [], f"{module} imports {offending}: raise orgs.errors.DomainError subclasses instead"
