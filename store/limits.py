"""Column sizes, read from the models, so that input is checked against them before it reaches the database.

SQLite stores a string of any length in a VARCHAR(32); PostgreSQL refuses it (StringDataRightTruncation) and
the whole transaction fails. Callers check (or clip) first, with the numbers taken from here, never copied.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from store.models import AuditEvent, Onboarding

__all__ = ["MAX_ROW_ID", "clip", "column_length", "is_storable", "slack_id_length"]

# Row ids are INTEGER columns: 32 bits on PostgreSQL, which refuses a larger number in a query on them
# ("integer out of range"), where SQLite just finds no row.
MAX_ROW_ID = 2**31 - 1

# Every column that stores an id Slack gave us (a user, a channel, a message timestamp).
_SLACK_ID_COLUMNS: tuple[tuple[type[SQLModel], str], ...] = (
    (Onboarding, "requester_id"),
    (Onboarding, "approver_id"),
    (Onboarding, "cancelled_by"),
    (Onboarding, "project_registered_by"),
    (Onboarding, "invited_by"),
    (Onboarding, "revoked_by"),
    (Onboarding, "slack_channel"),
    (Onboarding, "thread_ts"),
    (AuditEvent, "actor"),
)


@cache
def column_length(model: type[SQLModel], field: str) -> int:
    """The declared maximum length of `model.field`; a ValueError for a column without one."""
    column = model.__table__.columns[field]  # type: ignore[attr-defined]
    column_type = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    length = getattr(column_type, "length", None)
    if not isinstance(length, int):
        raise ValueError(f"{model.__name__}.{field} has no length limit")
    return length


@cache
def slack_id_length() -> int:
    """The longest Slack id (user, channel, team, view…) that every column holding one can store."""
    return min(column_length(model, field) for model, field in _SLACK_ID_COLUMNS)


def clip(value: str, model: type[SQLModel], field: str) -> str:
    """`value` cut to fit `model.field`, for text we keep only as information (an error, a description)."""
    limit = column_length(model, field)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def is_storable(value: str) -> bool:
    """Whether any text column can keep `value`: PostgreSQL refuses a NUL character, and neither database
    driver can encode a lone surrogate (which JSON can carry) as UTF-8."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
