"""`python -m bot demo`: one onboarding end to end with no credentials and no network.

The Sinch sandbox and the Slack stand-in run in this process on loopback ports; the bot itself is the
real thing — its HTTP endpoint (signed requests) or, with --socket-mode, its Socket Mode connection to the
stand-in's WebSocket endpoint; listeners, workflow, outbox and scheduler jobs — with timers shortened from
minutes to seconds. People's clicks are played by the Slack user simulator.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx

from bot.config import Settings
from bot.runtime import Runtime, build_runtime, make_wsgi_app
from bot.slack.ids import ActionId
from bot.slack.socket_mode import SocketModeConnector
from bot.workflow.reviews import post_now
from devslack import (
    FakeMessage,
    FakeSlackState,
    FakeView,
    SignedRequest,
    SlackUserSimulator,
    render_thread,
    start_fake_slack,
)
from devslack.server import BackgroundServer
from sinch.sandbox import SandboxControl, start_in_thread
from store import repo
from store.db import session_scope
from store.models import Onboarding
from store.secrets import generate_key
from store.states import OnboardingState

__all__ = ["run_demo"]

S = OnboardingState
CHANNEL = "C0DEMO"
SIGNING_SECRET = "demo-signing-secret"
REQUESTER, LEAD, STAFF = "U0RITA", "U0LENA", "U0SAM"
TIMEOUT_PER_STEP = 20.0
FORM: dict[str, Any] = {
    "customer_name": "Acme Bikes",
    "contact_email": "owner@acme-bikes.example",
    "region": "eu",
    "page": "https://www.facebook.com/acmebikes",
    "page_type": "business",
    "prerequisites": ["business_verified", "page_admin", "chat_button"],
    "notes": "Demo customer",
}
# The third story: another customer wants Messenger and Instagram, with one invitation and one removal.
BOTH_FORM: dict[str, Any] = {
    **FORM, "customer_name": "Northwind Cycles", "contact_email": "owner@northwind.example",
    "page": "https://www.facebook.com/northwindcycles", "channels": "messenger_instagram",
    "instagram_username": "@northwind.cycles",
    "prerequisites": ["business_verified", "page_admin", "chat_button", "ig_professional", "ig_page_linked",
                      "ig_messages_access"],
}


class DemoFailed(Exception):
    """A step did not happen in time."""


class Demo:
    def __init__(self, database_url: str, out: IO[str], *, socket_mode: bool = False) -> None:
        self.out = out
        self.started = time.monotonic()
        self.following = 0  # which of the demo's onboardings the story follows: the first, then the second Page
        self.slack_state = FakeSlackState()
        for user, name in [(REQUESTER, "rita"), (LEAD, "lena"), (STAFF, "sam")]:
            self.slack_state.add_user(user, name)
        self.slack_state.add_channel(CHANNEL, name="messenger-onboarding")
        self.slack = start_fake_slack(state=self.slack_state, socket_mode=socket_mode)
        self.sandbox = start_in_thread()
        self.control = SandboxControl(httpx.Client(timeout=10.0), self.sandbox.url)
        settings = Settings.from_env({
            "SLACK_BOT_TOKEN": self.slack_state.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": self.slack_state.app_token if socket_mode else "",
            "SLACK_API_URL": self.slack.url,
            "ONBOARDING_CHANNEL": CHANNEL,
            "APPROVERS": LEAD,
            "BOT_SECRET_KEY": generate_key(),
            "DATABASE_URL": database_url,
            "SINCH_AUTH_URL": self.sandbox.url,
            "SINCH_CONVERSATION_URL": f"{self.sandbox.url}/conversation/{{region}}",
            "SINCH_PROVISIONING_URL": f"{self.sandbox.url}/provisioning",
            # Minutes become seconds so the whole runbook fits in the demo.
            "SWEEP_INTERVAL": "1s",
            "POLL_FAST_INTERVAL": "1s",
        })
        self.runtime: Runtime = build_runtime(settings, post_interval=0.1)
        # On a database given with --database-url the demo's case is the first one it creates, not #1.
        self.cases_before = self._demo_case_ids()
        self.server: BackgroundServer | None = None
        self.connector: SocketModeConnector | None = None
        events_url = None
        if socket_mode:
            # Loopback only: a developer's proxy variables must not route the demo's WebSocket elsewhere.
            self.connector = SocketModeConnector(self.runtime.app, settings.slack_app_token.reveal(), proxy=None)
            self.connector.start()
            self.runtime.connector = self.connector
        else:
            self.server = BackgroundServer(make_wsgi_app(self.runtime.app), name="demo-bot")
            events_url = f"{self.server.base_url}/slack/events"
        self.runtime.start_background()
        self.sim = SlackUserSimulator(self.slack_state, signing_secret=SIGNING_SECRET, events_url=events_url,
                                      response_base_url=self.slack.base_url)
        self.review_ts: str | None = None  # the access review the story ends with

    def close(self) -> None:
        if self.connector is not None:
            self.connector.drain(timeout=5)
        self.runtime.shutdown()
        if self.connector is not None:
            self.connector.close()
        if self.server is not None:
            self.server.stop()
        self.slack.stop()
        self.sandbox.stop()

    def send(self, request: SignedRequest) -> None:
        """As Slack would: over the WebSocket in Socket Mode, else a signed POST to /slack/events."""
        if self.slack.socket_mode is not None:
            self.sim.deliver(self.slack.socket_mode, request)
        else:
            self.sim.send(request)

    # -- narration and waiting -------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:5.1f}s] {text}\n")
        self.out.flush()

    def _demo_case_ids(self) -> list[int]:
        with session_scope(self.runtime.deps.engine) as session:
            cases = [case for name in (FORM["customer_name"], BOTH_FORM["customer_name"])
                     for case in repo.find_by_name(session=session, text=name, open_only=False)]
            return sorted({case.id for case in cases if case.id is not None})

    def case(self) -> Onboarding | None:
        new = [case_id for case_id in self._demo_case_ids() if case_id not in self.cases_before]
        if len(new) <= self.following:
            return None
        with session_scope(self.runtime.deps.engine) as session:
            return repo.get_onboarding(session=session, onboarding_id=new[self.following])

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        """Wait (with a visible heartbeat) until `condition` holds."""
        deadline = time.monotonic() + TIMEOUT_PER_STEP
        waited = 0
        while not condition():
            if time.monotonic() > deadline:
                raise DemoFailed(f"not reached within {TIMEOUT_PER_STEP:.0f}s: {what}")
            time.sleep(0.1)
            waited += 1
            if waited % 10 == 0:
                self.say(f"   … still waiting: {what}")
        self.say(f"   ✓ {what}")

    def in_state(self, *states: OnboardingState) -> Callable[[], bool]:
        return lambda: (case := self.case()) is not None and case.state in states

    def button(self, action: ActionId) -> Callable[[], FakeMessage | None]:
        def find() -> FakeMessage | None:
            case = self.case()
            if case is None or case.thread_ts is None:
                return None
            for message in reversed(self.slack_state.thread(CHANNEL, case.thread_ts)):
                if action.value in str(message.blocks):
                    return message
            return None
        return find

    def modal_for(self, user: str, what: str) -> FakeView:
        self.wait_for(what, lambda: self.slack_state.last_view_for(user, open_only=True) is not None)
        view = self.slack_state.last_view_for(user, open_only=True)
        if view is None:
            raise DemoFailed(f"the form closed again: {what}")
        return view

    def press(self, user: str, action: ActionId, label: str) -> None:
        find = self.button(action)
        self.wait_for(f"“{label}” button posted", lambda: find() is not None)
        message = find()
        assert message is not None
        self.say(f"@{self.slack_state.users[user]['name']} presses “{label}”")
        self.send(self.sim.click(user, message=message, action_id=action))

    # -- the story -------------------------------------------------------------------------------

    def run(self) -> bool:
        self.say("@rita types /onboard in #messenger-onboarding and fills the form for Acme Bikes (EU)")
        self.send(self.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
        view = self.modal_for(REQUESTER, "the intake form is open")
        self.send(self.sim.submit_view(REQUESTER, view_id=view.view_id, values=FORM))
        self.wait_for("status card posted, approval requested", self.in_state(S.AWAITING_APPROVAL))

        self.press(LEAD, ActionId.APPROVE, "Approve")
        self.wait_for("approval recorded", self.in_state(S.CREATING_PROJECT))

        self.say("@sam creates the project and an access key in the Sinch dashboard (the sandbox's stand-in)")
        creds = self.control.create_project("Acme Bikes", "eu")
        self.press(STAFF, ActionId.REGISTER_PROJECT, "Register project")
        modal = self.modal_for(STAFF, "the register-project form is open")
        self.say("@sam pastes the project id, key id and key secret; the bot checks the key with Sinch")
        self.send(self.sim.submit_view(STAFF, view_id=modal.view_id, values={
            "project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}))
        self.wait_for("key verified, Conversation API app created in EU", self.in_state(S.INVITING))

        self.press(STAFF, ActionId.INVITATION_SENT, "Invitation sent")
        self.wait_for("invitation recorded, polling the Messenger channel", self.in_state(S.AWAITING_CUSTOMER))

        case = self.case()
        assert case is not None and case.app_id and case.project_id
        self.say("the customer logs in and connects their Facebook Page (Sinch validates it for 3 s)")
        self.control.connect_page(case.project_id, case.app_id, page_name="Acme Bikes", delay_seconds=3)
        self.wait_for("channel PENDING (activating)", self.in_state(S.ACTIVATING, S.REVOKING))
        self.wait_for("channel ACTIVE, access removal requested", self.in_state(S.REVOKING))

        self.press(STAFF, ActionId.ACCESS_REMOVED, "Access removed")
        self.wait_for("onboarding completed, key secret erased", self.in_state(S.COMPLETED))
        first = self.case()
        assert first is not None and first.id is not None
        self.second_page(first.id, creds.project_id)
        self.both_channels()
        self.review_ts = access_review_ending(self)
        self.wait_for("every Slack message delivered", lambda: not self.runtime.deps.outbox.pending())
        return True

    def both_channels(self) -> None:
        """Northwind Cycles wants Messenger and Instagram: one project, one app, one invitation, one removal."""
        self.following = 2
        self.say("@rita opens /onboard for Northwind Cycles and chooses “Messenger and Instagram” (@northwind.cycles)")
        self.send(self.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
        view = self.modal_for(REQUESTER, "the intake form is open")
        self.send(self.sim.submit_view(REQUESTER, view_id=view.view_id, values=BOTH_FORM))
        self.wait_for("two-channel card posted, approval requested", self.in_state(S.AWAITING_APPROVAL))
        self.press(LEAD, ActionId.APPROVE, "Approve")
        creds = self.control.create_project("Northwind Cycles", "eu")
        self.press(STAFF, ActionId.REGISTER_PROJECT, "Register project")
        modal = self.modal_for(STAFF, "the register-project form is open")
        self.send(self.sim.submit_view(STAFF, view_id=modal.view_id, values={
            "project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}))
        self.wait_for("one app for both channels created in EU", self.in_state(S.INVITING))
        self.press(STAFF, ActionId.INVITATION_SENT, "Invitation sent")
        self.wait_for("one invitation recorded, polling both channels", self.in_state(S.AWAITING_CUSTOMER))
        case = self.case()
        assert case is not None and case.app_id and case.project_id
        self.say("the customer connects their Page first (Sinch validates it for 1 s)")
        self.control.connect_page(case.project_id, case.app_id, page_name="Northwind Cycles", delay_seconds=1)
        self.wait_for("Messenger ACTIVE, Instagram still missing: the customer keeps access",
                      lambda: (c := self.case()) is not None and c.channel_status == "ACTIVE")
        self.say("then their Instagram account @northwind.cycles")
        self.control.connect_instagram(case.project_id, case.app_id, username="northwind.cycles", delay_seconds=1)
        self.wait_for("both channels ACTIVE, one access removal requested", self.in_state(S.REVOKING))
        self.press(STAFF, ActionId.ACCESS_REMOVED, "Access removed")
        self.wait_for("Messenger and Instagram onboarding completed", self.in_state(S.COMPLETED))

    def second_page(self, first_id: int, project_id: str) -> None:
        """Acme Bikes has a second Facebook Page: same project, a new key, a new app."""
        self.say(f"@rita types /onboard existing #{first_id}: a second Facebook Page for Acme Bikes, in their project")
        self.send(self.sim.slash_command(REQUESTER, text=f"existing #{first_id}", channel_id=CHANNEL))
        view = self.modal_for(REQUESTER, "the second-Page form is open")
        self.send(self.sim.submit_view(REQUESTER, view_id=view.view_id, values={
            "existing": str(first_id), "contact_email": FORM["contact_email"],
            "page": "https://www.facebook.com/acmebikesshop",
            "page_type": "business", "prerequisites": ["business_verified", "page_admin"], "notes": ""}))
        self.following = 1
        self.wait_for("second-Page card posted, approval requested", self.in_state(S.AWAITING_APPROVAL))
        self.press(LEAD, ActionId.APPROVE, "Approve")
        self.say("@sam creates a new access key in Acme Bikes' project (the first one was erased)")
        creds = self.control.create_key(project_id, "eu")
        self.press(STAFF, ActionId.REGISTER_PROJECT, "Register project")
        modal = self.modal_for(STAFF, "the register-project form is open, project id filled in")
        self.send(self.sim.submit_view(STAFF, view_id=modal.view_id, values={
            "project_id": project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}))
        self.wait_for("same project, only our apps in it: second app created in EU", self.in_state(S.INVITING))
        self.press(STAFF, ActionId.INVITATION_SENT, "Invitation sent")
        self.wait_for("invitation recorded", self.in_state(S.AWAITING_CUSTOMER))
        case = self.case()
        assert case is not None and case.app_id
        self.say("the customer connects their second Page")
        self.control.connect_page(project_id, case.app_id, page_id="100200300400501", page_name="Acme Bikes Shop",
                                  delay_seconds=1)
        self.wait_for("second channel ACTIVE, access removal requested", self.in_state(S.REVOKING))
        self.press(STAFF, ActionId.ACCESS_REMOVED, "Access removed")
        self.wait_for("second-Page onboarding completed", self.in_state(S.COMPLETED))

    def transcript(self) -> str:
        threads = []
        for case_id in [case_id for case_id in self._demo_case_ids() if case_id not in self.cases_before]:
            with session_scope(self.runtime.deps.engine) as session:
                case = repo.get_onboarding(session=session, onboarding_id=case_id)
            if case is not None and case.thread_ts is not None:
                threads.append(render_thread(self.slack_state, CHANNEL, case.thread_ts))
        if self.review_ts is not None:
            threads.append(render_thread(self.slack_state, CHANNEL, self.review_ts))
        return "\n\n".join(thread for thread in threads if thread) or "(no thread was posted)"


def _review_message(demo: Demo) -> FakeMessage | None:
    found = [m for m in demo.slack_state.messages(CHANNEL, top_level_only=True) if "Access review" in m.text]
    return found[-1] if found else None


def access_review_ending(demo: Demo) -> str:
    """The story's end: an access review posted at once (as `review --post-now` does), and the lead signs it off.
    Returns the review message's ts, for the transcript."""
    demo.say("an operator runs `python -m bot review --post-now`: the weekly access review, ahead of schedule")
    deps = demo.runtime.deps
    with session_scope(deps.engine) as session:
        post_now(session=session, schedule=deps.settings.access_review, now=deps.clock(), channel=CHANNEL)
    demo.wait_for("access review posted: who holds access, which removals to sign off",
                  lambda: _review_message(demo) is not None)
    message = _review_message(demo)
    assert message is not None
    demo.say("@lena checks User management in the Sinch dashboard and presses “Checked: no access (all the rest)”")
    demo.send(demo.sim.click(LEAD, message=message, action_id=ActionId.REVIEW_CHECK_ALL))
    demo.wait_for("every removal signed off, shown in place of the buttons",
                  lambda: "Every removal is signed off" in str((_review_message(demo) or message).blocks))
    return message.ts


