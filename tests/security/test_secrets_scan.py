"""Secrets: a full onboarding leaves no secret in the logs, the database file, the audit export or anything
sent to Slack; key secrets are sealed at rest, erased when the case ends, and re-sealed by key rotation.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, make_url
from sqlmodel import Session, col, select

from bot.background import jobs
from bot.ops.export import export_audit
from bot.ops.maintenance import rotate_key
from bot.runtime import make_wsgi_app
from bot.slack.ids import ActionId
from devslack import SignedRequest
from sinch import Region, SinchCredentials
from store.db import make_engine, session_scope
from store.models import Onboarding, PageType
from store.secrets import SecretBox, SecretUnreadable, generate_key
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, LEAD, REQUESTER, STAFF, BotHarness
from tests.security.figures import FIGURES

ROOT = Path(__file__).resolve().parents[2]
REJECTED_SECRET = "typed-wrong-secret-0f9e8d7c"  # a secret staff pasted by mistake: it must not leak either


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def cli_env(**values: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("SLACK_", "SINCH_", "BOT_"))}
    env.update(values)
    return env


def replay_over_http(bot: BotHarness, request: SignedRequest) -> httpx.Response:
    """Send a signed request through the HTTP app as it would arrive again later."""
    client = httpx.Client(transport=httpx.WSGITransport(app=make_wsgi_app(bot.app)), base_url="http://bot")
    return client.post("/slack/events", content=request.body.encode(), headers=request.headers)


def onboard_to_completion(bot: BotHarness, *, replay: bool = False) -> tuple[dict[str, str], list[str]]:
    """One onboarding through Slack, intake to access removed; returns the Sinch key and the bot's answers.

    With `replay`, the register-project submission carrying the real key secret is also sent stale (signed
    6 minutes ago, as a replay or a skewed clock would) and with a bad signature: Bolt refuses both (401)
    and its RequestVerification logger writes the request body at INFO, which must never reach a log.
    """
    answers: list[str] = []

    def send(response: Any) -> None:
        assert response.status == 200, response.body
        answers.append(response.body)

    send(bot.submit_intake())
    send(bot.click(LEAD, ActionId.APPROVE))
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    send(bot.click(STAFF, ActionId.REGISTER_PROJECT))
    # A wrong secret first: refused in the modal, and never logged or echoed.
    send(bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                                  "key_secret": REJECTED_SECRET}))
    assert "key_secret" in json.loads(answers[-1])["errors"]
    values = {"project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}
    if replay:
        view = bot.slack_state.last_view_for(STAFF)
        assert view is not None
        stale = bot.sim.submit_view(STAFF, view_id=view.view_id, values=values,
                                    timestamp_override=int(bot.sim.clock()) - 360)
        forged = bot.sim.submit_view(STAFF, view_id=view.view_id, values=values, signature_override="v0=" + "0" * 64)
        for request in (stale, forged):
            assert creds.key_secret in request.body
            assert replay_over_http(bot, request).status_code == 401
        assert bot.case().state == S.CREATING_PROJECT, "a refused request changed nothing"
    send(bot.submit_modal(STAFF, values))
    case = bot.case()
    assert case.state == S.INVITING and case.key_secret_sealed
    assert creds.key_secret not in case.key_secret_sealed
    assert bot.deps.secrets.open(case.key_secret_sealed) == creds.key_secret, "sealed, not lost"
    send(bot.click(STAFF, ActionId.INVITATION_SENT))
    assert case.app_id is not None
    bot.sandbox.connect_page(creds.project_id, case.app_id, page_name="Acme Bikes Page")
    jobs.poll_sweep(bot.deps)
    bot.clock.advance(minutes=2)
    jobs.poll_sweep(bot.deps)
    bot.deliver()
    assert bot.case().state == S.REVOKING
    send(bot.click(STAFF, ActionId.ACCESS_REMOVED))
    assert bot.case().state == S.COMPLETED
    return {"project_id": creds.project_id, "key_id": creds.key_id, "key_secret": creds.key_secret}, answers


def test_a_full_onboarding_leaks_no_secret_anywhere(tmp_path: Path, migrated_database_url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's debug output too
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        creds, answers = onboard_to_completion(bot, replay=True)
        events = bot.events()
        database_while_running = _database_contents(migrated_database_url)
        slack_bodies = [json.dumps(call.params, default=str) for call in bot.slack_state.calls]
        slack_bodies += [json.dumps(post.body, default=str) for post in bot.slack_state.response_posts]
        reprs = [repr(bot.settings), repr(bot.deps), repr(bot.deps.secrets), repr(bot.case()), str(bot.settings),
                 repr(SinchCredentials(project_id=creds["project_id"], key_id=creds["key_id"],
                                       key_secret=creds["key_secret"], region=Region.EU))]
    finally:
        bot.close()
    database_after_stop = _database_contents(migrated_database_url)

    env = cli_env(DATABASE_URL=bot.settings.database_url)
    export_csv = run_cli("export", env=env, cwd=tmp_path)
    assert export_csv.returncode == 0, export_csv.stderr
    assert "register_project" in export_csv.stdout and "confirm_revocation" in export_csv.stdout
    export_json = io.StringIO()
    engine = make_engine(bot.settings.database_url)
    try:
        assert export_audit(engine, export_json, fmt="json") == len(events)
    finally:
        engine.dispose()

    secrets = {
        "Slack bot token": bot.settings.slack_bot_token.reveal(),
        "Slack signing secret": bot.settings.slack_signing_secret.reveal(),
        "BOT_SECRET_KEY": bot.settings.bot_secret_key.reveal(),
        "Sinch key secret": creds["key_secret"],
        "rejected key secret": REJECTED_SECRET,
    }
    places: dict[str, list[Any]] = {
        "log output (DEBUG, every logger)": [caplog.text, *(str(r.args) for r in caplog.records)],
        "every log record's message, arguments and traceback": [
            part for record in caplog.records
            for part in (record.getMessage(), str(record.msg), repr(record.args), record.exc_text or "")],
        "the database while running (SQLite: db, -wal, -shm files)": list(database_while_running.values()),
        "the database after shutdown": list(database_after_stop.values()),
        "audit export (python -m bot export, CSV)": [export_csv.stdout, export_csv.stderr],
        "audit export (JSON)": [export_json.getvalue()],
        "every Web API request and response_url body sent to Slack": slack_bodies,
        "the bot's HTTP answers to Slack": answers,
        "reprs of settings, deps, the secret box, the case and Sinch credentials": reprs,
    }
    assert len(caplog.records) > 100 and slack_bodies and any(database_while_running.values()), "nothing to scan"
    loggers = {record.name for record in caplog.records}
    # Third-party loggers were really heard, including the one that logs refused bodies.
    assert "slack_bolt.RequestVerification" in loggers and any(name.startswith("slack_sdk") for name in loggers)
    refusals = [r.getMessage() for r in caplog.records if r.name == "slack_bolt.RequestVerification"]
    assert len(refusals) >= 2 and all("body: (redacted" in message for message in refusals), refusals
    found = []
    for secret_name, secret in secrets.items():
        assert len(secret) >= 12, "a needle this short could match by chance"
        for place, contents in places.items():
            for content in contents:
                leaked = secret.encode() in content if isinstance(content, bytes) else secret in content
                if leaked:
                    found.append(f"{secret_name} in {place}")
    assert found == []
    FIGURES["secrets scanned"] = len(secrets)
    FIGURES["places scanned per secret"] = len(places)
    FIGURES["secret scan findings"] = len(found)
    FIGURES["log records scanned (DEBUG)"] = len(caplog.records)
    FIGURES["loggers scanned"] = len(loggers)


def test_the_key_secret_is_erased_when_the_case_ends_and_only_then(tmp_path: Path, migrated_database_url: str) -> None:
    bot = BotHarness(tmp_path, database_url=migrated_database_url)
    try:
        onboard_to_completion(bot)
        case = bot.case()
        assert (case.state, case.key_secret_sealed) == (S.COMPLETED, None)
        first_sealed = [e for e in bot.events() if e.action == "register_project"]
        assert first_sealed, "the key was registered (sealed) before it was erased"

        # A second case, cancelled after the invitation: it keeps its key while the access removal is pending.
        bot.submit_intake(customer_name="Beta Bakery", contact_email="b@beta.test")
        bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, case_id=2))
        beta = bot.sandbox.create_project("Beta Bakery", "eu")
        bot.click(STAFF, ActionId.REGISTER_PROJECT, message=bot.message_with(ActionId.REGISTER_PROJECT, case_id=2))
        bot.submit_modal(STAFF, {"project_id": beta.project_id, "key_id": beta.key_id, "key_secret": beta.key_secret})
        bot.click(STAFF, ActionId.INVITATION_SENT, message=bot.message_with(ActionId.INVITATION_SENT, case_id=2))
        bot.send(bot.sim.slash_command(REQUESTER, text="cancel 2", channel_id=CHANNEL))
        bot.submit_modal(REQUESTER, {"reason": "Customer went elsewhere"})
        sealed = bot.case(2).key_secret_sealed
        assert bot.case(2).state == S.REVOKING and sealed is not None
        bot.click(STAFF, ActionId.ACCESS_REMOVED, message=bot.message_with(ActionId.ACCESS_REMOVED, case_id=2))
        assert (bot.case(2).state, bot.case(2).key_secret_sealed) == (S.CANCELLED, None)

        with Session(bot.deps.engine) as session:
            assert session.exec(select(Onboarding).where(col(Onboarding.key_secret_sealed).is_not(None))).all() == []
    finally:
        bot.close()
    # Erased, not just unlinked: once the bot has stopped, the sealed bytes are gone from the database file
    # (SQLite's secure_delete; PostgreSQL's files are the server's, out of this test's reach).
    database = make_url(migrated_database_url)
    if database.get_backend_name() == "sqlite":
        files = list(Path(str(database.database)).parent.glob(f"{Path(str(database.database)).name}*"))
        assert files
        for path in files:
            assert sealed.encode() not in path.read_bytes(), path.name


def _database_contents(url: str) -> dict[str, bytes]:
    """What the database holds: SQLite's files byte for byte (free pages too); on PostgreSQL, whose files
    belong to the server, every row of every table as text."""
    database = make_url(url)
    if database.get_backend_name() == "sqlite":
        path = Path(str(database.database))
        return {found.name: found.read_bytes() for found in path.parent.glob(f"{path.name}*")}
    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {table.name: "\n".join(repr(tuple(row)) for row in connection.execute(table.select())).encode()
                    for table in metadata.sorted_tables}
    finally:
        engine.dispose()


def _seal_cases(url: str, box: SecretBox, secrets: list[str]) -> None:
    engine = make_engine(url)
    from store.db import migrate

    migrate(engine)
    with session_scope(engine) as session:
        for index, secret in enumerate(secrets):
            session.add(Onboarding(customer_name=f"C{index}", customer_key=f"c{index}",
                                   contact_email=f"c{index}@x.test", region=Region.EU, page="P",
                                   page_type=PageType.PERSONAL,
                                   state=S.CREATING_APP, requester_id="U1", key_secret_sealed=box.seal(secret)))
    engine.dispose()


def _sealed(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(select(Onboarding).order_by(col(Onboarding.id))).all()
            return [row.key_secret_sealed or "" for row in rows]
    finally:
        engine.dispose()


def test_key_rotation_reseals_so_the_new_key_alone_opens_it(database_url: str) -> None:
    old, new = generate_key(), generate_key()
    url = database_url
    _seal_cases(url, SecretBox(old), ["secret-one", "secret-two"])
    before = _sealed(url)

    engine = make_engine(url)
    try:
        assert rotate_key(engine, SecretBox(f"{new},{old}")) == 2
    finally:
        engine.dispose()

    after = _sealed(url)
    assert after != before
    assert [SecretBox(new).open(sealed) for sealed in after] == ["secret-one", "secret-two"]
    for sealed in after:
        with pytest.raises(SecretUnreadable):
            SecretBox(old).open(sealed)


def test_rotate_key_cli_reseals_a_database(tmp_path: Path, database_url: str) -> None:
    old, new, stranger = generate_key(), generate_key(), generate_key()
    url = database_url
    _seal_cases(url, SecretBox(old), ["cli-secret-one", "cli-secret-two", "cli-secret-three"])
    before = _sealed(url)

    refused = run_cli("rotate-key", env=cli_env(DATABASE_URL=url, BOT_SECRET_KEY=f"{new},{stranger}"), cwd=tmp_path)
    assert refused.returncode == 1 and "nothing changed" in refused.stderr
    assert _sealed(url) == before, "a keyring that cannot open every secret changes nothing"

    result = run_cli("rotate-key", env=cli_env(DATABASE_URL=url, BOT_SECRET_KEY=f"{new},{old}"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "re-sealed 3" in result.stdout
    for output in (result.stdout, result.stderr, refused.stdout, refused.stderr):
        assert old not in output and new not in output and stranger not in output and "cli-secret" not in output

    after = _sealed(url)
    assert [SecretBox(new).open(sealed) for sealed in after] == ["cli-secret-one", "cli-secret-two", "cli-secret-three"]
    for sealed in after:
        with pytest.raises(SecretUnreadable):
            SecretBox(old).open(sealed)
