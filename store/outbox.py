"""The outbox as a work queue shared by every process: which rows are due, claiming one, recording the outcome.

A row is claimed by one process at a time: status SENDING with `lease_owner` and `lease_until`. Only a
SENDING row whose lease has ended (or that a crash of an older version left without one) is "in doubt",
may be claimed by another process, and must be looked up in Slack before it is posted again. A row is
claimable only when every earlier row of its case is delivered or failed, so each case's posts keep their
order whichever process sends them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Update, and_, bindparam, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from store.limits import clip
from store.models import ChannelPace, OutboxKind, OutboxMessage, OutboxStatus
from store.upsert import insert_if_absent

__all__ = [
    "Claim",
    "channel_held_until",
    "claim",
    "delivered_step_messages",
    "due_ids",
    "fail",
    "finish",
    "hold_channel",
    "latest_card_row",
    "pending_count",
    "renew",
    "reschedule",
    "reserve_post_slot",
    "resolutions_before",
]

UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True)
class Claim:
    row: OutboxMessage
    in_doubt: bool  # a previous claim ended without an outcome: look in Slack before posting again


def _claimable() -> ColumnElement[bool]:
    """Claimable at the bound parameter `now`."""
    now: BindParameter[datetime] = bindparam("now")
    earlier = aliased(OutboxMessage)
    lease_over = or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) <= now)
    return and_(
        col(OutboxMessage.next_attempt_at) <= now,
        or_(col(OutboxMessage.status) == OutboxStatus.PENDING,
            and_(col(OutboxMessage.status) == OutboxStatus.SENDING, lease_over)),
        ~exists().where(col(earlier.onboarding_id) == col(OutboxMessage.onboarding_id))
        .where(col(earlier.id) < col(OutboxMessage.id))
        .where(col(earlier.status).in_(UNDELIVERED)),
    )


# The delivery loop runs these two for every row it sends, and the outbox is polled while idle. Built once,
# with bound parameters: building them (an aliased class and a dozen comparisons) cost more than running them
# on SQLite, and an unchanged statement reuses its cache key as well as its compiled SQL.
@functools.cache
def _due_statement() -> SelectOfScalar[int | None]:
    return (select(col(OutboxMessage.id)).where(_claimable())
            .order_by(col(OutboxMessage.priority).desc(), col(OutboxMessage.id)).limit(bindparam("limit")))


@functools.cache
def _claim_statement() -> SelectOfScalar[OutboxMessage]:
    return (select(OutboxMessage).where(OutboxMessage.id == bindparam("row_id")).where(_claimable())
            .with_for_update(skip_locked=True, key_share=True))


def due_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Rows that may be claimed now (at most one per case: the oldest undelivered): urgent ones first, then
    in write order."""
    rows = session.exec(_due_statement(), params={"now": now, "limit": limit})
    return [row_id for row_id in rows if row_id is not None]


def claim(*, session: Session, row_id: int, now: datetime, owner: str, lease_ttl: timedelta) -> Claim | None:
    """Claim this row for `owner` until `now + lease_ttl`, or None if it is not claimable (any more)."""
    row = session.exec(_claim_statement(), params={"row_id": row_id, "now": now}).first()
    if row is None:
        return None
    in_doubt = row.status is OutboxStatus.SENDING
    row.status = OutboxStatus.SENDING
    row.attempts += 1
    row.lease_owner = owner
    row.lease_until = now + lease_ttl
    session.add(row)
    session.flush()
    return Claim(row=row, in_doubt=in_doubt)


def renew(*, session: Session, row_id: int, owner: str, until: datetime) -> bool:
    """Extend our claim on a row; False if it is no longer ours (it expired and another process took it)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
        .where(col(OutboxMessage.lease_owner) == owner)
        .values(lease_until=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@functools.cache
def _finish_statement(*, covers_cards: bool) -> Update:
    covered: ColumnElement[bool] = col(OutboxMessage.id) == bindparam("row_id")
    if covers_cards:
        covered = or_(covered, and_(col(OutboxMessage.onboarding_id) == bindparam("case_id"),
                                    col(OutboxMessage.kind) == OutboxKind.CARD,
                                    col(OutboxMessage.id) <= bindparam("card_rows_up_to"),
                                    col(OutboxMessage.status).in_(UNDELIVERED)))
    return (update(OutboxMessage).where(covered)
            .values(status=OutboxStatus.DELIVERED, delivered_at=bindparam("now"), slack_ts=bindparam("ts"),
                    last_error=None, lease_until=None, lease_owner=None))


def finish(*, session: Session, row_id: int, now: datetime, ts: str | None, card_rows_up_to: int | None,
           onboarding_id: int) -> None:
    """Record a row as delivered; a card update also covers the later card rows it already showed."""
    # Parameters named after none of the table's columns: an UPDATE takes such a one as a value to set.
    params: dict[str, object] = {"row_id": row_id, "now": now, "ts": ts}
    if card_rows_up_to is not None:
        params |= {"case_id": onboarding_id, "card_rows_up_to": card_rows_up_to}
    session.execute(_finish_statement(covers_cards=card_rows_up_to is not None), params=params)


def fail(*, session: Session, row_id: int, error: str) -> None:
    """Give up on a row after a permanent error; later rows of its case may go."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == row_id)
                    .values(status=OutboxStatus.FAILED, last_error=clip(error, OutboxMessage, "last_error"),
                            lease_until=None, lease_owner=None))


