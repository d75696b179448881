"""The demo's ending: the weekly access review, posted now and signed off by the lead."""

from __future__ import annotations

from collections.abc import Callable

from bot.deps import Deps
from bot.slack.ids import ActionId
from bot.workflow.reviews import post_now
from devslack import FakeMessage, FakeSlackState, SignedRequest, SlackUserSimulator, render_thread
from store.db import session_scope

__all__ = ["ReviewEnding"]


class ReviewEnding:
    """Posts a review as `python -m bot review --post-now` would, and has the lead sign it off."""

    def __init__(self, *, runtime_deps: Deps, slack_state: FakeSlackState, sim: SlackUserSimulator, channel: str,
                 send: Callable[[SignedRequest], None], say: Callable[[str], None],
                 wait_for: Callable[[str, Callable[[], bool]], None]) -> None:
        self.deps = runtime_deps
        self.slack_state, self.sim, self.channel = slack_state, sim, channel
        self.send, self.say, self.wait_for = send, say, wait_for
        self.review_ts: str | None = None

    def _review(self) -> FakeMessage | None:
        found = [m for m in self.slack_state.messages(self.channel, top_level_only=True) if "Access review" in m.text]
        return found[-1] if found else None

    def run(self, lead: str) -> None:
        self.say("an operator runs `python -m bot review --post-now`: the weekly access review, ahead of schedule")
        with session_scope(self.deps.engine) as session:
            post_now(session=session, schedule=self.deps.settings.access_review, now=self.deps.clock(),
                     channel=self.channel)
        self.wait_for("access review posted: who holds access, which removals to sign off",
                      lambda: self._review() is not None)
        message = self._review()
        assert message is not None
        self.review_ts = message.ts
        self.say(f"@{self.slack_state.users[lead]['name']} checks User management in the Sinch dashboard and presses "
                 "“Checked: no access (all the rest)”")
        self.send(self.sim.click(lead, message=message, action_id=ActionId.REVIEW_CHECK_ALL))
        self.wait_for("every removal signed off, shown in place of the buttons", self._signed)

    def _signed(self) -> bool:
        message = self._review()
        return message is not None and "Every removal is signed off" in str(message.blocks)

    def transcript(self) -> str:
        """The review message as it ended up (with its reminders, if any)."""
        if self.review_ts is None:
            return ""
        return render_thread(self.slack_state, self.channel, self.review_ts)
