"""Crash safety at process level: `python -m bot run` is killed with SIGKILL at the worst moments and
restarted on the same database; at the end nothing is lost and nothing is duplicated.

The fake Slack and the Sinch sandbox run in this test process (on loopback ports), so they outlive every
bot process and can be inspected directly. The three kills:

1. right after app creation: Sinch has made the app but its answer has not reached the bot (the sandbox
   holds the response), so the bot has not stored the app id;
2. during a sweep: status reads are in flight (a sandbox latency fault on the status route);
3. after a commit but before the Slack post was recorded: an outbox row is SENDING while the fake Slack
   slowly accepts the post.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bot.background.outbox import METADATA_EVENT
from bot.slack.ids import ActionId
from devslack import BackgroundServer, FakeMessage, FakeSlackState, SlackUserSimulator, start_fake_slack
from sinch.sandbox import SandboxControl, make_app
from store.db import make_engine
from store.secrets import generate_key
from tests.e2e.processes import start_bot, wait_until

pytestmark = pytest.mark.e2e

SIGNING_SECRET = "e2e-crash-signing-secret"
CHANNEL = "C0CRASH"
REQUESTER, LEAD, STAFF = "U0REQ", "U0LEAD", "U0STAFF"
CUSTOMERS = ("Alpha Bikes", "Beta Books", "Gamma Garden")  # onboardings #1, #2, #3
ALPHA, BETA, GAMMA = 1, 2, 3
FAILING_DESCRIPTION = "The Page access token could not be validated"
STATUS_READ = re.compile(r"/apps/[^/]+$")


class SandboxTap:
    """WSGI middleware in front of the sandbox: counts status reads in flight, and can hold the answer to
    an app create after the sandbox has made the app (until the test releases it)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Condition()
        self.reads_in_flight = 0
        self.hold_creates = False
        self.holding = 0

    def release(self) -> None:
        with self.lock:
            self.hold_creates = False
            self.lock.notify_all()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        read = method == "GET" and bool(STATUS_READ.search(path))
        if read:
            with self.lock:
                self.reads_in_flight += 1
        try:
            body = list(self.app(environ, start_response))
        finally:
            if read:
                with self.lock:
                    self.reads_in_flight -= 1
        if method == "POST" and path.endswith("/apps"):
            with self.lock:
                if self.hold_creates:
                    self.holding += 1
                    self.lock.wait_for(lambda: not self.hold_creates, timeout=60)
        return body