def reschedule(*, session: Session, row_id: int, now: datetime, error: str, in_doubt: bool,
               max_backoff: timedelta) -> None:
    """Try again later: PENDING if nothing can have reached Slack, else SENDING with no lease (in doubt)."""
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return
    row.status = OutboxStatus.SENDING if in_doubt else OutboxStatus.PENDING
    row.next_attempt_at = now + min(max_backoff, timedelta(seconds=2 ** min(row.attempts, 10)))
    row.last_error = clip(error, OutboxMessage, "last_error")
    row.lease_until = None
    row.lease_owner = None
    session.add(row)


def pending_count(*, session: Session) -> int:
    statement = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status).in_(UNDELIVERED))
    return int(session.exec(statement).one())


def latest_card_row(*, session: Session, onboarding_id: int) -> int:
    statement = (select(func.max(OutboxMessage.id)).where(OutboxMessage.onboarding_id == onboarding_id)
                 .where(OutboxMessage.kind == OutboxKind.CARD))
    return int(session.exec(statement).first() or 0)


def resolutions_before(*, session: Session, onboarding_id: int, row_id: int) -> list[OutboxMessage]:
    """The case's RESOLVE rows written before this one."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.onboarding_id == onboarding_id)
                             .where(OutboxMessage.kind == OutboxKind.RESOLVE)
                             .where(col(OutboxMessage.id) < row_id)))


def delivered_step_messages(*, session: Session, onboarding_id: int, after: int, before: int) -> list[OutboxMessage]:
    """Delivered thread replies of the case with ids in (after, before), with their Slack ts."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.onboarding_id == onboarding_id)
                             .where(OutboxMessage.kind == OutboxKind.REPLY)
                             .where(OutboxMessage.status == OutboxStatus.DELIVERED)
                             .where(col(OutboxMessage.id) > after)
                             .where(col(OutboxMessage.id) < before)
                             .where(col(OutboxMessage.slack_ts).is_not(None))
                             .order_by(col(OutboxMessage.id))))


def _locked_pace(*, session: Session, channel: str) -> ChannelPace:
    """The channel's pace row (created on first use), locked until the caller's transaction ends: every
    process changes it in turn."""
    locked = select(ChannelPace).where(ChannelPace.channel == channel).with_for_update()
    pace = session.exec(locked).first()
    if pace is None:  # once per channel; a concurrent first use inserts it too, and ours waits for theirs
        insert_if_absent(session=session, model=ChannelPace, values={"channel": channel, "next_post_at": 0.0})
        pace = session.exec(locked).one()
    return pace


def reserve_post_slot(*, session: Session, channel: str, now: float, interval: float) -> float:
    """The time (epoch seconds) at which the caller may post to `channel`; the next one is `interval` later.

    The slot lives in the database, so every process shares one pace per channel. It is counted from the
    send: the caller posts at the returned time, whatever Slack takes to answer.
    """
    pace = _locked_pace(session=session, channel=channel)
    slot = max(now, pace.next_post_at)
    pace.next_post_at = slot + interval
    session.add(pace)
    return slot


def hold_channel(*, session: Session, channel: str, until: float, interval: float) -> None:
    """Slack answered a post to `channel` with a rate limit: no process posts before `until`, and the slots
    already taken before it are void (their holders take new ones).

    When every slot taken so far is void (the last one, `interval` before the next free one, is before
    the end of the hold), the next free slot is the end of the hold: the slots are taken again from the end of the hold,
    not after the void ones, which would leave the time between unused.
    """
    pace = _locked_pace(session=session, channel=channel)
    pace.held_until = max(pace.held_until, until)  # an earlier, longer hold still stands
    if pace.next_post_at - interval < pace.held_until:
        pace.next_post_at = pace.held_until
    session.add(pace)


def channel_held_until(*, session: Session, channel: str) -> float:
    """Until when (epoch seconds) a rate limit holds `channel`; 0 if it never has."""
    held = session.exec(select(ChannelPace.held_until).where(ChannelPace.channel == channel)).first()
    return float(held or 0.0)
