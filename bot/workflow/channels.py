"""Which channels a case connects (one place, so a new channel is added here only)."""

from __future__ import annotations

from store.models import Onboarding

__all__ = ["channels_of"]


def channels_of(case: Onboarding) -> tuple[str, ...]:
    """The channels the customer was given access for: every case is Messenger only today."""
    return ("Messenger",)
