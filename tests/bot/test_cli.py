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


def test_migrate_creates_the_schema_at_database_url(tmp_path: Path, database_url: str) -> None:
    import os

    url = database_url
    env = {**os.environ, "DATABASE_URL": url}
    result = run_cli("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert head_revision() in result.stdout
    engine = make_engine(url)
    assert {"onboarding", "audit_event", "outbox", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrate_refuses_an_unusable_database_url_as_a_configuration_error(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DATABASE_URL": "postgresql+psycopg2://bot:hunter2@127.0.0.1/onboarding"}
    result = run_cli("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "use postgresql+psycopg://" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr
