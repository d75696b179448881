"""The `bot` fixture: a whole bot (real runtime, fake Slack, in-process sandbox) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.harness import BotHarness


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[BotHarness]:
    harness = BotHarness(tmp_path)
    yield harness
    harness.close()
