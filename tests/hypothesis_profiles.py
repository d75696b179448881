"""Hypothesis profiles: `quick` by default, `thorough` with HYPOTHESIS_PROFILE=thorough (CI runs it once).

`thorough` is Hypothesis's own default (100 examples a test); `quick` runs a quarter as many. Tests that
set their own example count (the hostile-input ones) pass it through `examples()`, so the profile scales
it too: `thorough` runs exactly the count written in the test.
"""

from __future__ import annotations

import os

from hypothesis import settings

__all__ = ["ENV_VARIABLE", "PROFILES", "examples", "load_profile"]

ENV_VARIABLE = "HYPOTHESIS_PROFILE"
FULL = 100  # Hypothesis's default max_examples: a test's own count is meant for it
PROFILES = {"quick": 25, "thorough": FULL}  # max_examples of each profile
DEFAULT = "quick"


def load_profile() -> str:
    """Register both profiles and load the one HYPOTHESIS_PROFILE names (a ValueError for an unknown one)."""
    for name, max_examples in PROFILES.items():
        settings.register_profile(name, max_examples=max_examples)
    chosen = os.environ.get(ENV_VARIABLE, "").strip() or DEFAULT
    if chosen not in PROFILES:
        raise ValueError(f"{ENV_VARIABLE}={chosen!r}: use one of {', '.join(PROFILES)}")
    settings.load_profile(chosen)
    return chosen


def examples(full: int, *, profile: str | None = None) -> int:
    """A test's example count under the loaded profile (or `profile`): `full` in `thorough`, less in `quick`."""
    max_examples = PROFILES[profile] if profile is not None else settings().max_examples
    return max(1, full * max_examples // FULL)
