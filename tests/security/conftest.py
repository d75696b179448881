"""The signed HTTP endpoint the security tests share (their figures are printed by tests/reporting.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot.harness import BotHarness
from tests.databases import DatabaseServer
from tests.security.hostile import Endpoint, hostile_endpoint


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[Endpoint]:
    """A signed HTTP endpoint in front of a running bot, one per test module (modules may override it)."""
    url = database_server.create(template=database_server.migrated_template())
    running = hostile_endpoint(BotHarness(tmp_path_factory.mktemp("hostile"), database_url=url))
    yield running
    running.close()
    database_server.drop(url)

