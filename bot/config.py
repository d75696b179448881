"""Settings: one frozen object built from the environment, validated all at once.

Nothing here reads `os.environ` by itself: the entry point passes the mapping in, which keeps tests
free to build settings from a plain dict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.config_env import ConfigError, LoggingSettings, check_key_from_env, keyring_from_env, log_format, log_level
from bot.review_schedule import WeeklySchedule, parse_schedule, parse_zone

__all__ = [
    "ONE_PERSON",
    "TWO_PERSON",
    "ConfigError",
    "LoggingSettings",
    "Secret",
    "Settings",
    "Timers",
    "check_key_from_env",
    "database_url_from_env",
    "keyring_from_env",
    "parse_duration",
]

DEFAULT_DATABASE_URL = "sqlite:///onboarding.db"

ONE_PERSON, TWO_PERSON = "one-person", "two-person"  # REMOVAL_CONFIRMATION

T = TypeVar("T")


class Secret:
    """A string that never shows itself in `repr`, `str`, f-strings or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str) -> timedelta:
    """Parse `90`, `90s`, `5m`, `1h`, `3d` (a bare number means seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 60s, 5m, 1h, 3d)")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit])


def _format_duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


@dataclass(frozen=True)
class Timers:
    """Every timer of the runbook, with product.md's defaults."""

    poll_fast_interval: timedelta = timedelta(seconds=60)
    poll_fast_window: timedelta = timedelta(hours=1)
    poll_medium_interval: timedelta = timedelta(minutes=5)
    poll_medium_window: timedelta = timedelta(days=1)
    poll_slow_interval: timedelta = timedelta(minutes=30)
    customer_reminder_after: timedelta = timedelta(days=3)
    customer_expire_after: timedelta = timedelta(days=14)
    revoke_reminders: tuple[timedelta, ...] = (timedelta(hours=1), timedelta(hours=4), timedelta(hours=24))
    revoke_escalate_after: timedelta = timedelta(hours=24)
    manual_step_reminder_after: timedelta = timedelta(hours=24)
    sweep_interval: timedelta = timedelta(seconds=15)
    app_retry_interval: timedelta = timedelta(seconds=30)  # doubled after each failed app creation
    poll_failure_alert_after: int = 3
    poll_concurrency: int = 8


