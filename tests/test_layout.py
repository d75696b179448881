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


# Inside bot/, from the top down: listeners parse Slack's payloads and call a flow; a flow opens the transaction
# and calls the workflow; background jobs deliver and sweep; slack/ renders and talks to Slack; the workflow
# decides. A layer imports only layers below it (docs/architecture.md).
LAYERS = ["listeners", "flows", "background", "slack", "workflow"]


def _bot_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("bot."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("bot."):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_of_the_bot_imports_only_the_layers_below_it(layer: str) -> None:
    above = set(LAYERS[:LAYERS.index(layer)])
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _bot_modules(p) if _layer(m) in above)
                 for p in (ROOT / "bot" / layer).rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_collaborators_sit_below_every_layer() -> None:
    assert sorted(m for m in _bot_modules(ROOT / "bot" / "deps.py") if _layer(m) is not None) == []
