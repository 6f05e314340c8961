"""The app layering holds (docs/architecture.md): the import-linter contracts pass, every app is under
them, and no app reaches another through a back door the contracts cannot see."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
# Loading code or models by a string hides a dependency from import-linter.
BACK_DOOR = re.compile(r"\bget_model\(|\bimportlib\b|\bimport_module\(|\b__import__\(|\bimport_string\(")
# The connector registry imports connector classes of its own app lazily (checks/connectors/__init__.py).
ALLOWED_BACK_DOORS = {"checks/connectors/__init__.py"}


def our_apps() -> set[str]:
    names = {entry.split(".")[0] for entry in settings.INSTALLED_APPS}
    return {name for name in names if (ROOT / name / "__init__.py").exists()} | {"config"}


def test_the_contracts_pass():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_every_app_is_in_the_layers():
    layered = set()
    for contract in CONFIG["contracts"]:
        if contract["type"] == "layers":
            layered |= {name.strip() for layer in contract["layers"] for name in layer.split("|")}
    assert our_apps() == set(CONFIG["root_packages"]) == layered


def test_no_back_door_between_apps():
    found = []
    for app in sorted(our_apps()):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in ALLOWED_BACK_DOORS:
                continue
            found += [
                f"{relative}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if BACK_DOOR.search(line)
            ]
    assert found == [], "load code through imports, which the contracts check"


def test_the_layers_are_the_documented_ones():
    """docs/architecture.md's graph: alerts reads runs and check results (below it) and is read by nothing
    but workflows and the console (above it)."""
    [layers] = [contract["layers"] for contract in CONFIG["contracts"] if contract["type"] == "layers"]
    assert layers == ["console", "workflows", "alerts", "checks", "lineage", "catalog | billing", "orgs", "config"]