class Crashable:
    """The bot as a subprocess that the test kills and restarts, plus views of its database."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.engine = make_engine(env["DATABASE_URL"])
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        self.runs += 1
        self.process, self.url = start_bot(self.tmp_path, self.env, name=f"bot-{self.runs}")

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, "the bot died by itself"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join((self.tmp_path / f"bot-{run}.log").read_text(errors="replace")[-3000:]
                         for run in range(1, self.runs + 1))

    def query(self, sql: str, **params: object) -> list[tuple[Any, ...]]:
        with self.engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []

    def case(self, case_id: int) -> dict[str, Any]:
        rows = self.query("SELECT state, app_id, project_id, thread_ts FROM onboarding WHERE id = :id", id=case_id)
        if not rows:
            return {}
        return dict(zip(("state", "app_id", "project_id", "thread_ts"), rows[0], strict=True))

    def state(self, case_id: int) -> str | None:
        return self.case(case_id).get("state")


class Scene:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.slack_state = FakeSlackState()
        for user, name in [(REQUESTER, "rita"), (LEAD, "lena"), (STAFF, "sam")]:
            self.slack_state.add_user(user, name)
        self.slack = start_fake_slack(state=self.slack_state)
        self.sandbox_app = make_app()
        self.tap = SandboxTap(self.sandbox_app)
        self.sandbox_server = BackgroundServer(self.tap, name="sinch-sandbox")
        self.http = httpx.Client(timeout=10, trust_env=False)
        url = self.sandbox_server.base_url
        self.sandbox = SandboxControl(self.http, url)
        self.bot = Crashable(tmp_path, {
            "SLACK_BOT_TOKEN": self.slack_state.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.url, "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": LEAD,
            "BOT_SECRET_KEY": generate_key(), "DATABASE_URL": database_url,
            "SINCH_AUTH_URL": url, "SINCH_CONVERSATION_URL": f"{url}/conversation/{{region}}",
            "SINCH_PROVISIONING_URL": f"{url}/provisioning", "SINCH_USE_PROVISIONING": "false",
            "SWEEP_INTERVAL": "1s", "POLL_FAST_INTERVAL": "1s", "SLACK_APP_TOKEN": "", "LEASE_TTL": "3s",
            # Slack's pace (1 post a second) is not what this test is about; ~40 posts would take 40 s.
            "SLACK_POST_INTERVAL": "0.05s",
        })
        self.creds: dict[int, Any] = {}

    def close(self) -> None:
        if self.bot.process is not None and self.bot.process.poll() is None:
            self.bot.process.kill()
            self.bot.process.wait(timeout=10)
        self.tap.release()
        self.http.close()
        self.sandbox_server.stop()
        self.slack.stop()
        self.bot.engine.dispose()

    # -- driving the bot through Slack ---------------------------------------------------------------

    def sim(self) -> SlackUserSimulator:
        return SlackUserSimulator.for_server(self.slack, signing_secret=SIGNING_SECRET,
                                             events_url=f"{self.bot.url}/slack/events")

    def send(self, request: Any) -> None:
        response = self.sim().send(request)
        assert response.status_code == 200, response.text

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        try:
            wait_until(condition, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- bot logs ---\n{self.bot.logs()}") from None

    def new_view(self, user: str, before: str | None) -> str:
        def opened() -> str | None:
            view = self.slack_state.last_view_for(user, open_only=True)
            return view.view_id if view is not None and view.view_id != before else None

        self.wait(opened, f"a modal for {user}")
        view_id = opened()
        assert view_id is not None
        return view_id

    def last_view(self, user: str) -> str | None:
        view = self.slack_state.last_view_for(user)
        return view.view_id if view is not None else None

    def thread(self, case_id: int) -> list[FakeMessage]:
        thread_ts = self.bot.case(case_id).get("thread_ts")
        return self.slack_state.thread(CHANNEL, thread_ts) if thread_ts else []

    def button(self, case_id: int, action: ActionId) -> FakeMessage | None:
        return next((m for m in reversed(self.thread(case_id)) if action.value in json.dumps(m.blocks)), None)

    def click(self, user: str, case_id: int, action: ActionId) -> None:
        self.wait(lambda: self.button(case_id, action), f"the {action.name} button of #{case_id}")
        message = self.button(case_id, action)
        assert message is not None
        self.send(self.sim().click(user, message=message, action_id=action))

    def submit_intake(self, name: str) -> None:
        before = self.last_view(REQUESTER)
        self.send(self.sim().slash_command(REQUESTER, text="", channel_id=CHANNEL))
        view_id = self.new_view(REQUESTER, before)
        slug = name.lower().replace(" ", "-")
        self.send(self.sim().submit_view(REQUESTER, view_id=view_id, values={
            "customer_name": name, "contact_email": f"owner@{slug}.test", "region": "eu",
            "page": f"https://www.facebook.com/{slug}", "page_type": "business",
            "prerequisites": ["business_verified", "page_admin", "chat_button"], "notes": ""}))

    def register_project(self, case_id: int) -> None:
        creds = self.creds[case_id] = self.sandbox.create_project(CUSTOMERS[case_id - 1], "eu")
        before = self.last_view(STAFF)
        self.click(STAFF, case_id, ActionId.REGISTER_PROJECT)
        view_id = self.new_view(STAFF, before)
        self.send(self.sim().submit_view(STAFF, view_id=view_id, values={
            "project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}))

    def wait_states(self, expected: dict[int, str], timeout: float = 20.0) -> None:
        self.wait(lambda: all(self.bot.state(case) == state for case, state in expected.items()),
                  f"states {expected}", timeout)

    # -- observing -----------------------------------------------------------------------------------

    def apps_of(self, case_id: int) -> list[str]:
        apps = self.sandbox.state()["apps"]
        project = self.creds[case_id].project_id
        return [app["id"] for region in apps.values() for app in region if app["project_id"] == project]

    def posted_outbox_ids(self) -> list[int]:
        ids = []
        for message in self.slack_state.messages(CHANNEL):
            metadata = message.metadata or {}
            if metadata.get("event_type") == METADATA_EVENT:
                ids.append(int(metadata["event_payload"]["outbox_id"]))
        return ids


@pytest.fixture
def scene(tmp_path: Path, migrated_database_url: str) -> Iterator[Scene]:
    running = Scene(tmp_path, migrated_database_url)
    try:
        yield running
    finally:
        running.close()


def test_sigkill_at_the_worst_moments_loses_nothing_and_duplicates_nothing(scene: Scene) -> None:
    bot = scene.bot
    bot.start()
    for name in CUSTOMERS:
        scene.submit_intake(name)
    for case_id in (ALPHA, BETA, GAMMA):
        scene.click(LEAD, case_id, ActionId.APPROVE)
    for case_id in (ALPHA, BETA):
        scene.register_project(case_id)
        scene.wait_states({case_id: "inviting"})

    # Kill 1: Sinch has created Gamma's app, but its answer is held, so the bot never stored the app id.
    scene.tap.hold_creates = True
    scene.register_project(GAMMA)
    scene.wait(lambda: scene.tap.holding and scene.apps_of(GAMMA), "Sinch to create Gamma's app")
    bot.kill()
    scene.tap.release()
    gamma = bot.case(GAMMA)
    assert (gamma["state"], gamma["app_id"]) == ("creating_app", None)
    # The dead process's claim on the creation ends after LEASE_TTL (3 s here); then a sweep resumes it.

    bot.start()
    scene.wait_states({GAMMA: "inviting"})
    assert bot.case(GAMMA)["app_id"] == scene.apps_of(GAMMA)[0], "the app Sinch made before the crash is reused"
    for case_id in (ALPHA, BETA, GAMMA):
        scene.click(STAFF, case_id, ActionId.INVITATION_SENT)
    scene.wait_states({ALPHA: "awaiting_customer", BETA: "awaiting_customer", GAMMA: "awaiting_customer"})

    # Kill 2: in the middle of a sweep, with status reads in flight.
    scene.sandbox.add_fault(STATUS_READ.pattern, method="GET", latency_ms=3000, count=-1)
    scene.wait(lambda: scene.tap.reads_in_flight > 0, "a sweep reading Sinch")
    bot.kill()
    scene.sandbox.clear_faults()
    scene.wait(lambda: scene.tap.reads_in_flight == 0, "the orphaned reads to finish")

    # Meanwhile the customers connect their Pages.
    for case_id in (ALPHA, GAMMA):
        scene.sandbox.connect_page(scene.creds[case_id].project_id, bot.case(case_id)["app_id"])
    scene.sandbox.connect_page(scene.creds[BETA].project_id, bot.case(BETA)["app_id"], outcome="FAILING",
                               description=FAILING_DESCRIPTION)

    # Kill 3: a change is committed with its outbox rows; Slack is accepting the post, slowly.
    slow_post = scene.slack_state.add_fault("chat.postMessage", error="", retry_after=None, latency_ms=2500)
    bot.start()

    def post_in_flight() -> list[int]:
        if slow_post.count:
            return []
        return [row[0] for row in bot.query("SELECT id FROM outbox WHERE status = 'sending' AND kind = 'reply'")]

    scene.wait(post_in_flight, "a reply to be in flight to Slack")
    in_doubt = post_in_flight()
    bot.kill()
    assert in_doubt and not set(in_doubt) & set(scene.posted_outbox_ids())
    # Slack finishes the post the dead bot sent: the row is "in doubt", but the message exists.
    scene.wait(lambda: set(in_doubt) & set(scene.posted_outbox_ids()), "Slack to finish the orphaned post")

    bot.start()
    scene.wait_states({ALPHA: "revoking", BETA: "failing", GAMMA: "revoking"})
    scene.click(STAFF, ALPHA, ActionId.ACCESS_REMOVED)
    scene.wait_states({ALPHA: "completed"})
    scene.wait(lambda: not bot.query("SELECT id FROM outbox WHERE status != 'delivered'"), "the outbox to drain",
               timeout=30)
    bot.kill()

    # Every case where it should be, with exactly one app each.
    assert {case_id: bot.state(case_id) for case_id in (ALPHA, BETA, GAMMA)} == {
        ALPHA: "completed", BETA: "failing", GAMMA: "revoking"}
    for case_id in (ALPHA, BETA, GAMMA):
        assert scene.apps_of(case_id) == [bot.case(case_id)["app_id"]]

    # Every outbox post is in Slack exactly once: one message per row (its metadata names the row), and no
    # thread repeats itself. The rows left in doubt by kill 3 were recorded, not posted again.
    posted = Counter(scene.posted_outbox_ids())
    assert [row_id for row_id, times in posted.items() if times > 1] == []
    assert all(posted[row_id] == 1 for row_id in in_doubt)
    rows = bot.query("SELECT id, onboarding_id, kind FROM outbox")
    replies_rows = {row_id for row_id, _, kind in rows if kind == "reply"}
    card_posts = {min(row_id for row_id, case, kind in rows if case == case_id and kind == "card")
                  for case_id in (ALPHA, BETA, GAMMA)}  # a case's first card row posts it; later ones update it
    assert set(posted) == replies_rows | card_posts
    assert len(scene.slack_state.messages(CHANNEL, top_level_only=True)) == 3, "one status card per onboarding"
    for case_id in (ALPHA, BETA, GAMMA):
        replies = scene.thread(case_id)[1:]
        contents = Counter(m.text + json.dumps(m.blocks) for m in replies)
        assert [text for text, times in contents.items() if times > 1] == [], f"#{case_id} repeats a post"
        assert len(replies) == len([row for row in rows if row[1] == case_id and row[2] == "reply"])

    def texts(case_id: int) -> list[str]:
        return [m.text for m in scene.thread(case_id)[1:]]

    app_created = [m for m in scene.thread(GAMMA)[1:] if m.text == "App created"]
    assert len(app_created) == 1 and "found" in json.dumps(app_created[0].blocks)
    for case_id, outcome in ((ALPHA, "ACTIVE"), (BETA, "failing"), (GAMMA, "ACTIVE")):
        statuses = [text for text in texts(case_id) if text.startswith("Messenger channel")]
        # PENDING may have been read by a process that was killed before it could say so; never twice.
        assert statuses in (["Messenger channel PENDING", f"Messenger channel {outcome}"],
                            [f"Messenger channel {outcome}"]), statuses
    for case_id in (ALPHA, GAMMA):
        assert texts(case_id).count("Remove the customer's access") == 1
    assert FAILING_DESCRIPTION in json.dumps([m.blocks for m in scene.thread(BETA)])
    assert texts(ALPHA).count("Access removed") == 1
