"""Migration 0003_guards: nullable columns on top of the previous head, reversible, rows kept both ways."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from store.db import _alembic_config, current_revision, make_engine, migrate

PREVIOUS = "0003_outbox_priority"
THIS = "0003_guards"
NEW_COLUMNS = {"removal_checked_by", "removal_checked_at", "existing_of", "subproject_check", "page_check",
               "wrong_page_id"}


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("onboarding")}


def test_0003_adds_nullable_columns_and_downgrades_keeping_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine, PREVIOUS)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO onboarding (version, customer_name, customer_key, contact_email, region, page, page_type,"
            " business_verified, page_admin, chat_button, notes, state, state_entered_at, created_at, updated_at,"
            " requester_id, app_attempts) VALUES (1, 'Old Co', 'old co', 'old@co.test', 'br', 'Old Page',"
            " 'personal', 1, 1, 0, '', 'revoking', '2026-01-01 10:00:00', '2026-01-01 10:00:00',"
            " '2026-01-01 10:00:00', 'U7', 0)"))
    assert migrate(engine, THIS) == THIS
    assert NEW_COLUMNS <= _columns(engine)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT existing_of, page_check, removal_checked_by FROM onboarding")).one()
    assert tuple(row) == (None, None, None)

    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        command.downgrade(_alembic_config(connection), PREVIOUS)
    assert current_revision(engine) == PREVIOUS
    assert not NEW_COLUMNS & _columns(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT customer_name FROM onboarding")).scalar() == "Old Co"
    engine.dispose()
