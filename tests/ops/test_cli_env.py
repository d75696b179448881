"""The command line reads `.env` from the working directory, and LOG_* through the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_dotenv_in_the_working_directory_is_read_outside_the_checkout(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=chatty\n")
    result = run_cli("keygen", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "LOG_LEVEL: 'chatty' is not a level" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=chatty\n")
    result = run_cli("keygen", cwd=tmp_path, env={"LOG_LEVEL": "WARNING"})
    assert result.returncode == 0, result.stderr


def test_an_unknown_log_format_is_one_configuration_error(tmp_path: Path) -> None:
    result = run_cli("migrate", cwd=tmp_path, env={"LOG_FORMAT": "xml", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["configuration error:",
                                                  "- LOG_FORMAT: 'xml' is not a format: use text or json"]
    assert not (tmp_path / "x.db").exists()
