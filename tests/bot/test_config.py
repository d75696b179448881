"""Settings from the environment."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.config import ConfigError, Settings, describe_timers, parse_duration
from bot.config_names import variable_names
from store.secrets import generate_key

TOKEN = "xoxb-1111-2222-abcdefSECRET"
SIGNING = "signing-secret-value-123"


def valid_env(**overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING,
        "ONBOARDING_CHANNEL": "C0ONBOARD",
        "APPROVERS": "U0LEAD1, S0LEADS",
        "BOT_SECRET_KEY": generate_key(),
    }
    env.update(overrides)
    return env


def test_defaults_follow_the_spec() -> None:
    settings = Settings.from_env(valid_env())
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///onboarding.db"
    assert settings.sinch_auth_url == "https://auth.sinch.com"
    assert settings.sinch_conversation_url == "https://{region}.conversation.api.sinch.com"
    assert settings.sinch_provisioning_url == "https://provisioning.api.sinch.com"
    assert settings.sinch_use_provisioning is False
    assert settings.allow_self_approval is False
    assert settings.port == 3000
    assert settings.socket_mode is False
    assert settings.approver_users == ("U0LEAD1",) and settings.approver_groups == ("S0LEADS",)
    timers = settings.timers
    assert (timers.poll_fast_interval, timers.poll_medium_interval, timers.poll_slow_interval) == (
        timedelta(seconds=60), timedelta(minutes=5), timedelta(minutes=30))
    assert (timers.customer_reminder_after, timers.customer_expire_after) == (timedelta(days=3), timedelta(days=14))
    assert timers.revoke_reminders == (timedelta(hours=1), timedelta(hours=4), timedelta(hours=24))
    assert timers.manual_step_reminder_after == timedelta(hours=24)


def test_every_missing_variable_is_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as exc_info:
        Settings.from_env({})
    message = str(exc_info.value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ONBOARDING_CHANNEL", "APPROVERS", "BOT_SECRET_KEY"):
        assert name in message
    assert len(exc_info.value.problems) == 5


def test_bad_values_are_all_reported_together() -> None:
    env = valid_env(ONBOARDING_CHANNEL="#general", APPROVERS="U0LEAD1,bob", PORT="99999",
                    ALLOW_SELF_APPROVAL="maybe", POLL_FAST_INTERVAL="soon", SINCH_CONVERSATION_URL="https://x")
    with pytest.raises(ConfigError) as exc_info:
        Settings.from_env(env)
    problems = exc_info.value.problems
    assert len(problems) == 6
    assert any("ONBOARDING_CHANNEL" in p for p in problems)
    assert any("'bob'" in p for p in problems)
    assert any(p.startswith("PORT") for p in problems)
    assert any(p.startswith("ALLOW_SELF_APPROVAL") for p in problems)
    assert any(p.startswith("POLL_FAST_INTERVAL") for p in problems)
    assert any("{region}" in p for p in problems)


def test_socket_mode_needs_no_signing_secret() -> None:
    env = valid_env(SLACK_APP_TOKEN="xapp-1-A1-abc")
    del env["SLACK_SIGNING_SECRET"]
    assert Settings.from_env(env).socket_mode is True


def test_timers_can_be_overridden() -> None:
    settings = Settings.from_env(valid_env(POLL_FAST_INTERVAL="2s", REVOKE_REMINDERS="1m,2m", POLL_CONCURRENCY="3"))
    assert settings.timers.poll_fast_interval == timedelta(seconds=2)
    assert settings.timers.revoke_reminders == (timedelta(minutes=1), timedelta(minutes=2))
    assert settings.timers.poll_concurrency == 3
    assert describe_timers(settings.timers)["REVOKE_REMINDERS"] == "60s,120s"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("3d", 259200)])
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_secrets_never_appear_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    key = generate_key()
    settings = Settings.from_env(valid_env(BOT_SECRET_KEY=key, SLACK_APP_TOKEN="xapp-1-secretapp"))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %s / %r", settings, settings)
        logging.getLogger("test").info("token: %s", settings.slack_bot_token)
    shown = repr(settings) + str(settings) + caplog.text + repr(settings.slack_bot_token)
    for secret in (TOKEN, SIGNING, key, "xapp-1-secretapp"):
        assert secret not in shown
    assert settings.slack_bot_token.reveal() == TOKEN


def test_a_malformed_secret_key_is_reported_without_its_value() -> None:
    with pytest.raises(ConfigError) as exc_info:
        Settings.from_env(valid_env(BOT_SECRET_KEY="hunter2-hunter2"))
    assert "BOT_SECRET_KEY" in str(exc_info.value)
    assert "hunter2" not in str(exc_info.value)


def test_operations_settings_default_and_parse() -> None:
    defaults = Settings.from_env(valid_env())
    assert (defaults.health_port, defaults.shutdown_timeout, defaults.ready_outbox_age) == (None, 10.0,
                                                                                           timedelta(minutes=5))
    tuned = Settings.from_env(valid_env(HEALTH_PORT="8081", SHUTDOWN_TIMEOUT="25s", READY_OUTBOX_AGE="2m"))
    assert (tuned.health_port, tuned.shutdown_timeout, tuned.ready_outbox_age) == (8081, 25.0, timedelta(minutes=2))


def test_bad_operations_settings_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(valid_env(HEALTH_PORT="99999", SHUTDOWN_TIMEOUT="soon"))
    text = str(raised.value)
    assert "HEALTH_PORT" in text and "SHUTDOWN_TIMEOUT" in text


@pytest.mark.parametrize("given", ["postgres://u:pw@db:5432/bot", "postgresql://u:pw@db:5432/bot",
                                   "postgresql+psycopg://u:pw@db:5432/bot"])
def test_a_postgresql_url_always_means_the_psycopg_driver(given: str) -> None:
    assert Settings.from_env(valid_env(DATABASE_URL=given)).database_url == "postgresql+psycopg://u:pw@db:5432/bot"


@pytest.mark.parametrize(("given", "says"), [
    ("mysql://u:hunter2@db/bot", "mysql is not supported"),
    ("postgresql+psycopg2://u:hunter2@db/bot", "use postgresql+psycopg://"),
    ("not a url at all hunter2", "not a database URL"),
])
def test_an_unusable_database_url_is_a_configuration_error_that_hides_the_password(given: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(valid_env(DATABASE_URL=given))
    (problem,) = raised.value.problems
    assert problem.startswith("DATABASE_URL:") and says in problem and "hunter2" not in problem


def test_variable_names_lists_every_variable_the_settings_read() -> None:
    """tests/conftest.py strips these from every test's environment; a hand-kept list used to miss some."""
    names = variable_names()
    assert {"REMOVAL_CONFIRMATION", "SLACK_BOT_TOKEN", "DATABASE_URL", "LEASE_TTL", "POLL_FAST_INTERVAL",
            "SLACK_POST_INTERVAL", "SINCH_ACCOUNT_KEY_SECRET"} <= names
    env = {name: "not a valid value" for name in names}
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    # With every name set to junk, nothing is reported missing: no variable is read that the list lacks.
    assert "required but not set" not in str(raised.value)
