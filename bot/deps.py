"""The bot's collaborators, built once at start-up and passed to listeners and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.background.outbox import OutboxDispatcher
from bot.config import Settings
from bot.slack.approvers import ApproverDirectory
from bot.slack.home_viewers import HomeViewers
from sinch import SinchClient
from store.secrets import SecretBox

__all__ = ["Deps"]


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    sinch: SinchClient  # for background work: normal timeouts; no in-line retries (jobs reschedule)
    sinch_interactive: SinchClient  # inside a Slack request: short timeout, no retries (3 s ack budget)
    secrets: SecretBox
    approvers: ApproverDirectory
    outbox: OutboxDispatcher
    clock: Callable[[], datetime]
    home_viewers: HomeViewers
    # This process's name in the database's leases (host, pid and a random part; see store/leases.py).
    worker_id: str
    # Runs work a listener starts after its transaction commits (an app creation), off the request thread.
    run_later: Callable[[Callable[[], None]], None]
    on_poll: Callable[[str], None] = field(default=lambda outcome: None)  # counts polls by outcome (metrics)
