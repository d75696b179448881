"""The fresh-project check at registration, over the sandbox: every refusal is a field error, nothing stored."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.ops.export import export_audit
from bot.slack.ids import ActionId
from sinch import Region, SinchClient, SinchCredentials
from sinch.sandbox import endpoints_for
from store.states import OnboardingState as S
from tests.bot.harness import CHANNEL, LEAD, SANDBOX, STAFF, BotHarness
from tests.bot.test_export_and_check import check, env_for


@pytest.fixture
def asp(bot: BotHarness) -> SinchCredentials:
    """The ASP's own project, configured as SINCH_ACCOUNT_* (the bot restarts with it)."""
    ours = bot.sandbox.create_project("Our own project", "us")
    bot.settings = dataclasses.replace(bot.settings, sinch_account_project_id=ours.project_id,
                                       sinch_account_key_id=ours.key_id,
                                       sinch_account_key_secret=type(bot.settings.bot_secret_key)(ours.key_secret))
    bot.restart()
    return ours


@pytest.fixture
def sinch(bot: BotHarness) -> Iterator[SinchClient]:
    with SinchClient.create(endpoints=endpoints_for(SANDBOX), transport=bot.sandbox_transport) as client:
        yield client


def approved(bot: BotHarness, case_id: int = 1, **form: str) -> None:
    bot.submit_intake(**form)
    bot.click(LEAD, ActionId.APPROVE, message=bot.message_with(ActionId.APPROVE, case_id))


def register(bot: BotHarness, creds: SinchCredentials, case_id: int = 1) -> dict[str, str] | None:
    """Submit the register-project modal; the field errors, or None when it was accepted."""
    bot.click(STAFF, ActionId.REGISTER_PROJECT, message=bot.message_with(ActionId.REGISTER_PROJECT, case_id))
    response = bot.submit_modal(STAFF, {"project_id": creds.project_id, "key_id": creds.key_id,
                                        "key_secret": creds.key_secret})
    if not response.body:
        return None
    errors: dict[str, str] = json.loads(response.body)["errors"]
    return errors


def assert_nothing_stored(bot: BotHarness, case_id: int = 1) -> None:
    case = bot.case(case_id)
    assert (case.state, case.project_id, case.key_id, case.key_secret_sealed) == (S.CREATING_PROJECT, None, None,
                                                                                   None)


def checks(bot: BotHarness, case_id: int = 1) -> list[str]:
    """The audited check outcomes of every registration attempt."""
    return [e.detail for e in bot.events(case_id) if e.action in ("project_refused", "register_project")]


def test_a_fresh_project_passes_and_every_check_is_audited_and_exported(bot: BotHarness) -> None:
    approved(bot)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    assert register(bot, creds) is None
    assert bot.case().state == S.INVITING
    [detail] = checks(bot)
    assert ("other_onboardings=passed; apps=passed (apps=none); asp_project=skipped (SINCH_ACCOUNT_PROJECT_ID not "
            "set); subproject=skipped") in detail
    out = io.StringIO()
    export_audit(bot.deps.engine, out)
    assert "apps=passed (apps=none)" in out.getvalue()


def test_a_project_already_registered_by_another_onboarding_is_refused_with_a_link(bot: BotHarness) -> None:
    approved(bot)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    assert register(bot, creds) is None
    approved(bot, 2, customer_name="Other Shop", contact_email="boss@other.test")
    errors = register(bot, creds, case_id=2)
    assert errors is not None
    thread_ts = bot.case(1).thread_ts
    assert thread_ts is not None
    assert "onboarding #1" in errors["project_id"] and "Acme Bikes" in errors["project_id"]
    assert f"https://slack.com/archives/{CHANNEL}/p{thread_ts.replace('.', '')}" in errors["project_id"]
    assert_nothing_stored(bot, 2)
    assert any("other_onboardings=refused" in d and "#1" in d for d in checks(bot, 2))


def test_a_project_with_an_app_in_another_region_is_refused_with_the_list(bot: BotHarness, sinch: SinchClient) -> None:
    approved(bot)  # region EU
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    app = sinch.apps.create(dataclasses.replace(creds, region=Region.BR), display_name="Old shop bot")
    errors = register(bot, creds)
    assert errors is not None
    assert "has 1 app" in errors["project_id"] and "Old shop bot" in errors["project_id"]
    assert f"BR, {app.id}" in errors["project_id"] and "new project" in errors["project_id"]
    assert_nothing_stored(bot)
    assert any("apps=refused" in d and app.id in d for d in checks(bot))


def test_a_retry_finds_the_app_this_onboarding_created_itself(bot: BotHarness, sinch: SinchClient) -> None:
    approved(bot)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    mine = sinch.apps.create(creds, display_name=bot.case().app_name or "")
    assert register(bot, creds) is None
    assert (bot.case().state, bot.case().app_id) == (S.INVITING, mine.id)


