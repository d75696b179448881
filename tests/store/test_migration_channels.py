"""Migration 0004_channels: additive; an old row reads as a Messenger-only case; reversible keeping rows."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.db import _alembic_config, current_revision, make_engine, migrate
from store.models import Channel, Onboarding, PageType, Region

PREVIOUS = "0003_leases"
THIS = "0004_channels"
NEW_COLUMNS = {"channels", "instagram_username", "channels_poll_at", "ig_status", "ig_description", "ig_checked_at",
               "ig_account_id", "ig_username", "ig_active_at", "ig_check", "ig_wrong_id"}


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("onboarding")}


def test_0004_adds_nullable_columns_old_rows_are_messenger_only_and_it_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine, PREVIOUS)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO onboarding (version, customer_name, customer_key, contact_email, region, page, page_type,"
            " business_verified, page_admin, chat_button, notes, state, state_entered_at, created_at, updated_at,"
            " requester_id, app_attempts, next_poll_at) VALUES (1, 'Old Co', 'old co', 'old@co.test', 'eu', 'Old"
            " Page', 'personal', 1, 1, 0, '', 'awaiting_customer', '2026-01-01 10:00:00', '2026-01-01 10:00:00',"
            " '2026-01-01 10:00:00', 'U7', 0, '2026-01-01 10:01:00')"))
    assert migrate(engine, THIS) == THIS
    assert NEW_COLUMNS <= _columns(engine)
    with Session(engine) as session:
        case = session.get(Onboarding, 1)
        assert case is not None
        assert case.requested_channels == (Channel.MESSENGER,) and not case.has_instagram
        assert case.next_poll_at is not None and case.channels_poll_at is None

    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        command.downgrade(_alembic_config(connection), PREVIOUS)
    assert current_revision(engine) == PREVIOUS
    assert not NEW_COLUMNS & _columns(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT customer_name FROM onboarding")).scalar() == "Old Co"
    engine.dispose()


def _case(channels: str) -> Onboarding:
    return Onboarding(customer_name="Acme", customer_key="acme", contact_email="a@acme.test", region=Region.EU, page="",
                      page_type=PageType.PERSONAL, requester_id="U1", channels=channels)


def test_requested_channels_keep_their_order_whatever_was_stored() -> None:
    both = _case("instagram,messenger")
    only = _case("instagram")

    assert both.requested_channels == (Channel.MESSENGER, Channel.INSTAGRAM)
    assert only.requested_channels == (Channel.INSTAGRAM,) and only.has_instagram
