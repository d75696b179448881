"""The ack benchmark's scene: a fake Slack with the requesters and the lead, and cases awaiting approval whose
approval requests (with their buttons) are posted in it."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bench.ack_client import CHANNEL, LEAD, REQUESTERS
from bot import workflow
from bot.background.outbox import OutboxDispatcher
from bot.slack.ids import ActionId
from devslack import FakeMessage, FakeSlackState, RunningFakeSlack, start_fake_slack
from devslack.blockkit import find_element
from store.db import make_engine, migrate, session_scope
from store.models import utcnow

__all__ = ["fake_slack", "seed_approval_requests"]


def fake_slack() -> RunningFakeSlack:
    state = FakeSlackState()
    for user in (*REQUESTERS, LEAD):
        state.add_user(user, user.lower())
    state.add_usergroup("S0LEADS", [LEAD])
    return start_fake_slack(state=state, threads=32)


def seed_approval_requests(db_url: str, slack: RunningFakeSlack, count: int) -> list[FakeMessage]:
    """`count` cases awaiting approval, their card and approval request posted (with buttons) in the fake."""
    engine = make_engine(db_url)
    migrate(engine)
    now = utcnow()
    for index in range(count):
        intake = workflow.parse_intake({
            "customer_name": f"Ack Customer {index}", "contact_email": f"owner{index}@ack.test", "region": "eu",
            "page": f"https://www.facebook.com/ackcustomer{index}", "page_type": "business",
            "prerequisites": ["business_verified", "page_admin", "chat_button"], "notes": ""})
        with session_scope(engine) as session:
            workflow.submit_intake(session=session, intake=intake, requester_id=REQUESTERS[index % len(REQUESTERS)],
                                   channel=CHANNEL, now=now)
    _refresh_statistics(engine)
    client = WebClient(token=slack.state.bot_token, base_url=slack.url)
    outbox = OutboxDispatcher(engine=engine, client=client, approvers=(LEAD, "S0LEADS"), clock=utcnow,
                              post_interval=0)
    while outbox.deliver_due():
        pass
    engine.dispose()
    requests = [m for m in slack.state.messages(CHANNEL) if find_element(m.blocks, ActionId.APPROVE) is not None]
    if len(requests) != count:
        raise RuntimeError(f"seeded {count} cases but found {len(requests)} approval requests")
    return requests


def _refresh_statistics(engine: Engine) -> None:
    """Let PostgreSQL's planner see the rows just written, as autovacuum would within a minute or so.

    The tables were created empty moments ago. Planning the outbox's claim (a NOT EXISTS per row) for a table
    it believes nearly empty, PostgreSQL chose a nested loop over a materialised scan: 2.4 s per claim with the
    `full` plan's 5,225 undelivered rows, so seeding never finished.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
