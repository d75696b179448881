"""Request authenticity in HTTP mode, through the real WSGI app (`make_wsgi_app`).

Slack signs every request: `v0=` + HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}"), and a request
more than 5 minutes old is a replay. Anything unsigned, mis-signed, tampered with or replayed gets 401 and
no listener runs: no database row, no Web API call. `/healthz` says "ok" and nothing else.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func
from sqlmodel import Session, select

from bot.runtime import make_wsgi_app
from bot.slack.envelope import MAX_BODY_BYTES
from devslack import SignedRequest
from store.models import AuditEvent, Onboarding, OutboxMessage
from tests.bot.harness import CHANNEL, REQUESTER, SIGNING_SECRET, VALID_FORM, BotHarness
from tests.security.figures import FIGURES

REPLAY_WINDOW = 300  # seconds, Slack's documented limit


@dataclass
class Answer:
    status_code: int
    text: str


class Endpoint:
    def __init__(self, bot: BotHarness) -> None:
        self.bot = bot
        self.wsgi = make_wsgi_app(bot.app)
        self.http = httpx.Client(transport=httpx.WSGITransport(app=self.wsgi), base_url="http://bot")

    def post(self, request: SignedRequest, *, body: str | None = None) -> Answer:
        content = (request.body if body is None else body).encode()
        if all(value.isascii() for value in request.headers.values()):
            response = self.http.post("/slack/events", content=content, headers=request.headers)
            return Answer(response.status_code, response.text)
        return self._direct(content, request.headers)

    def _direct(self, content: bytes, headers: dict[str, str]) -> Answer:
        """Call the WSGI app with a PEP 3333 environ: httpx cannot send a non-ASCII header, a client can."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "QUERY_STRING": "", "SERVER_NAME": "bot",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(content),
            "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(content)),
            "CONTENT_TYPE": headers.get("Content-Type", ""),
        }
        for name, value in headers.items():
            if name.lower() != "content-type":
                environ["HTTP_" + name.upper().replace("-", "_")] = value  # latin-1 text, as servers pass it
        status: list[str] = []
        chunks = self.wsgi(environ, lambda line, _headers, *_: status.append(line))
        return Answer(int(status[0].split()[0]), b"".join(chunks).decode())

    def effects(self) -> tuple[int, int, int, int]:
        """Rows written and Web API calls made so far."""
        with Session(self.bot.deps.engine) as session:
            cases, events, outbox = (int(session.exec(select(func.count()).select_from(table)).one())
                                     for table in (Onboarding, AuditEvent, OutboxMessage))
        return cases, events, outbox, len(self.bot.slack_state.calls)

    def intake(self, **sign: Any) -> SignedRequest:
        """A valid intake submission: if it ran, it would store a case and queue Slack posts."""
        view_id = self.bot.open_intake()
        return self.bot.sim.submit_view(REQUESTER, view_id=view_id, values=VALID_FORM, **sign)

    def command(self, **sign: Any) -> SignedRequest:
        """`/onboard`: if it ran, it would call views.open."""
        return self.bot.sim.slash_command(REQUESTER, text="", channel_id=CHANNEL, **sign)


@pytest.fixture
def endpoint(tmp_path: Any, migrated_database_url: str) -> Iterator[Endpoint]:
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    yield Endpoint(bot)
    bot.close()


