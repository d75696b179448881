"""Each step names who performs it: a team lead in Slack, staff in the dashboard, the bot, the customer."""

from __future__ import annotations

import json

from bot.slack.ids import ActionId
from store.states import OnboardingState as S
from tests.bot.harness import LEAD, BotHarness
from tests.bot.test_home import case, render


def checklist_line(bot: BotHarness, title: str) -> str:
    blocks = json.dumps(bot.thread()[0].blocks)
    return next(line for line in blocks.split("\\n") if title in line)


def test_the_card_names_each_steps_performer(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.deliver()
    assert "_(a team lead, in Slack)_" in checklist_line(bot, "Team lead approves")
    assert "_(staff, in the Sinch dashboard)_" in checklist_line(bot, "Create the project (not")
    assert "_(the bot)_" in checklist_line(bot, "Create the Conversation API app")
    assert "_(staff, in the Sinch dashboard)_" in checklist_line(bot, "Invite the customer")
    assert "_(the customer)_" in checklist_line(bot, "connects their Facebook Page")
    assert "_(staff, in the Sinch dashboard)_" in checklist_line(bot, "Remove the customer")
    bot.click(LEAD, ActionId.APPROVE)
    bot.deliver()
    assert "_(a team lead, in Slack)_" in checklist_line(bot, "Team lead approves")


def test_the_app_home_says_who_an_overdue_step_waits_on() -> None:
    view = json.dumps(render([case(1, S.AWAITING_APPROVAL, entered_hours_ago=30),
                              case(2, S.INVITING, entered_hours_ago=30),
                              case(3, S.REVOKING, entered_hours_ago=3, invited_hours_ago=40)]).to_dict())
    lines = {number: next(line for line in view.split("\\n") if f"#{number} Customer {number}" in line)
             for number in (1, 2, 3)}
    assert "up to a team lead, in Slack" in lines[1]
    assert "up to staff, in the Sinch dashboard" in lines[2] and "up to staff, in the Sinch dashboard" in lines[3]
