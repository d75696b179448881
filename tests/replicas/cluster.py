"""Several real `python -m bot run` processes (HTTP mode) on one database, behind a round-robin "load balancer",
with the fake Slack and the Sinch sandbox served from the test process so they outlive every bot process.

A request goes to the next process in turn; when that one is down (connection refused or reset, or no
answer) it goes to the next, as a load balancer with health checks would. A process can be SIGKILLed and
started again at any moment.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.background.outbox import METADATA_EVENT
from bot.slack.ids import ActionId
from devslack import BackgroundServer, FakeMessage, FakeSlackState, SlackUserSimulator, loopback, start_fake_slack
from sinch.sandbox import SandboxControl, make_app
from store.db import make_engine
from store.secrets import generate_key
from tests.e2e.processes import start_bot

SIGNING_SECRET = "replicas-signing-secret"
CHANNEL = "C0REPLICAS"
LEAD = "U0LEAD"
POLL_EVERY = 0.2  # seconds between two looks at the database or the fake Slack while waiting


class Replica:
    """One slot behind the load balancer: the bot process currently serving it, if any."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.runs = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_names(self) -> list[str]:
        return [f"bot-{self.index}-{run}" for run in range(1, self.runs + 1)]


class Cluster:
    def __init__(self, tmp_path: Path, database_url: str, *, replicas: int, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.slack_state = FakeSlackState()
        self.slack_state.add_user(LEAD, "lena")
        self.slack = start_fake_slack(state=self.slack_state)
        self.sandbox_server = BackgroundServer(make_app(), name="sinch-sandbox", threads=16)
        self.http = httpx.Client(timeout=10, trust_env=False)
        url = self.sandbox_server.base_url
        self.sandbox = SandboxControl(self.http, url)
        self.env = {
            "SLACK_BOT_TOKEN": self.slack_state.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.url, "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": LEAD,
            "BOT_SECRET_KEY": generate_key(), "DATABASE_URL": database_url,
            "SINCH_AUTH_URL": url, "SINCH_CONVERSATION_URL": f"{url}/conversation/{{region}}",
            "SINCH_PROVISIONING_URL": f"{url}/provisioning", "SINCH_USE_PROVISIONING": "false",
            "SLACK_APP_TOKEN": "", **env,
        }
        self.engine: Engine = make_engine(database_url)
        self.replicas = [Replica(index) for index in range(replicas)]
        self._next = 0
        self._lock = threading.Lock()
        self.sim = SlackUserSimulator.for_server(self.slack, signing_secret=SIGNING_SECRET)
        self.kills = 0
        self.failovers = 0

    # -- processes -----------------------------------------------------------------------------------

    def start(self, replica: Replica) -> None:
        replica.runs += 1
        replica.process, replica.url = start_bot(self.tmp_path, self.env, name=f"bot-{replica.index}-{replica.runs}")

    def start_all(self) -> None:
        """Start every replica at once (each takes a second or more to import and migrate-check)."""
        with ThreadPoolExecutor(max_workers=len(self.replicas)) as starting:
            list(starting.map(self.start, self.replicas))

    def kill(self, replica: Replica) -> None:
        assert replica.process is not None and replica.process.poll() is None, "a bot died by itself"
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=10)
        self.kills += 1

    def close(self) -> None:
        for replica in self.replicas:
            if replica.alive:
                assert replica.process is not None
                replica.process.kill()
                replica.process.wait(timeout=10)
        self.engine.dispose()
        self.http.close()
        self.sandbox_server.stop()
        self.slack.stop()

    def logs(self) -> str:
        return "\n".join((self.tmp_path / f"{name}.log").read_text(errors="replace")
                         for replica in self.replicas for name in replica.log_names())

    def count_in_logs(self, pattern: str) -> int:
        return len(re.findall(pattern, self.logs()))

    # -- the load balancer ---------------------------------------------------------------------------

    def send(self, request: Any, *, to: Replica | None = None) -> httpx.Response:
        """Deliver a signed request to one process (round robin, or `to`), failing over while one is down."""
        deadline = time.monotonic() + 30
        while True:
            replica = to or self._pick()
            if replica.alive:
                try:
                    response = loopback.post(f"{replica.url}/slack/events", content=request.body.encode(),
                                             headers=request.headers, timeout=10)
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code < 500:
                    self.sim.apply_response(request, response.status_code, response.text)
                    return response
            if to is not None or time.monotonic() > deadline:
                raise AssertionError(f"no process answered {request.kind}")
            with self._lock:
                self.failovers += 1
            time.sleep(0.05)

    def _pick(self) -> Replica:
        with self._lock:
            replica = self.replicas[self._next % len(self.replicas)]
            self._next += 1
        return replica

    # -- the database --------------------------------------------------------------------------------

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def case_id(self, customer: str) -> int | None:
        rows = self.query("SELECT id FROM onboarding WHERE customer_name = :name", name=customer)
        return int(rows[0][0]) if rows else None

    def case(self, case_id: int) -> dict[str, Any]:
        rows = self.query("SELECT state, app_id, project_id, thread_ts FROM onboarding WHERE id = :id", id=case_id)
        return dict(rows[0]._mapping) if rows else {}

    def state(self, case_id: int) -> str | None:
        return self.case(case_id).get("state")

    # -- Slack ---------------------------------------------------------------------------------------

    def thread(self, case_id: int) -> list[FakeMessage]:
        thread_ts = self.case(case_id).get("thread_ts")
        return self.slack_state.thread(CHANNEL, thread_ts) if thread_ts else []

    def button(self, case_id: int, action: ActionId) -> FakeMessage | None:
        return next((m for m in reversed(self.thread(case_id)) if action.value in json.dumps(m.blocks)), None)

    def posted_outbox_ids(self) -> Counter[int]:
        ids: Counter[int] = Counter()
        for message in self.slack_state.messages(CHANNEL):
            metadata = message.metadata or {}
            if metadata.get("event_type") == METADATA_EVENT:
                ids[int(metadata["event_payload"]["outbox_id"])] += 1
        return ids

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
        """Poll `condition` until it holds. Gently: twenty people waiting at once share this process (and its
        GIL) with the fake Slack, whose timestamps the pacing check reads."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n"
                                     f"--- last bot logs ---\n{self.logs()[-6000:]}")
            time.sleep(POLL_EVERY)

    def click(self, user: str, case_id: int, action: ActionId, *, to: Replica | None = None) -> httpx.Response:
        self.wait(lambda: self.button(case_id, action), f"the {action.name} button of #{case_id}")
        message = self.button(case_id, action)
        assert message is not None
        return self.send(self.sim.click(user, message=message, action_id=action), to=to)

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

    def submit_intake(self, requester: str, name: str) -> int:
        before = self.last_view(requester)
        self.send(self.sim.slash_command(requester, text="", channel_id=CHANNEL))
        view_id = self.new_view(requester, before)
        slug = name.lower().replace(" ", "-").replace("_", "-")
        self.send(self.sim.submit_view(requester, view_id=view_id, values={
            "customer_name": name, "contact_email": f"owner@{slug}.test", "region": "eu",
            "page": f"https://www.facebook.com/{slug}", "page_type": "business",
            "prerequisites": ["business_verified", "page_admin", "chat_button"], "notes": ""}))
        self.wait(lambda: self.case_id(name), f"the case of {name}")
        case_id = self.case_id(name)
        assert case_id is not None
        return case_id

    def register_project(self, staff: str, case_id: int, creds: Any, *, to: Replica | None = None) -> httpx.Response:
        before = self.last_view(staff)
        self.click(staff, case_id, ActionId.REGISTER_PROJECT)
        view_id = self.new_view(staff, before)
        return self.send(self.sim.submit_view(staff, view_id=view_id, values={
            "project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}), to=to)

    def apps_of(self, project_id: str) -> list[str]:
        apps = self.sandbox.state()["apps"]
        return [app["id"] for region in apps.values() for app in region if app["project_id"] == project_id]


@contextmanager
def running_cluster(tmp_path: Path, database_url: str, *, replicas: int, env: dict[str, str],
                    users: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A Cluster with every replica started (and the Slack users it needs), stopped afterwards."""
    cluster = Cluster(tmp_path, database_url, replicas=replicas, env=env)
    for user, name in (users or {}).items():
        cluster.slack_state.add_user(user, name)
    try:
        cluster.start_all()
        yield cluster
    finally:
        cluster.close()
