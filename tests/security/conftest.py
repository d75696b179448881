"""Prints the figures the security tests gathered (see figures.py) under pytest's summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.bot.harness import BotHarness
from tests.databases import DatabaseServer
from tests.security.figures import FIGURES
from tests.security.hostile import Endpoint, hostile_endpoint


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[Endpoint]:
    """A signed HTTP endpoint in front of a running bot, one per test module (modules may override it)."""
    url = database_server.create(template=database_server.migrated_template())
    running = hostile_endpoint(BotHarness(tmp_path_factory.mktemp("hostile"), database_url=url))
    yield running
    running.close()
    database_server.drop(url)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("security figures")
        for name, count in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {count}")
