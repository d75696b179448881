"""The access review's sign-off buttons: record the sign-off, then re-render the review off the request."""

from __future__ import annotations

import functools

from slack_sdk import WebClient

from bot.background.reviews import deliver_reviews
from bot.deps import Deps
from bot.flows.transaction import actor, attempts
from bot.slack.payloads import ReviewPress
from bot.workflow.reviews import sign_off

__all__ = ["sign"]


def sign(deps: Deps, press: ReviewPress, client: WebClient, *, outcome: str, every: bool) -> None:
    """Sign the pressed line (or, `every`, each line not yet signed) with `outcome`."""
    who = actor(deps, press.user_id)
    for attempt in attempts(deps):
        with attempt as session:
            sign_off(session=session, review_id=press.review_id, item_id=None if every else press.item_id,
                     outcome=outcome, actor=who, now=deps.clock())
    # The sign-off is committed; the message shows it once the re-render goes out (or the next sweep sends it).
    deps.run_later(functools.partial(_deliver, deps, client))


def _deliver(deps: Deps, client: WebClient) -> None:
    deliver_reviews(engine=deps.engine, client=client, approvers=deps.approvers.mentions, now=deps.clock(),
                    owner=deps.worker_id, lease_ttl=deps.settings.lease_ttl)
