"""`python -m bot check`: is this installation ready? One line per check, non-zero exit on any failure."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, Settings, check_key_from_env, database_url_from_env
from bot.ops.preflight import foreign_sinch
from bot.slack.scopes import BOT_SCOPES
from store.db import DatabaseDriverMissing, current_revision, head_revision, make_engine

__all__ = ["CheckResult", "run_checks"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<14} {self.detail}"


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
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None and not sqlite_file.exists():
        # Opening it would create an empty file: say what to do instead.
        return CheckResult("database", False, f"no SQLite database at {sqlite_file}: run `python -m bot migrate` "
                                              "(or fix DATABASE_URL)")
    try:
        engine = make_engine(url)
        try:
            current, head = current_revision(engine), head_revision()
        finally:
            engine.dispose()
    except DatabaseDriverMissing as exc:
        return CheckResult("database", False, str(exc))
    except SQLAlchemyError as exc:
        return CheckResult("database", False, _database_failure(url, exc))
    if current != head:
        return CheckResult("database", False, f"schema at {current or 'nothing'}, this version needs {head}: "
                                              "run `python -m bot migrate`")
    return CheckResult("database", True, f"schema at {head}")


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


# What the PostgreSQL driver says, and what it means for the operator (never the driver's text: it can hold a DSN).
_POSTGRES_FAILURES = (
    (re.compile(r'database "([^"]+)" does not exist'),
     "database {0} does not exist on {where}: create it (createdb {0}) or fix the name in DATABASE_URL"),
    (re.compile(r'role "([^"]+)" does not exist'),
     "role {0} does not exist on {where}: create it (createuser {0}) or fix the user in DATABASE_URL"),
    (re.compile(r'password authentication failed for user "([^"]+)"'),
     "{where} refused the password of user {0}: fix the password in DATABASE_URL"),
    (re.compile(r"Connection refused|could not connect|connection failed", re.IGNORECASE),
     "nothing accepts connections at {where}: is PostgreSQL running there, on that port? (DATABASE_URL)"),
    (re.compile(r"could not translate host name|Name or service not known|nodename nor servname", re.IGNORECASE),
     "the host in DATABASE_URL ({where}) is unknown: fix the host name"),
    (re.compile(r"timeout expired", re.IGNORECASE),
     "{where} did not answer in time: check the host, port and firewall (DATABASE_URL)"),
)


def _database_failure(url: str, error: SQLAlchemyError) -> str:
    """One line naming what is wrong with the database and what to do about it."""
    parsed = make_url(url)
    kind = parsed.get_backend_name()
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    driver_text = str(getattr(error, "orig", None) or "")
    if kind == "postgresql":
        for pattern, advice in _POSTGRES_FAILURES:
            if found := pattern.search(driver_text):
                return advice.format(*found.groups(), where=where)
    return f"cannot open {kind} database: {type(error).__name__}"


def _slack(settings: Settings, client: WebClient) -> list[CheckResult]:
    """The bot token, its granted scopes, channel membership and approver groups; then the app token."""
    try:
        identity = client.auth_test()
    except SlackApiError as exc:
        return [CheckResult("slack", False, f"auth.test refused: {exc.response.get('error')} "
                                            "(check SLACK_BOT_TOKEN)")]
    except OSError as exc:
        return [CheckResult("slack", False, f"cannot reach {settings.slack_api_url}: {type(exc).__name__}")]
    results = [CheckResult("slack", True, f"authenticated as @{identity.get('user')} in {identity.get('team')}")]
    granted = {scope.strip() for scope in str(_header(identity.headers, "x-oauth-scopes") or "").split(",")}
    missing = sorted(BOT_SCOPES - granted)
    results.append(CheckResult("slack scopes", not missing, f"missing {', '.join(missing)}: add them to the app "
                               "and reinstall it" if missing else "every scope in the manifest is granted"))
    results.append(_channel(settings, client))
    results.append(_approver_users(settings, client))
    results.append(_approver_groups(settings, client))
    if settings.socket_mode:
        results.append(_app_token(settings, client))
    return results


def _header(headers: Mapping[str, object], name: str) -> object:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _channel(settings: Settings, client: WebClient) -> CheckResult:
    channel = settings.onboarding_channel
    try:
        client.conversations_history(channel=channel, limit=1)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("not_in_channel", "channel_not_found"):
            return CheckResult("slack channel", False, f"the bot is not a member of {channel}: /invite it there")
        return CheckResult("slack channel", False, f"cannot read {channel}: {error}")
    return CheckResult("slack channel", True, f"the bot is a member of {channel}")


def _approver_users(settings: Settings, client: WebClient) -> CheckResult:
    """Every user id in APPROVERS names a current member of the workspace (users.info)."""
    unknown: list[str] = []
    for user in settings.approver_users:
        try:
            member = client.users_info(user=user).get("user") or {}
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ("user_not_found", "users_not_found"):
                unknown.append(user)
                continue
            return CheckResult("approver users", False, f"users.info for {user}: {error}"
                               + (" (add the users:read scope and reinstall the app)" if error == "missing_scope"
                                  else ""))
        if member.get("deleted"):
            unknown.append(user)
    if unknown:
        return CheckResult("approver users", False, f"{', '.join(unknown)} in APPROVERS: no such member of this "
                                                    "workspace (deactivated or mistyped); fix APPROVERS")
    return CheckResult("approver users", True, f"{len(settings.approver_users)} user(s) are members of the workspace")


def _approver_groups(settings: Settings, client: WebClient) -> CheckResult:
    if not settings.approver_groups:
        return CheckResult("approvers", True, f"{len(settings.approver_users)} user(s), no groups")
    empty: list[str] = []
    for group in settings.approver_groups:
        try:
            members = client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as exc:
            return CheckResult("approvers", False, f"group {group}: {exc.response.get('error')}")
        if not members:
            empty.append(group)
    if empty:
        return CheckResult("approvers", False, f"group(s) {', '.join(empty)} have no members")
    return CheckResult("approvers", True, f"{len(settings.approver_groups)} group(s) resolve to users")


def _app_token(settings: Settings, client: WebClient) -> CheckResult:
    """apps.connections.open answers with a URL when the app token is good; the URL is not used."""
    try:
        client.apps_connections_open(app_token=settings.slack_app_token.reveal())
    except SlackApiError as exc:
        return CheckResult("socket mode", False, f"apps.connections.open refused: {exc.response.get('error')} "
                                                 "(check SLACK_APP_TOKEN)")
    except OSError as exc:
        return CheckResult("socket mode", False, f"cannot reach {settings.slack_api_url}: {type(exc).__name__}")
    return CheckResult("socket mode", True, "the app token can open a connection")


def _sinch(settings: Settings, env: Mapping[str, str], transport: httpx.BaseTransport | None) -> CheckResult:
    from sinch import Region, SinchAuthError, SinchClient, SinchCredentials, SinchEndpoints, SinchError

    endpoints = SinchEndpoints(auth_url=settings.sinch_auth_url, conversation_url=settings.sinch_conversation_url,
                               provisioning_url=settings.sinch_provisioning_url,
                               subprojects_url=settings.sinch_subprojects_url)
    project_id, key_id, key_secret = check_key_from_env(env)
    probing = not (key_id and key_secret)
    if probing:
        # No key to test: a made-up one must be refused, which proves the token endpoint is there and answers.
        key_id, key_secret = "onboarding-bot-check", "not-a-secret"
    creds = SinchCredentials(project_id=project_id or "check", key_id=key_id,
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


def _subprojects(settings: Settings, transport: httpx.BaseTransport | None) -> CheckResult:
    """The ASP's own project and its subprojects, which registration refuses (Subprojects API, closed beta)."""
    from sinch import Region, SinchClient, SinchCredentials, SinchEndpoints, SinchError, SinchSubprojectsUnavailable

    if not settings.subproject_check_configured:
        return CheckResult("subprojects", True, "subproject check unavailable: set SINCH_ACCOUNT_KEY_ID and "
                                                "SINCH_ACCOUNT_KEY_SECRET (a key of our project) to refuse its "
                                                "subprojects too; our project itself is refused already")
    endpoints = SinchEndpoints(auth_url=settings.sinch_auth_url, conversation_url=settings.sinch_conversation_url,
                               provisioning_url=settings.sinch_provisioning_url,
                               subprojects_url=settings.sinch_subprojects_url)
    account = SinchCredentials(project_id=settings.sinch_account_project_id, key_id=settings.sinch_account_key_id,
                               key_secret=settings.sinch_account_key_secret.reveal(), region=Region.US)
    with SinchClient.create(endpoints=endpoints, transport=transport, timeout=10.0, max_attempts=2) as client:
        try:
            found = client.subprojects.list(account)
        except SinchSubprojectsUnavailable as exc:
            return CheckResult("subprojects", True, f"subproject check unavailable ({exc.status}: the Subprojects "
                                                    "API is a closed beta); registering our own project is still "
                                                    "refused, and each card notes the missing check")
        except SinchError as exc:
            return CheckResult("subprojects", False, f"cannot list the subprojects of our project "
                                                     f"{settings.sinch_account_project_id}: {exc}")
    return CheckResult("subprojects", True, f"{len(found)} subprojects of our project "
                                            f"{settings.sinch_account_project_id}: registering any of them is refused")


def run_checks(
    env: Mapping[str, str],
    out: IO[str],
    *,
    slack_client: Callable[[Settings], WebClient] | None = None,
    sinch_transport: httpx.BaseTransport | None = None,
) -> bool:
    """Run every check, print one line each, return True if all passed."""
    shadowed = foreign_sinch()
    if shadowed:
        out.write(CheckResult("sinch package", False, shadowed).line() + "\n")
        return False
    config, settings = _configuration(env)
    try:
        database = _database(database_url_from_env(env))
    except ConfigError as exc:
        database = CheckResult("database", False, "; ".join(exc.problems))
    results = [config, database]
    if settings is None:
        results.append(CheckResult("slack", False, "skipped: fix the configuration first"))
        results.append(CheckResult("sinch", False, "skipped: fix the configuration first"))
    else:
        factory = slack_client or (lambda s: WebClient(token=s.slack_bot_token.reveal(), base_url=s.slack_api_url,
                                                       timeout=10))
        results.extend(_slack(settings, factory(settings)))
        results.append(_sinch(settings, env, sinch_transport))
        if settings.sinch_account_project_id:
            results.append(_subprojects(settings, sinch_transport))
    for result in results:
        out.write(result.line() + "\n")
    return all(result.ok for result in results)
