"""Onboarding stage times from the audit trail: per stage the median, the 90th percentile and the count, and the
open cases waiting longest at each stage. Pure: the caller reads the trail (store/reports.py) and the clock.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.workflow.channels import connected_at
from store import reports as store
from store.models import AuditEvent, Onboarding
from store.states import OnboardingState

__all__ = ["STAGES", "Stage", "StageFigures", "StageReport", "Waiting", "percentile", "stage_durations",
           "read_report", "stage_report"]

S = OnboardingState
WAITING_SHOWN = 3


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    start: OnboardingState  # the stage runs from the case's first entry into this state…
    ends: Callable[[AuditEvent], bool]  # …to the first event after it that this accepts
    pending_in: frozenset[OnboardingState]  # open cases in these states are waiting at this stage
    waits_on: str  # "approvers" | "requester" | "bot" | "customer" | "staff"
    per_channel: bool = False


def _moved(source: OnboardingState, target: OnboardingState) -> Callable[[AuditEvent], bool]:
    return lambda event: event.from_state == source and event.to_state == target


STAGES: tuple[Stage, ...] = (
    Stage("approval", "Approval", S.AWAITING_APPROVAL, _moved(S.AWAITING_APPROVAL, S.CREATING_PROJECT),
          frozenset({S.AWAITING_APPROVAL}), "approvers"),
    Stage("project", "Project registered", S.CREATING_PROJECT, _moved(S.CREATING_PROJECT, S.CREATING_APP),
          frozenset({S.CREATING_PROJECT}), "requester"),
    Stage("app", "App created", S.CREATING_APP, _moved(S.CREATING_APP, S.INVITING), frozenset({S.CREATING_APP}), "bot"),
    Stage("invite", "Invitation sent", S.INVITING, _moved(S.INVITING, S.AWAITING_CUSTOMER), frozenset({S.INVITING}),
          "requester"),
    Stage("connect", "Customer connected", S.AWAITING_CUSTOMER,
          lambda event: event.to_state == S.REVOKING and event.action == "channel_active",
          frozenset({S.AWAITING_CUSTOMER, S.ACTIVATING, S.FAILING}), "customer", per_channel=True),
    Stage("removal", "Access removed", S.REVOKING,
          lambda event: event.from_state == S.REVOKING and event.action == "confirm_revocation",
          frozenset({S.REVOKING, S.CONFIRMING_REMOVAL}), "staff"),
)


@dataclass(frozen=True)
class Duration:
    stage: str
    channel: str  # "" for stages that are not per channel
    onboarding_id: int
    ended_at: datetime
    took: timedelta


def stage_durations(events: Iterable[AuditEvent], cases: dict[int, Onboarding]) -> list[Duration]:
    """Every completed stage of every case in `events` (ordered by case, then time)."""
    by_case: dict[int, list[AuditEvent]] = {}
    for event in events:
        by_case.setdefault(event.onboarding_id, []).append(event)
    found: list[Duration] = []
    for case_id, trail in by_case.items():
        case = cases.get(case_id)
        for stage in STAGES:
            started = next((e.at for e in trail if e.to_state == stage.start), None)
            if started is None:
                continue
            end = next((e for e in trail if e.at >= started and stage.ends(e)), None)
            if end is None:
                continue
            if not (stage.per_channel and case is not None):
                found.append(Duration(stage.key, "", case_id, end.at, end.at - started))
                continue
            # Each channel's own time: the case moves on when the last requested channel is ACTIVE.
            for channel, active in connected_at(case).items():
                ended = active if active is not None and started <= active <= end.at else end.at
                found.append(Duration(stage.key, channel, case_id, ended, ended - started))
    return found


def percentile(values: Sequence[timedelta], share: float) -> timedelta:
    """Nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class StageFigures:
    stage: Stage
    channel: str
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class Waiting:
    case: Onboarding
    since: datetime


@dataclass(frozen=True)
class StageReport:
    days: int
    now: datetime
    figures: tuple[StageFigures, ...]
    waiting: dict[str, tuple[Waiting, ...]]  # by stage key, longest first


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def stage_report(*, events: Iterable[AuditEvent], cases: Sequence[Onboarding], now: datetime,
                 days: int) -> StageReport:
    """The figures for stages that ended in the last `days` days, and who is waiting longest now."""
    by_id = {case.id: case for case in cases if case.id is not None}
    since = now - timedelta(days=days)
    recent = [d for d in stage_durations(events, by_id) if since <= d.ended_at <= now]
    figures: list[StageFigures] = []
    for stage in STAGES:
        channels = sorted({d.channel for d in recent if d.stage == stage.key}) or ([""] if not stage.per_channel
                                                                                 else ["Messenger"])
        for channel in channels:
            values = [d.took for d in recent if d.stage == stage.key and d.channel == channel]
            figures.append(StageFigures(stage, channel, len(values), _median(values),
                                        percentile(values, 0.9) if values else None))
    waiting: dict[str, tuple[Waiting, ...]] = {}
    for stage in STAGES:
        stuck = [Waiting(case, (case.invited_at or case.state_entered_at) if stage.per_channel
                         else case.state_entered_at)
                 for case in cases if case.state in stage.pending_in]
        waiting[stage.key] = tuple(sorted(stuck, key=lambda w: w.since)[:WAITING_SHOWN])
    return StageReport(days=days, now=now, figures=tuple(figures), waiting=waiting)


def read_report(*, session: Session, now: datetime, days: int) -> StageReport:
    """The report for the last `days` days, read from the database."""
    events, active = store.trails_since(session=session, since=now - timedelta(days=days))
    cases = {case.id: case for case in [*active, *store.open_cases(session=session)]}
    return stage_report(events=events, cases=list(cases.values()), now=now, days=days)
