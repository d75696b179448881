"""INSERT … ON CONFLICT DO NOTHING, spelled for the database in use (SQLite and PostgreSQL agree on it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

__all__ = ["insert_if_absent"]


def insert_if_absent(*, session: Session, model: type[SQLModel], values: dict[str, Any]) -> None:
    """Insert one row unless its primary key is taken; never raises for a concurrent insert of the same key."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    bind = session.get_bind()
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())