def test_the_asps_own_project_is_refused(bot: BotHarness, asp: SinchCredentials) -> None:
    approved(bot)
    errors = register(bot, dataclasses.replace(asp, region=Region.EU))
    assert errors is not None and "our own Sinch project" in errors["project_id"]
    assert_nothing_stored(bot)
    assert any("asp_project=refused" in d for d in checks(bot))


def test_a_subproject_of_the_asps_project_is_refused(bot: BotHarness, asp: SinchCredentials) -> None:
    approved(bot)
    sub = bot.sandbox.create_subproject(asp.project_id, "Acme Bikes", "eu")
    errors = register(bot, sub)
    assert errors is not None and "subproject" in errors["project_id"]
    assert_nothing_stored(bot)
    assert any("subproject=refused" in d for d in checks(bot))


@pytest.mark.parametrize("status", [403, 404])
def test_without_the_subprojects_api_registration_goes_on_with_a_note(bot: BotHarness, asp: SinchCredentials,
                                                                     status: int) -> None:
    bot.sandbox.add_fault("^/subprojects/", status=status, count=-1)
    approved(bot)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    assert register(bot, creds) is None
    case = bot.case()
    assert (case.state, case.subproject_check) == (S.INVITING, "unavailable")
    assert "subproject check unavailable" in json.dumps(bot.thread()[0].blocks)
    assert any("subproject=unavailable" in d for d in checks(bot))
    ok, lines = check(bot, env_for(bot, SINCH_ACCOUNT_PROJECT_ID=asp.project_id, SINCH_ACCOUNT_KEY_ID=asp.key_id,
                                   SINCH_ACCOUNT_KEY_SECRET=asp.key_secret,
                                   SINCH_SUBPROJECTS_URL=f"{SANDBOX}/subprojects"))
    assert ok, lines
    assert any(line.startswith("ok") and "subproject check unavailable" in line for line in lines)


def test_check_counts_our_subprojects_when_the_api_is_there(bot: BotHarness, asp: SinchCredentials) -> None:
    bot.sandbox.create_subproject(asp.project_id, "Some shop")
    ok, lines = check(bot, env_for(bot, SINCH_ACCOUNT_PROJECT_ID=asp.project_id, SINCH_ACCOUNT_KEY_ID=asp.key_id,
                                   SINCH_ACCOUNT_KEY_SECRET=asp.key_secret,
                                   SINCH_SUBPROJECTS_URL=f"{SANDBOX}/subprojects"))
    assert ok and "1 subprojects of our project" in lines[-1]


def test_a_slow_sinch_is_a_timeout_field_error_and_nothing_is_stored(bot: BotHarness) -> None:
    approved(bot)
    creds = bot.sandbox.create_project("Acme Bikes", "eu")
    outbox_before = len(bot.outbox())
    bot.sandbox.add_fault("^/conversation/us/.*/apps$", method="GET", latency_ms=3500)
    errors = register(bot, creds)
    assert errors is not None and "did not answer" in errors["project_id"] and "again" in errors["project_id"]
    assert_nothing_stored(bot)
    assert len(bot.outbox()) == outbox_before
    assert any("sinch=unavailable (timeout" in d for d in checks(bot))
    assert register(bot, creds) is None  # the retry the message asks for
    assert bot.case().state == S.INVITING


class InFlight:
    """WSGI middleware: the most Sinch requests the sandbox was serving at once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.now -= 1


def test_the_region_and_subproject_reads_go_out_in_parallel(tmp_path: Path, migrated_database_url: str) -> None:
    meter: list[InFlight] = []

    def measured(app: Any) -> InFlight:
        meter.append(InFlight(app))
        return meter[0]

    bot = BotHarness(tmp_path, database_url=migrated_database_url, wrap_sandbox=measured)
    try:
        ours = bot.sandbox.create_project("Our own project", "us")
        bot.settings = dataclasses.replace(bot.settings, sinch_account_project_id=ours.project_id,
                                           sinch_account_key_id=ours.key_id,
                                           sinch_account_key_secret=type(bot.settings.bot_secret_key)(ours.key_secret))
        bot.restart()
        approved(bot)
        creds = bot.sandbox.create_project("Acme Bikes", "eu")
        bot.sandbox.add_fault("/apps$|/subprojects$", method="GET", latency_ms=300, count=4)
        meter[0].most = 0
        assert register(bot, creds) is None
        # Three regions and the subproject listing were in flight together, not one after the other.
        assert meter[0].most >= 4
    finally:
        bot.close()


def test_check_says_the_subproject_check_needs_our_key(bot: BotHarness) -> None:
    ok, lines = check(bot, env_for(bot, SINCH_ACCOUNT_PROJECT_ID="our-project"))
    assert ok and "subproject check unavailable: set SINCH_ACCOUNT_KEY_ID" in lines[-1]
