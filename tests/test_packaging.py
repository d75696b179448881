"""What the wheel ships: the `onboarding-bot` console script, and no `bench` package."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_console_script_is_the_same_entry_as_python_m_bot() -> None:
    from bot.cli import main

    target = pyproject()["project"]["scripts"]["onboarding-bot"]
    module, function = target.split(":")
    assert (module, function) == (main.__module__, main.__name__)


def test_bench_is_left_out_of_the_wheel() -> None:
    included = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(pattern.startswith("bench") for pattern in included)
    assert {"bot*", "devslack*", "sinch*", "store*"} <= set(included)
