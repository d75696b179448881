"""Seeding many cases fast: apps straight into the sandbox's state, case rows in bulk through the ORM.

Only the benchmarks use this. It goes through public APIs (`SandboxState.create_project/create_app`,
the `Onboarding` model, `SecretBox.seal`) and adds nothing to production code paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from sinch.models import ChannelStatus, Region
from sinch.sandbox.state import SandboxState
from store import repo
from store.db import session_scope
from store.models import Onboarding, PageType
from store.secrets import SecretBox
from store.states import OnboardingState

__all__ = ["SeededApp", "seed_awaiting_customer", "seed_sandbox_apps"]

CHUNK = 2000


@dataclass(frozen=True)
class SeededApp:
    project_id: str
    key_id: str
    key_secret: str
    app_id: str
    region: Region


def seed_sandbox_apps(state: SandboxState, count: int, *, region: Region = Region.EU) -> list[SeededApp]:
    """`count` customer projects, each with its own access key and one Conversation app (no Page yet)."""
    seeded = []
    for index in range(count):
        project, key = state.create_project(f"Bench Customer {index}")
        app = state.create_app(project.project_id, region, f"Bench Customer {index} - Messenger")
        seeded.append(SeededApp(project.project_id, key.key_id, key.secret, app.app_id, region))
    return seeded


def seed_awaiting_customer(
    engine: Engine,
    box: SecretBox,
    apps: Sequence[SeededApp],
    *,
    now: datetime,
    channel: str,
    requester: str = "U0REQ",
    thread_ts: Sequence[str] | None = None,
) -> list[int]:
    """One case per app, invited two days ago, no Page connected yet, due for a poll now; returns the ids."""
    invited_at = now - timedelta(days=2)
    ids: list[int] = []
    for start in range(0, len(apps), CHUNK):
        with session_scope(engine) as session:
            cases = []
            for index in range(start, min(start + CHUNK, len(apps))):
                app = apps[index]
                name = f"Bench Customer {index}"
                cases.append(Onboarding(
                    customer_name=name, customer_key=repo.normalise_name(name),
                    contact_email=f"owner{index}@bench.test", region=app.region,
                    page=f"https://www.facebook.com/benchcustomer{index}", page_type=PageType.BUSINESS,
                    business_verified=True, page_admin=True, chat_button=True,
                    state=OnboardingState.AWAITING_CUSTOMER, state_entered_at=invited_at,
                    created_at=invited_at - timedelta(hours=1), updated_at=invited_at,
                    requester_id=requester, approver_id="U0LEAD", decided_at=invited_at - timedelta(minutes=50),
                    project_id=app.project_id, key_id=app.key_id, key_secret_sealed=box.seal(app.key_secret),
                    project_registered_by="U0STAFF", project_registered_at=invited_at - timedelta(minutes=30),
                    app_name=f"{name} - Messenger", app_id=app.app_id,
                    invited_by="U0STAFF", invited_at=invited_at,
                    channel_status=ChannelStatus.NOT_CONNECTED, channel_checked_at=now - timedelta(minutes=30),
                    slack_channel=channel,
                    thread_ts=thread_ts[index] if thread_ts is not None else f"1764000000.{index + 1:06d}",
                    next_poll_at=now - timedelta(minutes=1),
                ))
            session.add_all(cases)
            session.flush()
            ids.extend(case.id for case in cases if case.id is not None)
    return ids
