"""Settings read before (or without) the full Settings: logging, the BOT_SECRET_KEY keyring, `check`'s Sinch key.

Part of bot/config.py's settings (it re-exports these); kept apart so that module stays small. Nothing here reads
`os.environ` by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ConfigError", "LoggingSettings", "check_key_from_env", "keyring_from_env", "log_format", "log_level",
           "secrets_from_env"]

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Settings the log hygiene redacts wherever they would appear (each key of a BOT_SECRET_KEY keyring too).
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "BOT_SECRET_KEY", "SINCH_KEY_SECRET",
                    "SINCH_ACCOUNT_KEY_SECRET")


class ConfigError(ValueError):
    """One or more configuration values are missing or invalid; the message names every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"- {problem}" for problem in problems))


def log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise ValueError(f"{text!r} is not a level: use one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def log_format(text: str) -> str:
    if text.lower() not in LOG_FORMATS:
        raise ValueError(f"{text!r} is not a format: use text or json")
    return text.lower()


@dataclass(frozen=True)
class LoggingSettings:
    """What logging needs before anything else is read: level, format and the secrets to redact."""

    level: str | None  # None: the command's own default
    log_format: str
    secrets: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LoggingSettings:
        """LOG_LEVEL, LOG_FORMAT and every secret; a ConfigError names a bad level or format."""

        problems: list[str] = []
        level: str | None = None
        chosen_format = "text"
        for name, parse in (("LOG_LEVEL", log_level), ("LOG_FORMAT", log_format)):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                value = parse(raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            if name == "LOG_LEVEL":
                level = value
            else:
                chosen_format = value
        settings = cls(level=level, log_format=chosen_format, secrets=secrets_from_env(env))
        if problems:
            raise ConfigError(problems)
        return settings


def secrets_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """Every secret setting's value, and each key of the BOT_SECRET_KEY keyring on its own."""
    secrets = [env.get(name, "").strip() for name in SECRET_VARIABLES]
    secrets += [key.strip() for key in keyring_from_env(env).split(",")]
    return tuple(secret for secret in secrets if secret)


def keyring_from_env(env: Mapping[str, str]) -> str:
    """BOT_SECRET_KEY as given (one key, or several comma-separated while rotating); empty when unset."""
    return env.get("BOT_SECRET_KEY", "").strip()


def check_key_from_env(env: Mapping[str, str]) -> tuple[str, str, str]:
    """(SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET): the optional key `check` gets a token with."""
    return (env.get("SINCH_PROJECT_ID", "").strip(), env.get("SINCH_KEY_ID", "").strip(),
            env.get("SINCH_KEY_SECRET", "").strip())
