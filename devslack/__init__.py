"""Local Slack stand-in: a stateful fake Web API server and a signed-request user simulator.

Usage sketch::

    running = start_fake_slack()                        # WebClient(base_url=running.url)
    sim = SlackUserSimulator.for_server(running, signing_secret=secret, events_url=bot_url)
    sim.send(sim.slash_command("U1"))
    print(render_thread(running.state, "C_ONBOARD", ts))
"""

from __future__ import annotations

from devslack.models import (
    EphemeralMessage,
    FakeMessage,
    FakeSlackError,
    FakeView,
    Fault,
    ManualClock,
    MessageVersion,
    RecordedCall,
    ResponsePost,
)
from devslack.server import BackgroundServer, FakeSlackApp, RunningFakeSlack, start_fake_slack
from devslack.simulator import SignedRequest, SignOptions, SlackUserSimulator
from devslack.state import FakeSlackState
from devslack.transcript import render_message, render_thread
from devslack.views_api import apply_view_response, close_view

__all__ = [
    "BackgroundServer",
    "EphemeralMessage",
    "FakeMessage",
    "FakeSlackApp",
    "FakeSlackError",
    "FakeSlackState",
    "FakeView",
    "Fault",
    "ManualClock",
    "MessageVersion",
    "RecordedCall",
    "ResponsePost",
    "RunningFakeSlack",
    "SignOptions",
    "SignedRequest",
    "SlackUserSimulator",
    "apply_view_response",
    "close_view",
    "render_message",
    "render_thread",
    "start_fake_slack",
]