def run_demo(out: IO[str] = sys.stdout, *, socket_mode: bool = False, database_url: str | None = None) -> int:
    """Run the demo (over Socket Mode with `socket_mode`); 0 only if the onboarding completed. Without
    `database_url`, on a temporary SQLite file removed afterwards; with one (SQLite or PostgreSQL), the case
    stays there to look at."""
    with tempfile.TemporaryDirectory(prefix="onboarding-demo-") as workdir:
        demo = Demo(database_url or f"sqlite:///{Path(workdir) / 'demo.db'}", out, socket_mode=socket_mode)
        if socket_mode:
            demo.say("the bot connects to the Slack stand-in over Socket Mode (a WebSocket on loopback)")
        try:
            ok = demo.run()
        except DemoFailed as exc:
            demo.say(f"✗ {exc}")
            ok = False
        finally:
            transcript = demo.transcript()
            case = demo.case()
            demo.close()
        out.write("\n--- the onboarding threads in #messenger-onboarding ---\n")
        out.write(transcript + "\n")
        final = case.state.value if case else "nothing"
        out.write(f"\nResult: onboarding {'completed' if ok else 'did not complete'} (state: {final}) in "
                  f"{time.monotonic() - demo.started:.1f}s\n")
        return 0 if ok and case is not None and case.state == S.COMPLETED else 1