def _resigned(request: SignedRequest, body: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers for `body` with `request`'s timestamp, signed with `secret`."""
    timestamp = request.headers["X-Slack-Request-Timestamp"]
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {**request.headers, "X-Slack-Signature": str(signature)}


FORGERIES: dict[str, Callable[[Endpoint, Callable[..., SignedRequest]], tuple[SignedRequest, str | None]]] = {
    "unsigned": lambda e, build: (build(sign=False), None),
    "signature header only": lambda e, build: (_drop(build(), "X-Slack-Request-Timestamp"), None),
    "timestamp header only": lambda e, build: (_drop(build(), "X-Slack-Signature"), None),
    "empty signature": lambda e, build: (build(signature_override=""), None),
    "garbage signature": lambda e, build: (build(signature_override="v0=not-hex"), None),
    "signed with another secret": lambda e, build: _other_secret(build()),
    "wrong scheme version": lambda e, build: _version_one(build()),
    "tampered body": lambda e, build: _tampered(build()),
    "replayed (5 min 10 s old)": lambda e, build: (build(timestamp_override=int(time.time()) - REPLAY_WINDOW - 10),
                                                 None),
    "replayed (1 day old)": lambda e, build: (build(timestamp_override=int(time.time()) - 86_400), None),
    "from the future (5 min 10 s ahead)": lambda e, build: (
        build(timestamp_override=int(time.time()) + REPLAY_WINDOW + 10), None),
    "non-numeric timestamp": lambda e, build: (build(timestamp_override="yesterday"), None),
    "non-ASCII signature": lambda e, build: (build(signature_override="v0=\u00e9t\u00e9"), None),
}


def _drop(request: SignedRequest, header: str) -> SignedRequest:
    headers = {name: value for name, value in request.headers.items() if name != header}
    return SignedRequest(request.body, headers, request.kind, request.view_id)


def _other_secret(request: SignedRequest) -> tuple[SignedRequest, str | None]:
    headers = _resigned(request, request.body, secret="not-the-signing-secret")
    return SignedRequest(request.body, headers, request.kind, request.view_id), None


def _version_one(request: SignedRequest) -> tuple[SignedRequest, str | None]:
    signature = request.headers["X-Slack-Signature"].replace("v0=", "v1=")
    return SignedRequest(request.body, {**request.headers, "X-Slack-Signature": signature}), None


def _tampered(request: SignedRequest) -> tuple[SignedRequest, str | None]:
    # Same signature, body changed after signing (another customer name, or an extra field).
    body = request.body.replace("Acme", "Evil") if "Acme" in request.body else request.body + "&text=list"
    assert body != request.body
    return request, body


@pytest.mark.parametrize("kind", ["intake submission", "slash command"])
def test_forged_requests_get_401_and_no_listener_runs(endpoint: Endpoint, kind: str) -> None:
    build = endpoint.intake if kind == "intake submission" else endpoint.command
    for name, forge in FORGERIES.items():
        request, body = forge(endpoint, build)
        before = endpoint.effects()
        response = endpoint.post(request, body=body)
        endpoint.bot.deliver()
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert SIGNING_SECRET not in response.text and "Traceback" not in response.text
        assert endpoint.effects() == before, f"{name}: a listener ran"
        FIGURES["forged requests refused with 401"] += 1

    # The control: the same request, properly signed and fresh (even 4 min 50 s old), does run.
    before = endpoint.effects()
    response = endpoint.post(build(timestamp_override=int(time.time()) - REPLAY_WINDOW + 10))
    assert response.status_code == 200, response.text
    endpoint.bot.deliver()
    rows_and_calls = endpoint.effects()
    if kind == "intake submission":
        assert rows_and_calls[0] == before[0] + 1 and rows_and_calls[3] > before[3]
    else:
        assert rows_and_calls[3] == before[3] + 1
        assert endpoint.bot.slack_state.calls[-1].method == "views.open"


def test_a_url_verification_handshake_is_answered_only_when_signed(endpoint: Endpoint) -> None:
    unsigned = endpoint.bot.sim.url_verification("challenge-123", sign=False)
    assert endpoint.post(unsigned).status_code == 401
    signed = endpoint.bot.sim.url_verification("challenge-123")
    response = endpoint.post(signed)
    assert (response.status_code, json.loads(response.text)) == (200, {"challenge": "challenge-123"})


def test_unparseable_and_oversized_bodies_are_refused_before_bolt(endpoint: Endpoint) -> None:
    before = endpoint.effects()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in ("{", "payload=%7Bnot-json", "payload=%5B1%2C2%5D", b"\xff\xfe".decode("latin-1")):
        response = endpoint.http.post("/slack/events", content=body.encode("latin-1"), headers=form)
        assert response.status_code == 400, (body, response.status_code)
    huge = endpoint.http.post("/slack/events", content=b"a" * (MAX_BODY_BYTES + 1), headers=form)
    assert huge.status_code == 413
    assert endpoint.effects() == before


def test_healthz_says_ok_and_nothing_else(endpoint: Endpoint) -> None:
    response = endpoint.http.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
    assert {name.lower() for name in response.headers} <= {"content-type", "content-length"}
    head = endpoint.http.head("/healthz")
    assert head.status_code == 200
    settings = endpoint.bot.settings
    revealing = [settings.slack_signing_secret.reveal(), settings.slack_bot_token.reveal(),
                 settings.bot_secret_key.reveal(), settings.database_url, "0.1.0", "sqlite", "postgres", "psycopg",
                 "version"]
    assert not any(value in response.text for value in revealing)


@pytest.mark.parametrize("method,path", [
    ("GET", "/"), ("GET", "/slack/events"), ("GET", "/slack/install"), ("GET", "/slack/oauth_redirect"),
    ("GET", "/.env"), ("GET", "/healthz/details"), ("GET", "/metrics"), ("POST", "/healthz"),
    ("POST", "/slack/events/extra"), ("GET", "/_fake/state"), ("PUT", "/slack/events"),
])
def test_other_paths_are_404(endpoint: Endpoint, method: str, path: str) -> None:
    before = endpoint.effects()
    response = endpoint.http.request(method, path)
    assert response.status_code == 404, (method, path, response.status_code)
    assert endpoint.effects() == before
    assert "Traceback" not in response.text
    assert not any(engine in response.text.lower() for engine in ("sqlite", "postgres", "psycopg"))
