"""Register-project latency: the fresh-project check inside Slack's 3 s, with a slow Sinch.

The submission reads the project's apps in US, EU and BR and the ASP's subprojects, each after an access token:
six Sinch requests. Every Sinch request is delayed by L (a sandbox fault); the figure is the time from the signed
view_submission to the bot's answer over the real HTTP endpoint (Bolt answers when the listener acks). One after
the other the reads would take at least 6 L; in parallel, about 2 L (a token, then the reads).
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from bench.common import BenchResult, Figure, percentile, step_database
from bot.config import Settings
from bot.runtime import build_runtime, make_wsgi_app
from bot.slack.ids import ActionId
from devslack import FakeMessage, FakeSlackState, SlackUserSimulator, start_fake_slack
from devslack.blockkit import find_element
from devslack.server import BackgroundServer
from sinch.sandbox import SandboxControl, start_in_thread
from store.secrets import generate_key

__all__ = ["run"]

CHANNEL = "C0BENCH"
SIGNING_SECRET = "bench-signing-secret"
REQUESTER, LEAD, STAFF = "U0REQ", "U0LEAD", "U0STAFF"
T = TypeVar("T")
SINCH_READS = 6  # two tokens (customer's key, our key), three regions, the subproject listing
SLACK_BUDGET_MS = 3000.0
TARGET_P95_MS = 2500.0  # leaves Slack's own round trip half a second


@dataclass(frozen=True)
class Plan:
    registrations: int
    sinch_latency_ms: float


PLANS = {"tiny": Plan(registrations=3, sinch_latency_ms=100), "small": Plan(registrations=10, sinch_latency_ms=300),
         "full": Plan(registrations=20, sinch_latency_ms=300)}
FORM = {"customer_name": "Bench", "contact_email": "owner@bench.example", "region": "eu",
        "page": "https://www.facebook.com/bench", "page_type": "business",
        "prerequisites": ["business_verified", "page_admin"], "notes": ""}


def run(size: str, *, database_url: str | None = None) -> BenchResult:
    plan = PLANS[size]
    result = BenchResult("register", size)
    started = time.perf_counter()
    state = FakeSlackState()
    for user, name in [(REQUESTER, "rita"), (LEAD, "lena"), (STAFF, "sam")]:
        state.add_user(user, name)
    slack = start_fake_slack(state=state)
    sandbox = start_in_thread()
    http = httpx.Client(timeout=30.0)
    control = SandboxControl(http, sandbox.url)
    ours = control.create_project("Our own project")
    with tempfile.TemporaryDirectory(prefix="bench-register-") as workdir:
        settings = Settings.from_env({
            "SLACK_BOT_TOKEN": state.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url,
            "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": LEAD, "BOT_SECRET_KEY": generate_key(),
            "DATABASE_URL": step_database(database_url, Path(workdir), "register"), "SINCH_AUTH_URL": sandbox.url,
            "SINCH_CONVERSATION_URL": f"{sandbox.url}/conversation/{{region}}",
            "SINCH_PROVISIONING_URL": f"{sandbox.url}/provisioning",
            "SINCH_SUBPROJECTS_URL": f"{sandbox.url}/subprojects",
            "SINCH_ACCOUNT_PROJECT_ID": ours.project_id, "SINCH_ACCOUNT_KEY_ID": ours.key_id,
            "SINCH_ACCOUNT_KEY_SECRET": ours.key_secret,
        })
        runtime = build_runtime(settings, post_interval=0)
        server = BackgroundServer(make_wsgi_app(runtime.app), name="bench-register")
        sim = SlackUserSimulator(state, signing_secret=SIGNING_SECRET, events_url=f"{server.base_url}/slack/events",
                                 response_base_url=slack.base_url)
        latencies: list[float] = []
        refused = 0
        try:
            control.add_fault(".", count=-1, latency_ms=plan.sinch_latency_ms)
            runtime.start_background()
            for number in range(1, plan.registrations + 1):
                sim.send(sim.slash_command(REQUESTER, text="", channel_id=CHANNEL))
                intake = _wait(lambda: state.last_view_for(REQUESTER, open_only=True))
                sim.send(sim.submit_view(REQUESTER, view_id=intake.view_id,
                                         values={**FORM, "customer_name": f"Bench {number}",
                                                 "contact_email": f"owner{number}@bench.example"}))
                approval = _wait(functools.partial(_with, state, ActionId.APPROVE, number))
                sim.send(sim.click(LEAD, message=approval, action_id=ActionId.APPROVE))
                step = _wait(functools.partial(_with, state, ActionId.REGISTER_PROJECT, number))
                sim.send(sim.click(STAFF, message=step, action_id=ActionId.REGISTER_PROJECT))
                modal = _wait(lambda: state.last_view_for(STAFF, open_only=True))
                creds = control.create_project(f"Bench {number}", "eu")
                request = sim.submit_view(STAFF, view_id=modal.view_id, values={
                    "project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret})
                sent = time.perf_counter()
                answer = sim.send(request)
                latencies.append((time.perf_counter() - sent) * 1000)
                refused += bool(answer.content.strip())  # an accepted submission has an empty body
            # Let the last app creation (after the ack) finish before the sandbox goes away.
            _wait(lambda: sum(ActionId.INVITATION_SENT.value in str(m.blocks) for m in state.messages(CHANNEL))
                  >= plan.registrations - refused or None)
        finally:
            runtime.shutdown()
            server.stop()
            slack.stop()
            sandbox.stop()
            http.close()
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    sequential = SINCH_READS * plan.sinch_latency_ms
    result.figures = [
        Figure("register submission p50", p50, "ms", "-", None, baseline=f"{sequential:.0f} ms one after another"),
        Figure("register submission p95", p95, "ms", f"< {TARGET_P95_MS:.0f} ms", p95 < TARGET_P95_MS,
               baseline=f"{SLACK_BUDGET_MS:.0f} ms Slack budget"),
        Figure("registrations refused", refused, "", "0", refused == 0),
    ]
    result.details = {"sinch_latency_ms": plan.sinch_latency_ms, "latencies_ms": [round(x, 1) for x in latencies],
                      "sinch_reads_per_registration": SINCH_READS}
    result.duration_s = time.perf_counter() - started
    return result


def _with(state: FakeSlackState, action: ActionId, case_id: int) -> FakeMessage | None:
    """The latest message in the channel (any thread) that carries this button for this case.

    For this case: the previous case's step message keeps its button until the outbox has updated it, and an
    urgent post of the next case (its approval request) may go first; a click on that one was refused."""
    for message in reversed(state.messages(CHANNEL)):
        found = find_element(list(message.blocks or []), action.value)
        if found is not None and found[1].get("value") == str(case_id):
            return message
    return None


def _wait(find: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Poll until `find` returns something (the bot acts on another thread after acking)."""
    deadline = time.monotonic() + timeout
    while (found := find()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not get there in time")
        time.sleep(0.02)
    return found
