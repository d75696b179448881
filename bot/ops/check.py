"""`python -m bot check`: is this installation ready? One line per check, non-zero exit on any failure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, Settings, database_url_from_env
from sinch import Region, SinchAuthError, SinchClient, SinchCredentials, SinchEndpoints, SinchError
from store.db import current_revision, head_revision, make_engine

__all__ = ["CheckResult", "run_checks"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<13} {self.detail}"


def _configuration(env: Mapping[str, str]) -> tuple[CheckResult, Settings | None]:
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        return CheckResult("configuration", False, "; ".join(exc.problems)), None
    mode = "Socket Mode" if settings.socket_mode else f"HTTP mode on port {settings.port}"
    approvers = len(settings.approver_users) + len(settings.approver_groups)
    return CheckResult("configuration", True, f"{mode}, channel {settings.onboarding_channel}, "
                                              f"{approvers} approver entries"), settings


def _database(url: str) -> CheckResult:
    try:
        engine = make_engine(url)
        try:
            current, head = current_revision(engine), head_revision()
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        return CheckResult("database", False, f"cannot open {url.split('://')[0]} database: {type(exc).__name__}")
    if current != head:
        return CheckResult("database", False, f"schema at {current or 'nothing'}, this version needs {head}: "
                                              "run `python -m bot migrate`")
    return CheckResult("database", True, f"schema at {head}")


def _slack(settings: Settings, client_factory: Callable[[Settings], WebClient]) -> CheckResult:
    try:
        identity = client_factory(settings).auth_test()
    except SlackApiError as exc:
        return CheckResult("slack", False, f"auth.test refused: {exc.response.get('error')} (check SLACK_BOT_TOKEN)")
    except OSError as exc:
        return CheckResult("slack", False, f"cannot reach {settings.slack_api_url}: {type(exc).__name__}")
    return CheckResult("slack", True, f"authenticated as @{identity.get('user')} in {identity.get('team')}")


def _sinch(settings: Settings, env: Mapping[str, str], transport: httpx.BaseTransport | None) -> CheckResult:
    endpoints = SinchEndpoints(auth_url=settings.sinch_auth_url, conversation_url=settings.sinch_conversation_url,
                               provisioning_url=settings.sinch_provisioning_url)
    key_id, key_secret = env.get("SINCH_KEY_ID", "").strip(), env.get("SINCH_KEY_SECRET", "").strip()
    probing = not (key_id and key_secret)
    if probing:
        # No key to test: a made-up one must be refused, which proves the token endpoint is there and answers.
        key_id, key_secret = "onboarding-bot-check", "not-a-secret"
    creds = SinchCredentials(project_id=env.get("SINCH_PROJECT_ID", "").strip() or "check", key_id=key_id,
                             key_secret=key_secret, region=Region.US)
    with SinchClient.create(endpoints=endpoints, transport=transport, timeout=10.0, max_attempts=2) as client:
        try:
            client.fetch_token(creds)
        except SinchAuthError as exc:
            if probing:
                return CheckResult("sinch", True, f"{settings.sinch_auth_url} answers (set SINCH_KEY_ID and "
                                                  "SINCH_KEY_SECRET to test a key)")
            return CheckResult("sinch", False, f"the key in SINCH_KEY_ID was refused: {exc}")
        except SinchError as exc:
            return CheckResult("sinch", False, f"cannot get a token from {settings.sinch_auth_url}: {exc}")
    if probing:
        return CheckResult("sinch", False, f"{settings.sinch_auth_url} issued a token for a made-up key: "
                                           "is SINCH_AUTH_URL right?")
    return CheckResult("sinch", True, f"got a token for key {key_id} from {settings.sinch_auth_url}")


def run_checks(
    env: Mapping[str, str],
    out: IO[str],
    *,
    slack_client: Callable[[Settings], WebClient] | None = None,
    sinch_transport: httpx.BaseTransport | None = None,
) -> bool:
    """Run every check, print one line each, return True if all passed."""
    config, settings = _configuration(env)
    results = [config, _database(database_url_from_env(env))]
    if settings is None:
        results.append(CheckResult("slack", False, "skipped: fix the configuration first"))
        results.append(CheckResult("sinch", False, "skipped: fix the configuration first"))
    else:
        factory = slack_client or (lambda s: WebClient(token=s.slack_bot_token.reveal(), base_url=s.slack_api_url,
                                                       timeout=10))
        results.append(_slack(settings, factory))
        results.append(_sinch(settings, env, sinch_transport))
    for result in results:
        out.write(result.line() + "\n")
    return all(result.ok for result in results)
