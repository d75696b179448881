"""Sinch's own SDK is also a top-level `sinch` package: shadowing ours, it is named in one line, not an ImportError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_foreign_sinch_package_is_named_with_the_fix(tmp_path: Path, command: str) -> None:
    foreign = tmp_path / "site" / "sinch"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("from sinch.core.clients import SinchClient  # Sinch's SDK\n")
    result = subprocess.run([sys.executable, "-m", "bot", command], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{foreign.parent}:{ROOT}"})
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1 and "Traceback" not in result.stderr
    assert str(foreign) in output[0] and "its own virtual environment" in output[0]


def test_our_own_sinch_passes() -> None:
    from bot.ops.preflight import foreign_sinch

    assert foreign_sinch() is None

