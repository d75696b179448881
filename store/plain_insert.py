"""A multi-row INSERT written out once and handed to the driver as text: for the rows every click writes.

SQLAlchemy's Core INSERT spends more client CPU than the round trip it makes: it looks up the compiled
statement, processes each parameter, and, for several rows on psycopg, runs `executemany` through a pipeline.
A click writes an audit row and three or four outbox rows while it holds the case's lock, so on PostgreSQL
those two statements cost 0.34 ms of a 2–3 ms click (python -m bench ack, issue 22). Here the text is built
once per table, columns, row count and dialect, values go through the columns' own bind processors (so a
datetime or an enum is stored exactly as the ORM would store it), and `exec_driver_sql` sends it: still through
the engine, so errors are SQLAlchemy's (the retry on contention sees them) and the transaction is the session's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect

__all__ = ["insert_rows"]

# Placeholders by DBAPI paramstyle, for the drivers this project supports (sqlite3: qmark, psycopg: pyformat).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(connection: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (each holding every name in `columns`) into `table` in one statement."""
    if not rows:
        return
    names = tuple(columns)
    sql, processors = _plan(connection.dialect, table, names, len(rows))
    values = tuple(value if process is None else process(value)
                   for row in rows for value, process in zip((row[name] for name in names), processors, strict=True))
    connection.exec_driver_sql(sql, values)


_Processor = Callable[[Any], Any] | None
# By the dialect's name and driver rather than the object: every engine has its own dialect, and tests make many.
_plans: dict[tuple[str, str, str, tuple[str, ...], int], tuple[str, tuple[_Processor, ...]]] = {}


def _plan(dialect: Dialect, table: Table, columns: tuple[str, ...], count: int) -> tuple[str, tuple[_Processor, ...]]:
    """The statement's text and each column's bind processor (None: sent as is)."""
    key = (dialect.name, dialect.driver, table.name, columns, count)
    plan = _plans.get(key)
    if plan is None:
        try:
            placeholder = _PLACEHOLDERS[dialect.paramstyle]
        except KeyError:
            raise NotImplementedError(f"no plain INSERT for the {dialect.paramstyle!r} paramstyle") from None
        quote = dialect.identifier_preparer.quote
        row = "(" + ", ".join([placeholder] * len(columns)) + ")"
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
               f"VALUES {', '.join([row] * count)}")
        # dialect_impl: the column's type as this dialect stores it (SQLite's DATETIME is text, for one).
        processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)
        plan = _plans.setdefault(key, (sql, processors))
    return plan
