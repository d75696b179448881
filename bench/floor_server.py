"""The ack benchmark's floor: bare Bolt plus the least that an `/onboard` and a durable Approve must do here.

bench/baseline_server.py only acks. This server also does the work no version of the bot can leave out, in
the plainest code this stack allows, so that the bench can say how much of the bot's time is its own:

- `/onboard`: ack, then open the intake form (views.open) on a small pool, on a kept-alive connection;
- Approve: one transaction on the bot's own tables, in SQL written once as text (no ORM, no statement to build):
  lock and read the case, move it on with a versioned UPDATE, write its audit row and its four outbox rows,
  commit; only then ack.

It is served exactly as the bot is (waitress behind `bot.runtime.make_wsgi_app`, HTTP_THREADS threads, start-up's
heap frozen), and Bolt answers after the listener (`process_before_response`), as in the bot.
`python -m bench.floor_server` reads the bot's environment (SLACK_*, DATABASE_URL, PORT).
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy import Engine, TextClause, bindparam, text

from bot.runtime import FORM_THREADS, make_wsgi_app
from bot.serving import HTTP_THREADS, create_http_server, freeze_startup_heap
from bot.slack.blocks.modals import intake_view
from bot.slack.ids import COMMAND, ActionId
from bot.slack.keepalive import KeepAliveWebClient
from store.db import make_engine
from store.models import OutboxKind, OutboxPriority, OutboxStatus, UTCDateTime
from store.states import OnboardingState

__all__ = ["approve", "build_app", "lock_statement", "main"]

_NOW = bindparam("now", type_=UTCDateTime())  # as the bot stores a time, on either database
# Written once, as text: no statement construct to build, compile or look up per click.
_READ = "SELECT state, version FROM onboarding WHERE id = :case_id"
_MOVE = text("UPDATE onboarding SET state = :state, approver_id = :user_id, decided_at = :now, state_entered_at = :now,"
             " updated_at = :now, version = version + 1 WHERE id = :case_id AND version = :version").bindparams(_NOW)
_AUDIT = text("INSERT INTO audit_event (onboarding_id, at, actor, action, from_state, to_state, detail)"
              " VALUES (:case_id, :now, :user_id, 'approve', :from_state, :state, '')").bindparams(_NOW)
# What an approval queues in the bot: the step's buttons resolved, the card re-rendered, two thread replies.
_POSTS = (OutboxKind.RESOLVE, OutboxKind.CARD, OutboxKind.REPLY, OutboxKind.REPLY)
_ROW = f"(:case_id, '{{kind}}', :notice, '{OutboxStatus.PENDING.value}', 0, :now, :now, {OutboxPriority.ROUTINE.value})"
_OUTBOX = text("INSERT INTO outbox (onboarding_id, kind, notice, status, attempts, next_attempt_at, created_at,"
               " priority) VALUES " + ", ".join(_ROW.format(kind=kind.value) for kind in _POSTS)).bindparams(_NOW)


def lock_statement(engine: Engine) -> TextClause:
    """Read the case and lock its row; SQLite has no FOR UPDATE, and its transactions hold the write lock."""
    return text(_READ if engine.dialect.name == "sqlite" else f"{_READ} FOR UPDATE")


def approve(engine: Engine, lock: TextClause, case_id: int, user_id: str) -> None:
    """The durable part of an approval, in one transaction."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        case = connection.execute(lock, {"case_id": case_id}).one()
        state = OnboardingState.CREATING_PROJECT.value
        connection.execute(_MOVE, {"state": state, "user_id": user_id, "now": now, "case_id": case_id,
                                   "version": case.version})
        connection.execute(_AUDIT, {"case_id": case_id, "now": now, "user_id": user_id, "from_state": case.state,
                                    "state": state})
        connection.execute(_OUTBOX, {"case_id": case_id, "now": now,
                                     "notice": json.dumps({"by": user_id, "at": now.isoformat()})})


def build_app(engine: Engine, forms: ThreadPoolExecutor) -> App:
    client = KeepAliveWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"],
                                timeout=5)
    lock = lock_statement(engine)
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=True,
              raise_error_for_unhandled_request=False)

    @app.command(COMMAND)
    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        forms.submit(client.views_open, trigger_id=command["trigger_id"], view=intake_view())

    @app.action(ActionId.APPROVE)
    def on_approve(ack: Ack, body: dict[str, Any]) -> None:
        approve(engine, lock, int(body["actions"][0]["value"]), body["user"]["id"])
        ack()

    return app


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(os.environ["DATABASE_URL"])
    with ThreadPoolExecutor(max_workers=FORM_THREADS, thread_name_prefix="forms") as forms:
        server = create_http_server(make_wsgi_app(build_app(engine, forms)), host="127.0.0.1",
                                    port=int(os.environ["PORT"]), name="bench-floor", threads=HTTP_THREADS)
        freeze_startup_heap()  # as `python -m bot run` does
        server.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
