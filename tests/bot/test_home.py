"""The App Home tab: access holders first, overdue steps, open cases by state, within 100 blocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from slack_sdk.models.views import View

from bot.slack.blocks.home_view import MAX_HOME_BLOCKS, access_holders, home_view
from store.models import Onboarding, PageType, Region
from store.states import OPEN_STATES
from store.states import OnboardingState as S
from tests.bot.harness import REQUESTER, BotHarness

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ONE_DAY = timedelta(days=1)


def case(number: int, state: S, *, entered_hours_ago: float, invited_hours_ago: float | None = None) -> Onboarding:
    return Onboarding(
        id=number, customer_name=f"Customer {number}", customer_key=f"customer {number}",
        contact_email=f"owner{number}@example.test", region=Region.EU, page="Page",
        page_type=PageType.PERSONAL, state=state,
        requester_id="U0REQ", created_at=NOW - timedelta(days=30), updated_at=NOW,
        state_entered_at=NOW - timedelta(hours=entered_hours_ago),
        invited_at=None if invited_hours_ago is None else NOW - timedelta(hours=invited_hours_ago),
        slack_channel="C0ONBOARD", thread_ts=f"1764000000.{number:06d}",
    )


def render(cases: list[Onboarding]) -> View:
    return home_view(cases, NOW, manual_after=ONE_DAY, revoke_after=timedelta(hours=1))


def test_the_home_tab_with_500_open_onboardings_validates_and_fits() -> None:
    states = sorted(OPEN_STATES)
    cases = []
    for number in range(1, 501):
        state = states[number % len(states)]
        invited = number % 48 if state in (S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING, S.REVOKING) else None
        cases.append(case(number, state, entered_hours_ago=number % 72, invited_hours_ago=invited))
    view = render(cases).to_dict()  # slack_sdk.models validates every block and the view here
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    text = json.dumps(view)
    assert "and" in text and "more" in text and "/onboard list" in text


def test_access_holders_come_first_with_due_removals_ahead_oldest_first() -> None:
    cases = [
        case(1, S.AWAITING_CUSTOMER, entered_hours_ago=5, invited_hours_ago=5),
        case(2, S.REVOKING, entered_hours_ago=2, invited_hours_ago=40),
        case(3, S.REVOKING, entered_hours_ago=30, invited_hours_ago=50),
        case(4, S.ACTIVATING, entered_hours_ago=1, invited_hours_ago=20),
        case(5, S.CREATING_PROJECT, entered_hours_ago=1),
    ]
    assert [c.id for c in access_holders(cases)] == [3, 2, 4, 1]
    view = render(cases).to_dict()
    texts = [json.dumps(block) for block in view["blocks"]]
    access_index = next(i for i, t in enumerate(texts) if "hold access" in t)
    holders_block = texts[access_index + 1]
    positions = [holders_block.index(f"owner{n}@") for n in (3, 2, 4, 1)]
    assert positions == sorted(positions)
    assert "owner5@" not in holders_block


def test_overdue_steps_are_listed() -> None:
    view = render([case(7, S.INVITING, entered_hours_ago=30), case(8, S.INVITING, entered_hours_ago=2)])
    text = json.dumps(view.to_dict())
    overdue_part = text[text.index("Overdue"):text.index("Open onboardings")]
    assert "#7" in overdue_part and "#8" not in overdue_part


def test_the_empty_home_tab_says_so() -> None:
    view = render([]).to_dict()
    text = json.dumps(view)
    assert "Nobody outside the team has access" in text
    assert "Nothing overdue" in text
    assert "No open onboardings" in text


def test_opening_the_home_tab_publishes_it(bot: BotHarness) -> None:
    bot.submit_intake()
    response = bot.send(bot.sim.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"}))
    assert response.status == 200
    published = bot.slack_state.home_views[REQUESTER]
    assert "Acme Bikes" in json.dumps(published.view)
