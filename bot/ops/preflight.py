"""Checks that must pass before the bot imports its own packages: today, that `sinch` is ours."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["foreign_sinch"]

MARKER = "ONBOARDING_BOT_PACKAGE = True"


def foreign_sinch() -> str | None:
    """One line naming the fix when the `sinch` package Python would import is not the bot's, else None.

    Sinch's own SDK on PyPI is also a top-level `sinch` package: installed beside the bot it shadows (or
    overwrites) ours and the bot dies with an ImportError. Found without importing it: its __init__.py
    lacks the marker line ours carries.
    """
    spec = importlib.util.find_spec("sinch")
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    if origin is not None and origin.name == "__init__.py":
        try:
            if MARKER in origin.read_text(encoding="utf-8"):
                return None
        except OSError:
            pass
    where = str(origin.parent) if origin is not None else "nowhere"
    return (f"the 'sinch' package at {where} is not the bot's (Sinch's own SDK, pip package 'sinch', is also "
            "named sinch): install the bot in its own virtual environment without that SDK")
