"""End to end: `python -m bot sandbox` as a subprocess, driven by the client over loopback HTTP."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from sinch import ChannelStatus, MessengerStatus, Region, SinchClient, SinchTransportError
from sinch.sandbox import SandboxControl, endpoints_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
STARTUP_TIMEOUT = 20.0


def _first_line(stream: IO[str], timeout: float) -> str:
    """The subprocess's first stdout line, without blocking forever if it never comes."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    command = [sys.executable, "-m", "bot", "sandbox", "--port", "0"]  # 0: the kernel picks a free port
    with (
        tempfile.TemporaryFile(mode="w+") as stderr,
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, env={**os.environ, "LOG_LEVEL": "INFO"}
        ) as process,
    ):
        assert process.stdout is not None  # stdout=PIPE
        try:
            line = _first_line(process.stdout, STARTUP_TIMEOUT)
            listening = re.search(r"Sinch sandbox listening on (http://127\.0\.0\.1:\d+)", line)
            if listening is None:
                stderr.seek(0)
                pytest.fail(f"sandbox did not start (stdout {line!r}):\n{stderr.read()}")
            yield listening.group(1)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def control(sandbox_url: str) -> Iterator[SandboxControl]:
    with httpx.Client(timeout=5.0) as http:
        sandbox = SandboxControl(http, sandbox_url)
        sandbox.reset()  # a fresh sandbox for every test
        yield sandbox


@pytest.fixture
def sleeps() -> list[float]:
    return []


def _client(sandbox_url: str, sleeps: list[float], **options: Any) -> SinchClient:
    return SinchClient.create(endpoints=endpoints_for(sandbox_url), timeout=5.0, sleep=sleeps.append, **options)


def test_a_page_connected_with_outcome_active_reads_pending_then_active(sandbox_url: str, control: SandboxControl,
                                                                        sleeps: list[float]) -> None:
    with _client(sandbox_url, sleeps) as client:
        creds = control.create_project("Acme Pizza", Region.US)
        client.verify_credentials(creds)
        assert client.apps.find_by_name(creds, "Acme Pizza Messenger") is None
        app = client.apps.create(creds, display_name="Acme Pizza Messenger")
        assert client.apps.find_by_name(creds, "Acme Pizza Messenger") == app
        assert client.messenger.status(creds, app.id).status == ChannelStatus.NOT_CONNECTED

        control.connect_page(creds.project_id, app.id, page_id="1234", page_name="Acme Pizza", outcome="ACTIVE")

        assert client.messenger.status(creds, app.id).status == ChannelStatus.PENDING
        assert client.messenger.status(creds, app.id).status == ChannelStatus.ACTIVE
    assert control.state()["request_counts"]["POST /oauth2/token"] == 1


def test_a_page_that_fails_reports_failing_with_its_description(sandbox_url: str, control: SandboxControl,
                                                                sleeps: list[float]) -> None:
    with _client(sandbox_url, sleeps, use_provisioning=True) as client:
        creds = control.create_project("Globex", Region.EU)
        client.verify_credentials(creds)
        app = client.apps.create(creds, display_name="Globex Messenger")
        assert not client.messenger.status(creds, app.id).connected  # Provisioning's 404 "no channel"

        control.connect_page(
            creds.project_id,
            app.id,
            page_id="99",
            page_name="Globex",
            outcome="FAILING",
            description="The Page was deselected in Facebook",
        )

        assert client.messenger.status(creds, app.id) == MessengerStatus(
            status=ChannelStatus.PENDING, page_id="99", page_name="Globex"
        )
        assert client.messenger.status(creds, app.id) == MessengerStatus(
            status=ChannelStatus.FAILING,
            description="The Page was deselected in Facebook",
            page_id="99",
            page_name="Globex",
        )
        assert client.apps.get(creds, app.id).messenger.description == "The Page was deselected in Facebook"


def test_a_dropped_connection_on_the_served_port_is_retried_for_a_get(sandbox_url: str, control: SandboxControl,
                                                                      sleeps: list[float]) -> None:
    creds = control.create_project("Initech")
    control.add_fault("/apps$", method="GET", drop=True, count=1)
    with _client(sandbox_url, sleeps) as client:
        assert client.apps.list(creds) == []
    assert sleeps == [0.5]

    control.add_fault("/apps$", method="GET", drop=True, count=1)
    with _client(sandbox_url, sleeps, max_attempts=1) as client, pytest.raises(SinchTransportError):
        client.apps.list(creds)
