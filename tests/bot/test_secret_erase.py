"""An erased key secret leaves no copy behind: not in SQLite's WAL, not in the token cache (issue 23, A7, A8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.slack.ids import ActionId
from store.states import OnboardingState as S
from tests.bot.harness import STAFF, BotHarness
from tests.bot.test_page_and_removal import PAGE_ID, connect, invited


def database_files(bot: BotHarness) -> list[Path]:
    database = make_url(bot.settings.database_url).database
    assert database
    return [Path(database), Path(database + "-wal")]


def test_completing_a_case_leaves_its_sealed_secret_in_no_file_and_no_token_cache(bot: BotHarness) -> None:
    if bot.deps.engine.dialect.name != "sqlite":
        pytest.skip("the WAL is SQLite's; PostgreSQL's dead row versions are VACUUM's (SECURITY.md)")
    creds = invited(bot)
    connect(bot, creds, page_id=PAGE_ID, page_name="Acme Bikes")
    sealed = bot.case().key_secret_sealed
    assert sealed is not None and bot.case().state == S.REVOKING
    assert creds["key_id"] in bot.deps.sinch.cached_key_ids()  # the polls used the key
    bot.click(STAFF, ActionId.ACCESS_REMOVED)
    assert (bot.case().state, bot.case().key_secret_sealed) == (S.COMPLETED, None)
    for path in database_files(bot):
        content = path.read_bytes() if path.exists() else b""
        assert sealed.encode() not in content, f"{path.name} still holds the sealed secret"
    assert creds["key_id"] not in bot.deps.sinch.cached_key_ids() | bot.deps.sinch_interactive.cached_key_ids()
