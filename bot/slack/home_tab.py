"""Publishing the App Home tab."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.blocks.home_view import home_view
from bot.slack.blocks.stage_report import report_blocks
from bot.workflow.stage_report import read_report
from store import repo
from store.db import session_scope

__all__ = ["publish_home"]

HOME_REPORT_DAYS = 30


def publish_home(deps: Deps, client: WebClient, user: str, *, opened: bool = True) -> None:
    """Publish the user's Home tab; `opened` when they looked at it (not for a scheduled refresh)."""
    now = deps.clock()
    with session_scope(deps.engine) as session:
        cases = repo.list_open(session=session)
        stages = report_blocks(read_report(session=session, now=now, days=HOME_REPORT_DAYS))
    timers = deps.settings.timers
    view = home_view(cases, now, manual_after=timers.manual_step_reminder_after,
                     revoke_after=timers.revoke_reminders[0] if timers.revoke_reminders else timedelta(hours=1),
                     stages=stages)
    client.views_publish(user_id=user, view=view)
    if opened:
        deps.home_viewers.opened(user, now)