# Environment variable -> (Timers field, parser). The names are part of the public interface.
_TIMER_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "POLL_FAST_INTERVAL": ("poll_fast_interval", parse_duration),
    "POLL_FAST_WINDOW": ("poll_fast_window", parse_duration),
    "POLL_MEDIUM_INTERVAL": ("poll_medium_interval", parse_duration),
    "POLL_MEDIUM_WINDOW": ("poll_medium_window", parse_duration),
    "POLL_SLOW_INTERVAL": ("poll_slow_interval", parse_duration),
    "CUSTOMER_REMINDER_AFTER": ("customer_reminder_after", parse_duration),
    "CUSTOMER_EXPIRE_AFTER": ("customer_expire_after", parse_duration),
    "REVOKE_REMINDERS": (
        "revoke_reminders",
        lambda text: tuple(parse_duration(part) for part in text.split(",") if part.strip()),
    ),
    "REVOKE_ESCALATE_AFTER": ("revoke_escalate_after", parse_duration),
    "MANUAL_STEP_REMINDER_AFTER": ("manual_step_reminder_after", parse_duration),
    "SWEEP_INTERVAL": ("sweep_interval", parse_duration),
    "APP_RETRY_INTERVAL": ("app_retry_interval", parse_duration),
    "POLL_FAILURE_ALERT_AFTER": ("poll_failure_alert_after", lambda text: _positive_int(text)),
    "POLL_CONCURRENCY": ("poll_concurrency", lambda text: _positive_int(text)),
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{text!r} must be a whole number of at least 1")
    return value


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Validated configuration for one bot process."""

    slack_bot_token: Secret = field(repr=False)
    slack_signing_secret: Secret = field(repr=False)
    onboarding_channel: str
    approver_users: tuple[str, ...]
    approver_groups: tuple[str, ...]
    bot_secret_key: Secret = field(repr=False)
    slack_app_token: Secret = field(default_factory=lambda: Secret(""), repr=False)
    slack_api_url: str = "https://slack.com/api/"
    allow_self_approval: bool = False
    database_url: str = DEFAULT_DATABASE_URL
    sinch_auth_url: str = "https://auth.sinch.com"
    sinch_conversation_url: str = "https://{region}.conversation.api.sinch.com"
    sinch_provisioning_url: str = "https://provisioning.api.sinch.com"
    sinch_use_provisioning: bool = False
    sinch_subprojects_url: str = "https://subproject.api.sinch.com"
    # The ASP's own project and a key of it: registering that project, or one of its subprojects, is refused.
    sinch_account_project_id: str = ""
    sinch_account_key_id: str = ""
    sinch_account_key_secret: Secret = field(default_factory=lambda: Secret(""), repr=False)
    removal_confirmation: str = ONE_PERSON
    port: int = 3000
    health_port: int | None = None  # Socket Mode only: where /healthz, /readyz and /metrics are served
    shutdown_timeout: float = 10.0  # seconds in-flight work may take to finish after SIGTERM
    ready_outbox_age: timedelta = timedelta(minutes=5)  # /readyz fails while a Slack message waits longer
    intake_limit_per_hour: int = 20  # onboardings one person may open per hour; 0 for no limit
    # How long a process owns a piece of work it claimed (an outbox row, a case's poll or app creation,
    # its reminders) before another process may take it over. See docs/replicas.md.
    lease_ttl: timedelta = timedelta(seconds=30)
    # The least time between two posts to one channel, all processes together (Slack allows about 1/s).
    slack_post_interval: timedelta = timedelta(seconds=1)
    log_level: str = "INFO"
    log_format: str = "text"
    timers: Timers = field(default_factory=Timers)
    # The weekly access review (ACCESS_REVIEW_SCHEDULE, ACCESS_REVIEW_TIMEZONE); None when it is off.
    access_review: WeeklySchedule | None = field(default_factory=lambda: parse_schedule("mon 09:00", ZoneInfo("UTC")))

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def two_person_removal(self) -> bool:
        return self.removal_confirmation == TWO_PERSON

    @property
    def subproject_check_configured(self) -> bool:
        """True when the ASP's own project has a key the bot can list its subprojects with."""
        return bool(self.sinch_account_project_id and self.sinch_account_key_id and self.sinch_account_key_secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raise one ConfigError naming every problem."""
        problems: list[str] = []

        def text(name: str, default: str | None = None) -> str:
            value = env.get(name, "").strip()
            if value:
                return value
            if default is None:
                problems.append(f"{name} is required but not set")
                return ""
            return default

        def parsed(name: str, parse: Callable[[str], T], default: T) -> T:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                return default

        bot_token = text("SLACK_BOT_TOKEN")
        if bot_token and not bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)")
        app_token = env.get("SLACK_APP_TOKEN", "").strip()
        if app_token and not app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token (it starts with xapp-)")
        # Socket Mode requests are not signed, so the signing secret is only needed over HTTP.
        signing_secret = text("SLACK_SIGNING_SECRET", default="" if app_token else None)

        channel = text("ONBOARDING_CHANNEL")
        if channel and not _CHANNEL_ID.match(channel):
            problems.append(f"ONBOARDING_CHANNEL must be a channel id like C0123ABCD, not {channel!r}")

        users: list[str] = []
        groups: list[str] = []
        for entry in (part.strip() for part in text("APPROVERS").split(",")):
            if not entry:
                continue
            if _USER_ID.match(entry):
                users.append(entry)
            elif _GROUP_ID.match(entry):
                groups.append(entry)
            else:
                problems.append(f"APPROVERS: {entry!r} is neither a user id (U…) nor a user-group id (S…)")

        secret_key = text("BOT_SECRET_KEY")
        if secret_key:
            from store.secrets import validate_keyring

            try:
                validate_keyring(secret_key)
            except ValueError as exc:
                problems.append(f"BOT_SECRET_KEY: {exc}")

        conversation_url = text("SINCH_CONVERSATION_URL", cls.sinch_conversation_url)
        if "{region}" not in conversation_url:
            problems.append("SINCH_CONVERSATION_URL must contain {region}, e.g. https://{region}.conversation.api.sinch.com")

        account_project = env.get("SINCH_ACCOUNT_PROJECT_ID", "").strip()
        account_key_id = env.get("SINCH_ACCOUNT_KEY_ID", "").strip()
        account_key_secret = env.get("SINCH_ACCOUNT_KEY_SECRET", "").strip()
        if (account_key_id or account_key_secret) and not (account_project and account_key_id and account_key_secret):
            problems.append("SINCH_ACCOUNT_KEY_ID and SINCH_ACCOUNT_KEY_SECRET go together, with "
                            "SINCH_ACCOUNT_PROJECT_ID (the ASP's own project)")
        removal = text("REMOVAL_CONFIRMATION", ONE_PERSON).lower()
        if removal not in (ONE_PERSON, TWO_PERSON):
            problems.append(f"REMOVAL_CONFIRMATION must be {ONE_PERSON} or {TWO_PERSON}, not {removal!r}")

        timer_values: dict[str, Any] = {}
        for variable, (attribute, parse) in _TIMER_VARIABLES.items():
            timer_values[attribute] = parsed(variable, parse, getattr(Timers(), attribute))

        settings = cls(
            slack_bot_token=Secret(bot_token),
            slack_signing_secret=Secret(signing_secret),
            slack_app_token=Secret(app_token),
            slack_api_url=_with_trailing_slash(text("SLACK_API_URL", cls.slack_api_url)),
            onboarding_channel=channel,
            approver_users=tuple(users),
            approver_groups=tuple(groups),
            allow_self_approval=parsed("ALLOW_SELF_APPROVAL", _boolean, False),
            database_url=_database_url(text("DATABASE_URL", DEFAULT_DATABASE_URL), problems),
            bot_secret_key=Secret(secret_key),
            sinch_auth_url=text("SINCH_AUTH_URL", cls.sinch_auth_url).rstrip("/"),
            sinch_conversation_url=conversation_url.rstrip("/"),
            sinch_provisioning_url=text("SINCH_PROVISIONING_URL", cls.sinch_provisioning_url).rstrip("/"),
            sinch_use_provisioning=parsed("SINCH_USE_PROVISIONING", _boolean, False),
            sinch_subprojects_url=text("SINCH_SUBPROJECTS_URL", cls.sinch_subprojects_url).rstrip("/"),
            sinch_account_project_id=account_project,
            sinch_account_key_id=account_key_id,
            sinch_account_key_secret=Secret(account_key_secret),
            removal_confirmation=removal,
            port=parsed("PORT", _port, 3000),
            health_port=parsed("HEALTH_PORT", _port, None),
            shutdown_timeout=parsed("SHUTDOWN_TIMEOUT", lambda raw: parse_duration(raw).total_seconds(), 10.0),
            ready_outbox_age=parsed("READY_OUTBOX_AGE", parse_duration, timedelta(minutes=5)),
            intake_limit_per_hour=parsed("INTAKE_LIMIT_PER_HOUR", _non_negative_int, cls.intake_limit_per_hour),
            lease_ttl=parsed("LEASE_TTL", _lease_ttl, cls.lease_ttl),
            slack_post_interval=parsed("SLACK_POST_INTERVAL", parse_duration, cls.slack_post_interval),
            log_level=parsed("LOG_LEVEL", log_level, cls.log_level),
            log_format=parsed("LOG_FORMAT", log_format, cls.log_format),
            timers=Timers(**timer_values),
            access_review=_access_review(env, problems),
        )
        if problems:
            raise ConfigError(problems)
        return settings


def _access_review(env: Mapping[str, str], problems: list[str]) -> WeeklySchedule | None:
    zone = ZoneInfo("UTC")
    try:
        zone = parse_zone(env.get("ACCESS_REVIEW_TIMEZONE", "").strip() or "UTC")
    except ValueError as exc:
        problems.append(f"ACCESS_REVIEW_TIMEZONE: {exc}")
    try:
        return parse_schedule(env.get("ACCESS_REVIEW_SCHEDULE", "").strip() or "mon 09:00", zone)
    except ValueError as exc:
        problems.append(f"ACCESS_REVIEW_SCHEDULE: {exc}")
        return None


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true or false)")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"{text!r} must be a whole number, 0 or more")
    return value


MAX_LEASE_TTL = timedelta(seconds=60)


def _lease_ttl(text: str) -> timedelta:
    value = parse_duration(text)
    if not timedelta(seconds=1) <= value <= MAX_LEASE_TTL:
        raise ValueError(f"{text!r} must be between 1s and 60s: a dead process's work waits this long")
    return value


def _port(text: str) -> int:
    # 0: any free port (the log says which; the end-to-end tests rely on it)
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise ValueError(f"{text!r} is not a TCP port: give a number from 1 to 65535")
    return int(text)


def _with_trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _database_url(url: str, problems: list[str]) -> str:
    from store.db import database_problem, normalise_url

    problem = database_problem(url)
    if problem:
        problems.append(f"DATABASE_URL: {problem}")
    return normalise_url(url)


def database_url_from_env(env: Mapping[str, str]) -> str:
    """The database URL alone, for commands (like `migrate`) that need nothing else."""
    problems: list[str] = []
    url = _database_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL, problems)
    if problems:
        raise ConfigError(problems)
    return url


def describe_timers(timers: Timers) -> dict[str, str]:
    """Timer values keyed by their environment variable, for `check` and the README table."""
    described: dict[str, str] = {}
    for variable, (attribute, _) in _TIMER_VARIABLES.items():
        value = getattr(timers, attribute)
        if isinstance(value, timedelta):
            described[variable] = _format_duration(value)
        elif isinstance(value, tuple):
            described[variable] = ",".join(_format_duration(item) for item in value)
        else:
            described[variable] = str(value)
    return described
