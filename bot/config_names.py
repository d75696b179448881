"""The names of every environment variable the bot reads, asked of the settings themselves."""

from __future__ import annotations

from typing import Any

from bot.config import ConfigError, Settings
from bot.config_env import check_key_from_env

__all__ = ["variable_names"]


class _ReadingEnv(dict[str, str]):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def variable_names() -> frozenset[str]:
    """Every environment variable the bot reads: those `Settings.from_env` asks for, and the optional key
    `check` tries (tests strip them all; `.env.example` and README's table list exactly these)."""
    env = _ReadingEnv()
    try:
        Settings.from_env(env)
    except ConfigError:
        pass  # an empty environment lacks the required ones; every name was asked for all the same
    check_key_from_env(env)
    return frozenset(env.asked)
