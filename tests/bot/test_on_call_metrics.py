"""/metrics answers what on-call asks first: requests by kind and outcome, ack latency, listener errors, the
process's own figures and the version running."""

from __future__ import annotations

from importlib.metadata import version

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import make_wsgi_app
from bot.slack.ids import ActionId
from tests.bot.harness import OUTSIDER, BotHarness


def scrape(bot: BotHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    app = make_wsgi_app(bot.runtime.app, metrics=bot.runtime.metrics)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://bot") as http:
        body = http.get("/metrics").text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def test_requests_are_counted_by_kind_and_outcome_and_their_acks_timed(bot: BotHarness) -> None:
    bot.submit_intake()  # /onboard, then the form submitted
    bot.click(OUTSIDER, ActionId.APPROVE)  # only approvers may approve: a refusal
    samples = scrape(bot)
    assert samples[("onboarding_slack_requests_total", (("kind", "command"), ("outcome", "ok")))] == 1
    assert samples[("onboarding_slack_requests_total", (("kind", "view_submission"), ("outcome", "ok")))] == 1
    assert samples[("onboarding_slack_requests_total", (("kind", "block_actions"), ("outcome", "refused")))] == 1
    assert samples[("onboarding_slack_ack_seconds_count", (("kind", "command"),))] == 1
    assert samples[("onboarding_slack_ack_seconds_bucket", (("kind", "command"), ("le", "+Inf")))] == 1
    assert samples[("onboarding_listener_errors_total", ())] == 0


def test_the_process_collector_and_the_build_info_are_exposed(bot: BotHarness) -> None:
    samples = scrape(bot)
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert ("process_cpu_seconds_total", ()) in samples
    assert samples[("onboarding_ready", ())] == 0  # the scheduler was not started here
    bot.runtime.start_background()
    assert scrape(bot)[("onboarding_ready", ())] == 1
    assert samples[("onboarding_build_info", (("version", version("messenger-onboarding-bot")),))] == 1
