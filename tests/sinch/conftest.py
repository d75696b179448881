"""Fixtures: a fresh in-process sandbox per test, a client wired to it, a hand-moved clock, recorded sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sinch import Region, SinchClient, SinchCredentials
from sinch.sandbox import SandboxApp, SandboxControl, endpoints_for, make_app

BASE_URL = "http://sandbox.test"
TOKEN_ROUTE = "POST /oauth2/token"
APPS_ROUTE = "/conversation/{region}/v1/projects/{project}/apps"
APP_ROUTE = "/conversation/{region}/v1/projects/{project}/apps/{app}"
MESSENGER_ROUTE = "GET /provisioning/v1/projects/{project}/conversation/apps/{app}/messenger"


class SecondsClock:
    """A float clock (epoch seconds) that tests move by hand; serves as time.time and time.monotonic."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
def sleeps() -> list[float]:
    """What the client would have slept, in order."""
    return []


@pytest.fixture
def sandbox_sleeps() -> list[float]:
    """Latency the sandbox would have added, in order."""
    return []


@pytest.fixture
def sandbox(fake_clock: SecondsClock, sandbox_sleeps: list[float]) -> SandboxApp:
    return make_app(clock=fake_clock, sleep=sandbox_sleeps.append)


@pytest.fixture
def transport(sandbox: SandboxApp) -> httpx.WSGITransport:
    return httpx.WSGITransport(app=sandbox)


@pytest.fixture
def control(transport: httpx.WSGITransport) -> Iterator[SandboxControl]:
    with httpx.Client(transport=transport) as http:
        yield SandboxControl(http, BASE_URL)


@pytest.fixture
def raw(transport: httpx.WSGITransport) -> Iterator[httpx.Client]:
    """A plain httpx client on the sandbox, for checking wire formats."""
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        yield http


def make_client(
    transport: httpx.BaseTransport,
    clock: SecondsClock,
    sleeps: list[float],
    *,
    use_provisioning: bool = False,
    max_attempts: int = 4,
) -> SinchClient:
    return SinchClient.create(
        endpoints=endpoints_for(BASE_URL),
        transport=transport,
        use_provisioning=use_provisioning,
        sleep=sleeps.append,
        clock=clock,
        max_attempts=max_attempts,
    )


@pytest.fixture
def client(transport: httpx.WSGITransport, fake_clock: SecondsClock, sleeps: list[float]) -> Iterator[SinchClient]:
    with make_client(transport, fake_clock, sleeps) as sinch:
        yield sinch


@pytest.fixture
def papi_client(transport: httpx.WSGITransport, fake_clock: SecondsClock, sleeps: list[float]) -> Iterator[SinchClient]:
    """A client that reads Messenger status from the Provisioning API."""
    with make_client(transport, fake_clock, sleeps, use_provisioning=True) as sinch:
        yield sinch


@pytest.fixture
def creds(control: SandboxControl) -> SinchCredentials:
    """The access key of a fresh project, for the US region."""
    return control.create_project("Acme Pizza", Region.US)
