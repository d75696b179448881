"""The bot as operators run it: `python -m bot run` (HTTP mode) and `python -m bot sandbox`, on loopback,
driven by requests signed exactly as Slack signs them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from bot.slack.ids import ActionId
from devslack import FakeMessage, FakeSlackState, FakeView, SignedRequest, SlackUserSimulator, start_fake_slack
from sinch.sandbox import SandboxControl
from store.db import make_engine
from store.models import AuditEvent, Onboarding
from store.secrets import generate_key
from store.states import OnboardingState as S
from tests.e2e.processes import start_bot, start_sandbox, stop, wait_until

pytestmark = pytest.mark.e2e

SIGNING_SECRET = "e2e-signing-secret"
CHANNEL = "C0E2E"
REQUESTER, LEAD, STAFF = "U0REQ", "U0LEAD", "U0STAFF"
FORM = {"customer_name": "Acme Bikes", "contact_email": "owner@acme.test", "region": "br",
        "page": "Acme Bikes", "page_type": "personal",
        "prerequisites": ["business_verified", "page_admin", "chat_button"], "notes": ""}
ACK_BUDGET = 1.0  # seconds; Slack allows 3


class Stack:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.slack_state = FakeSlackState()
        for user, name in [(REQUESTER, "rita"), (LEAD, "lena"), (STAFF, "sam")]:
            self.slack_state.add_user(user, name)
        self.slack = start_fake_slack(state=self.slack_state)
        self.sandbox_process, sandbox_url = start_sandbox(tmp_path)
        self.http = httpx.Client(timeout=10)
        self.sandbox = SandboxControl(self.http, sandbox_url)
        self.db_url = database_url
        self.bot_process, bot_url = start_bot(tmp_path, {
            "SLACK_BOT_TOKEN": self.slack_state.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.url, "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": LEAD,
            "BOT_SECRET_KEY": generate_key(), "DATABASE_URL": self.db_url,
            "SINCH_AUTH_URL": sandbox_url, "SINCH_CONVERSATION_URL": f"{sandbox_url}/conversation/{{region}}",
            "SINCH_PROVISIONING_URL": f"{sandbox_url}/provisioning",
            "SWEEP_INTERVAL": "1s", "POLL_FAST_INTERVAL": "1s",
        })
        self.sim = SlackUserSimulator.for_server(self.slack, signing_secret=SIGNING_SECRET,
                                                 events_url=f"{bot_url}/slack/events")
        self.engine = make_engine(self.db_url)
        self.response_times: list[float] = []

    def close(self) -> None:
        self.http.close()
        stop(self.bot_process)
        stop(self.sandbox_process)
        self.engine.dispose()
        self.slack.stop()

    def send(self, request: SignedRequest) -> httpx.Response:
        started = time.perf_counter()
        response = self.sim.send(request)
        self.response_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        return response

    def case(self) -> Onboarding | None:
        with Session(self.engine) as session:
            return session.get(Onboarding, 1)

    def wait_state(self, state: S) -> None:
        wait_until(lambda: (case := self.case()) is not None and case.state == state, what=f"state {state}")

    def thread(self) -> list[FakeMessage]:
        case = self.case()
        assert case is not None and case.thread_ts
        return self.slack_state.thread(CHANNEL, case.thread_ts)

    def click(self, user: str, action: ActionId) -> None:
        def message() -> FakeMessage | None:
            case = self.case()
            if case is None or not case.thread_ts:
                return None
            return next((m for m in reversed(self.slack_state.thread(CHANNEL, case.thread_ts))
                         if action.value in json.dumps(m.blocks)), None)

        wait_until(lambda: message() is not None, what=f"the {action.name} button")
        target = message()
        assert target is not None
        self.send(self.sim.click(user, message=target, action_id=action))

    def modal(self, user: str) -> FakeView:
        wait_until(lambda: self.slack_state.last_view_for(user, open_only=True) is not None, what="a modal")
        view = self.slack_state.last_view_for(user, open_only=True)
        assert view is not None
        return view


@pytest.fixture
def stack(tmp_path: Path, migrated_database_url: str) -> Iterator[Stack]:
    running = Stack(tmp_path, migrated_database_url)
    yield running
    running.close()


def test_a_whole_onboarding_over_http_with_slow_sinch_and_a_rate_limited_slack(stack: Stack) -> None:
    calls_before = len(stack.slack_state.calls)
    stack.send(stack.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
    view = stack.modal(REQUESTER)

    def after_command() -> list[str]:
        return [c.method for c in stack.slack_state.calls[calls_before:] if c.method != "auth.test"]

    # The fake Slack shows the view a moment before it logs the call; wait for the log itself.
    wait_until(lambda: "views.open" in after_command(), what="views.open in the call log")
    assert after_command()[0] == "views.open", "the modal opens before any other Web API call"

    stack.slack_state.add_fault("chat.postMessage", status=429, retry_after=1, count=1)
    stack.send(stack.sim.submit_view(REQUESTER, view_id=view.view_id, values=FORM))
    stack.wait_state(S.AWAITING_APPROVAL)
    stack.click(LEAD, ActionId.APPROVE)
    stack.wait_state(S.CREATING_PROJECT)

    creds = stack.sandbox.create_project("Acme Bikes", "br")
    stack.click(STAFF, ActionId.REGISTER_PROJECT)
    modal = stack.modal(STAFF)
    stack.sandbox.add_fault("/apps$", method="POST", latency_ms=2000, count=1)  # Sinch is slow to create
    stack.send(stack.sim.submit_view(STAFF, view_id=modal.view_id, values={
        "project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}))
    stack.wait_state(S.INVITING)
    apps = stack.sandbox.state()["apps"]
    case = stack.case()
    assert case is not None and case.app_id is not None
    assert [a["id"] for a in apps["br"]] == [case.app_id] and not apps["us"] and not apps["eu"]

    stack.click(STAFF, ActionId.INVITATION_SENT)
    stack.wait_state(S.AWAITING_CUSTOMER)
    stack.sandbox.connect_page(creds.project_id, case.app_id, page_name="Acme Bikes", delay_seconds=0)
    stack.wait_state(S.REVOKING)
    stack.click(STAFF, ActionId.ACCESS_REMOVED)
    stack.wait_state(S.COMPLETED)

    assert max(stack.response_times) < ACK_BUDGET, stack.response_times
    wait_until(lambda: "completed" in stack.thread()[0].text, what="the final status card")
    card, *replies = stack.thread()
    assert "completed" in card.text and creds.project_id in json.dumps(card.blocks)
    wait_until(lambda: len(stack.thread()) >= 13, what="every reply")
    assert [reply.text for reply in stack.thread()[1:]] == [
        "Approval needed for Acme Bikes", "Approved", "Create the customer's project", "Project registered",
        "App created", "Invite the customer as Limited member", "Text to send the customer", "Invitation sent",
        "Messenger channel PENDING", "Messenger channel ACTIVE", "Remove the customer's access", "Access removed",
    ]
    with Session(stack.engine) as session:
        trail = [(e.from_state, e.to_state) for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
                 if e.to_state is not None]
    assert trail == [(None, S.AWAITING_APPROVAL), (S.AWAITING_APPROVAL, S.CREATING_PROJECT),
                     (S.CREATING_PROJECT, S.CREATING_APP), (S.CREATING_APP, S.INVITING),
                     (S.INVITING, S.AWAITING_CUSTOMER), (S.AWAITING_CUSTOMER, S.ACTIVATING),
                     (S.ACTIVATING, S.REVOKING), (S.REVOKING, S.COMPLETED)]
