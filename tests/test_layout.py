"""Imports point one way: bot -> sinch, store. sinch/ and store/ never import bot or Slack; devslack is a tool."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["sinch", "store"])
def test_lower_layers_never_import_the_bot_or_slack(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & {"bot", "slack_bolt", "slack_sdk"})
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_workflow_has_no_slack_imports() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "bot" / "workflow").rglob("*.py")
                 if _imports(p) & {"slack_bolt", "slack_sdk"}]
    assert offenders == []


def test_the_local_slack_stand_in_stands_alone() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & {"bot", "sinch", "store"})
                 for p in (ROOT / "devslack").rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_demo_reaches_for_the_local_slack_stand_in() -> None:
    importers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py") if "devslack" in _imports(p))
    assert importers == ["bot/ops/demo.py"]


def test_modules_stay_small() -> None:
    too_big = {str(p.relative_to(ROOT)): n for package in ("bot", "devslack", "sinch", "store", "tests", "bench")
               for p in (ROOT / package).rglob("*.py")
               if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert too_big == {}
