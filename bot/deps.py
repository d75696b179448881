"""The bot's collaborators, built once at start-up and passed to listeners, flows and jobs.

Each collaborator that lives in a higher layer (the outbox in `bot/background/`, the approver directory and the
Home tab's viewers in `bot/slack/`) is named here by what is asked of it, a `Protocol`, so this module imports
nothing above the workflow: every layer may import it. `bot/runtime.py` builds the real ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from bot.config import Settings
from sinch import SinchClient
from store.secrets import SecretBox

__all__ = ["Approvers", "Deps", "HomeViewerLog", "Outbox"]


class Outbox(Protocol):
    """Delivers the outbox's rows to Slack (`bot/background/outbox.py:OutboxDispatcher`)."""

    def wake(self) -> None: ...

    def run(self, stop: threading.Event, *, idle_seconds: float = ...) -> None: ...

    def pending(self) -> int: ...

    def deliver_due(self, stop: threading.Event | None = ...) -> int: ...


class Approvers(Protocol):
    """Who may approve (`bot/slack/approvers.py:ApproverDirectory`)."""

    @property
    def mentions(self) -> tuple[str, ...]: ...

    def is_approver(self, user_id: str) -> bool: ...


class HomeViewerLog(Protocol):
    """Who looked at the App Home tab recently (`bot/slack/home_viewers.py:HomeViewers`)."""

    def opened(self, user: str, now: datetime) -> None: ...

    def claim_due(self, now: datetime) -> list[str]: ...


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    sinch: SinchClient  # for background work: normal timeouts; no in-line retries (jobs reschedule)
    sinch_interactive: SinchClient  # inside a Slack request: short timeout, no retries (3 s ack budget)
    secrets: SecretBox
    approvers: Approvers
    outbox: Outbox
    clock: Callable[[], datetime]
    home_viewers: HomeViewerLog
    # This process's name in the database's leases (host, pid and a random part; see store/leases.py).
    worker_id: str
    # Runs work a listener starts after its transaction commits (an app creation), off the request thread.
    run_later: Callable[[Callable[[], None]], None]
    # Runs a Slack call that must start within a trigger id's 3 s (opening a form), off the request thread, on
    # a pool of its own, so app creations queued on run_later's cannot make the trigger expire.
    run_soon: Callable[[Callable[[], None]], None]
    on_poll: Callable[[str], None] = field(default=lambda outcome: None)  # counts polls by outcome (metrics)
