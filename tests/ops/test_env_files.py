"""`.env.example` and the README's configuration table list exactly the variables the settings read, and
`.env.example` works as an env file read verbatim (systemd's EnvironmentFile, docker's --env-file)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings
from bot.config_names import variable_names
from store.secrets import generate_key

ROOT = Path(__file__).resolve().parents[2]


def settings_variables() -> set[str]:
    """Every variable the bot reads, as bot/config.py asks for them."""
    return set(variable_names())


def env_example_lines() -> dict[str, str]:
    """`.env.example`'s assignments as an env file reader that takes values verbatim sees them."""
    entries: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            entries[name] = value
    return entries


def readme_table_variables() -> set[str]:
    """The first column of README's configuration table (`A` / `B` rows name several)."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| variable | default | meaning |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1])
    return {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}


def test_the_settings_modules_name_the_variables_we_know() -> None:
    variables = settings_variables()
    assert {"SLACK_BOT_TOKEN", "LOG_FORMAT", "LOG_LEVEL", "LEASE_TTL", "SINCH_KEY_ID", "SWEEP_INTERVAL"} <= variables
    assert "ONE_PERSON" not in variables


def test_env_example_lists_exactly_the_variables_the_settings_read() -> None:
    listed = set(env_example_lines())
    variables = settings_variables()
    assert sorted(variables - listed) == [], "missing from .env.example"
    assert sorted(listed - variables) == [], "in .env.example but not read by the settings"


def test_readme_table_lists_exactly_the_variables_the_settings_read() -> None:
    listed = readme_table_variables()
    variables = settings_variables()
    assert sorted(variables - listed) == [], "missing from README's configuration table"
    assert sorted(listed - variables) == [], "in README's table but not read by the settings"


def test_env_example_values_have_no_inline_comments() -> None:
    for name, value in env_example_lines().items():
        assert "#" not in value and value == value.strip(), f"{name}={value!r}: comments go on their own line"


def test_env_example_read_verbatim_is_a_valid_configuration() -> None:
    env = {**env_example_lines(), "BOT_SECRET_KEY": generate_key()}
    settings = Settings.from_env(env)
    assert settings.log_format == "text"
    assert settings.shutdown_timeout == 10.0
    assert settings.ready_outbox_age.total_seconds() == 300
