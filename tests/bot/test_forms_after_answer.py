"""Forms open after the answer to Slack (bot/listeners/common.py, open_form), on a pool nothing slow shares."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.runtime import AFTER_ACK_THREADS
from bot.slack.ids import ActionId
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, VALID_FORM, BotHarness


class AfterTheAnswer:
    """Work a listener starts after its answer, run once the request is answered, as the after-ack pool runs
    it: an exception there reaches nobody but the log (bot/runtime.py, `_log_failure`)."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], None]] = []
        self.failures: list[Exception] = []

    def __call__(self, work: Callable[[], None]) -> None:
        self.queued.append(work)

    def run(self) -> None:
        while self.queued:
            try:
                self.queued.pop(0)()
            except Exception as error:
                self.failures.append(error)


@pytest.fixture
def deferred_bot(tmp_path: Path, migrated_database_url: str) -> Iterator[tuple[BotHarness, AfterTheAnswer]]:
    later = AfterTheAnswer()
    harness = BotHarness(tmp_path, database_url=migrated_database_url, run_later=later)
    yield harness, later
    harness.close()


# Each form: who asks for it, and how (a button on the case, or the slash command with this text).
FORMS = {
    "reject": (LEAD, ActionId.REJECT), "cancel button": (LEAD, ActionId.CANCEL),
    "cancel command": (REQUESTER, "cancel #1"), "intake": (REQUESTER, ""),
}


@pytest.mark.parametrize("form", FORMS)
def test_a_form_that_slack_will_not_open_is_explained_and_changes_nothing(
    deferred_bot: tuple[BotHarness, AfterTheAnswer], form: str
) -> None:
    """Forms open after the answer (open_form); Slack refusing the trigger still reaches the person."""
    bot, later = deferred_bot
    bot.send(bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
    later.run()  # the intake form opens
    intake = bot.slack_state.last_view_for(REQUESTER)
    assert intake is not None
    bot.send(bot.sim.submit_view(REQUESTER, view_id=intake.view_id, values=VALID_FORM))
    bot.slack_state.add_fault("views.open", status=200, retry_after=None, error="expired_trigger_id")
    opened_before = len(bot.slack_state.calls_to("views.open"))
    user, how = FORMS[form]
    if isinstance(how, ActionId):
        response = bot.click(user, how)
    else:
        response = bot.send(bot.sim.slash_command(user, text=how, channel_id=CHANNEL))
    assert response.status == 200
    assert len(bot.slack_state.calls_to("views.open")) == opened_before, "the form opens after the answer"
    later.run()
    assert later.failures == []
    assert len(bot.slack_state.calls_to("views.open")) == opened_before + 1
    told = [*bot.ephemerals(user), *(json.dumps(post.body) for post in bot.slack_state.response_posts)]
    assert any("could not be opened" in text and "expired_trigger_id" in text for text in told)
    assert bot.case().state is S.AWAITING_APPROVAL


def test_a_form_opens_while_app_creations_fill_the_after_ack_pool(tmp_path: Path, migrated_database_url: str) -> None:
    """The bot's own pools (no test runner): work queued after commits, however slow, does not hold up a form."""
    bot = BotHarness(tmp_path, database_url=migrated_database_url, run_later=None)
    release = threading.Event()

    def slow_app_creation() -> None:
        release.wait(30)

    try:
        for _ in range(AFTER_ACK_THREADS + 2):  # every after-ack thread busy, and more queued behind them
            bot.deps.run_later(slow_app_creation)
        opened = threading.Event()
        bot.deps.run_soon(opened.set)
        assert opened.wait(10), "the form's call waited for the app creations"
    finally:
        release.set()
        bot.close()
