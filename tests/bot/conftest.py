"""The `bot` fixture: a whole bot (real runtime, fake Slack, in-process sandbox) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.harness import BotHarness


@pytest.fixture
def bot(tmp_path: Path, migrated_database_url: str) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path, database_url=migrated_database_url)
    yield harness
    harness.close()
