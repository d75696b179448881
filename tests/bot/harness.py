"""A whole bot for tests: the real runtime, a fake Slack on loopback, and the Sinch sandbox in-process.

Requests reach the bot signed exactly as Slack signs them; the bot's Web API calls go over HTTP to the
fake Slack; Sinch calls go through httpx.WSGITransport to the sandbox. Nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from slack_bolt import BoltResponse
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.slack.ids import ActionId
from devslack import FakeMessage, FakeSlackState, SlackUserSimulator, start_fake_slack
from sinch.sandbox import SandboxControl, make_app
from store.models import AuditEvent, Onboarding, OutboxMessage
from store.secrets import generate_key

SIGNING_SECRET = "test-signing-secret-0123456789"
CHANNEL = "C0ONBOARD"
REQUESTER, LEAD, GROUP_LEAD, STAFF, OUTSIDER = "U0REQ", "U0LEAD", "U0GROUPLEAD", "U0STAFF", "U0OTHER"
SANDBOX = "http://sandbox.test"

VALID_FORM: dict[str, Any] = {
    "customer_name": "Acme Bikes",
    "contact_email": "owner@acme.test",
    "region": "eu",
    "page": "https://www.facebook.com/acmebikes",
    "page_type": "business",
    "prerequisites": ["business_verified", "page_admin", "chat_button"],
    "notes": "",
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def run_now(work: Callable[[], None]) -> None:
    """Work a listener starts after its commit runs at once, so a test sees its outcome on return."""
    work()


class BotHarness:
    def __init__(self, tmp_path: Any, *, database_url: str, wrap_sandbox: Callable[[Any], Any] | None = None,
                 run_later: Callable[[Callable[[], None]], None] | None = run_now, **env: str) -> None:
        """`database_url` is a fresh database (the `database_url` fixture); `wrap_sandbox` puts a WSGI
        middleware (e.g. one that measures requests) in front of the sandbox; `run_later` runs what a
        listener starts after its answer (at once, unless a test keeps it for later; None: the bot's own pools)."""
        self.run_later = run_later
        self.clock = Clock()
        self.slack_state = FakeSlackState()
        for user, name in [(REQUESTER, "rita"), (LEAD, "lena"), (GROUP_LEAD, "gary"), (STAFF, "sam"),
                           (OUTSIDER, "otto")]:
            self.slack_state.add_user(user, name)
        self.slack_state.add_usergroup("S0LEADS", [GROUP_LEAD])
        self.slack = start_fake_slack(state=self.slack_state)
        self.sandbox_app = make_app(clock=self._sandbox_time)
        self.sandbox_time = 1_764_061_200.0
        transport = httpx.WSGITransport(app=wrap_sandbox(self.sandbox_app) if wrap_sandbox else self.sandbox_app)
        self.sandbox_transport = transport
        self.sandbox = SandboxControl(httpx.Client(transport=transport), SANDBOX)
        settings_env = {
            "SLACK_BOT_TOKEN": self.slack_state.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.url,
            "ONBOARDING_CHANNEL": CHANNEL,
            "APPROVERS": f"{LEAD},S0LEADS",
            "BOT_SECRET_KEY": generate_key(),
            "DATABASE_URL": database_url,
            "SINCH_AUTH_URL": SANDBOX,
            "SINCH_CONVERSATION_URL": f"{SANDBOX}/conversation/{{region}}",
            "SINCH_PROVISIONING_URL": f"{SANDBOX}/provisioning",
            # Tests open many onboardings as one person within one (frozen) hour; the hourly limit has its
            # own tests (tests/security/test_flood.py), which set it.
            "INTAKE_LIMIT_PER_HOUR": "0",
            "SINCH_SUBPROJECTS_URL": f"{SANDBOX}/subprojects",
            **env,
        }
        self.settings = Settings.from_env(settings_env)
        self.runtime: Runtime = build_runtime(self.settings, clock=self.clock, sinch_transport=transport,
                                              post_interval=0, run_later=run_later)
        self.app = self.runtime.app
        self.deps = self.runtime.deps
        self.sim = SlackUserSimulator(self.slack_state, signing_secret=SIGNING_SECRET,
                                      response_base_url=self.slack.base_url)

    def _sandbox_time(self) -> float:
        return self.sandbox_time

    def close(self) -> None:
        self.runtime.shutdown()
        self.slack.stop()

    def restart(self) -> None:
        """Stop the bot and build a new one on the same database, Slack and sandbox: a process restart."""
        self.runtime.shutdown()
        self.runtime = build_runtime(self.settings, clock=self.clock, sinch_transport=self.sandbox_transport,
                                     post_interval=0, run_later=self.run_later)
        self.app = self.runtime.app
        self.deps = self.runtime.deps

    # -- driving ---------------------------------------------------------------------------------

    def send(self, request: Any) -> BoltResponse:
        response = self.sim.dispatch(self.app, request)
        self.deliver()
        return response

    def deliver(self) -> int:
        return self.deps.outbox.deliver_due()

    def open_intake(self, user: str = REQUESTER) -> str:
        response = self.send(self.sim.slash_command(user, text="", channel_id=CHANNEL))
        assert response.status == 200
        view = self.slack_state.last_view_for(user)
        assert view is not None
        return str(view.view_id)

    def submit_intake(self, user: str = REQUESTER, **overrides: Any) -> BoltResponse:
        view_id = self.open_intake(user)
        return self.send(self.sim.submit_view(user, view_id=view_id, values={**VALID_FORM, **overrides}))

    def click(self, user: str, action: ActionId, *, message: FakeMessage | None = None) -> BoltResponse:
        target = message or self.message_with(action)
        return self.send(self.sim.click(user, message=target, action_id=action))

    def submit_modal(self, user: str, values: dict[str, Any]) -> BoltResponse:
        view = self.slack_state.last_view_for(user)
        assert view is not None
        return self.send(self.sim.submit_view(user, view_id=view.view_id, values=values))

    # -- observing -------------------------------------------------------------------------------

    def case(self, case_id: int = 1) -> Onboarding:
        with Session(self.deps.engine) as session:
            case = session.get(Onboarding, case_id)
        assert case is not None
        return case

    def events(self, case_id: int = 1) -> list[AuditEvent]:
        with Session(self.deps.engine) as session:
            return list(session.exec(select(AuditEvent).where(AuditEvent.onboarding_id == case_id)
                                     .order_by(col(AuditEvent.id))))

    def outbox(self) -> list[OutboxMessage]:
        with Session(self.deps.engine) as session:
            return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))

    def thread(self, case_id: int = 1) -> list[FakeMessage]:
        case = self.case(case_id)
        assert case.thread_ts is not None
        return self.slack_state.thread(CHANNEL, case.thread_ts)

    def message_with(self, action: ActionId, case_id: int = 1) -> FakeMessage:
        """The latest message in the case's thread that carries this button."""
        for message in reversed(self.thread(case_id)):
            if action.value in json.dumps(message.blocks or []):
                return message
        raise AssertionError(f"no message with {action} in the thread")

    def ephemerals(self, user: str) -> list[str]:
        return [e.text for e in self.slack_state.ephemerals_for(user)]

    def thread_texts(self, case_id: int = 1) -> list[str]:
        return [json.dumps(m.blocks) + m.text for m in self.thread(case_id)]
