"""The command line, run as operators run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from store.db import head_revision, make_engine
from store.secrets import SecretBox

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_the_subcommands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("keygen", "migrate", "sandbox"):
        assert name in result.stdout


def test_keygen_prints_a_usable_key() -> None:
    result = run_cli("keygen")
    assert result.returncode == 0
    key = result.stdout.strip()
    box = SecretBox(key)
    assert box.open(box.seal("x")) == "x"


def test_migrate_creates_the_schema_at_database_url(tmp_path: Path) -> None:
    import os

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    result = run_cli("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert head_revision() in result.stdout
    engine = make_engine(url)
    assert {"onboarding", "audit_event", "outbox", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()
