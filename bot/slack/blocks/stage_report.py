"""`/onboard report [days]` and the App Home's stage times: median, 90th percentile, count, who is waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block

from bot.slack.blocks.base import Rendered, context, line_sections, section
from bot.slack.blocks.reports import thread_link
from bot.slack.mrkdwn import age, clip, escape, mention
from bot.workflow.stage_report import StageFigures, StageReport, Waiting

__all__ = ["bad_days", "report_blocks", "report_message", "span"]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # any instant: span() measures from it


def span(value: timedelta | None) -> str:
    """A duration as people read it: `45s`, `12m`, `3h`, `2d 4h`; `–` when there is none."""
    if value is None:
        return "–"
    return age(_EPOCH, _EPOCH + value)


def _figure(figure: StageFigures) -> str:
    name = figure.stage.label + (f" ({figure.channel})" if figure.channel else "")
    if not figure.count:
        return f"• *{name}*: none finished"
    return f"• *{name}*: median {span(figure.median)}, 90th percentile {span(figure.p90)} — {figure.count}"


def _waits_on(waiting: Waiting, who: str) -> str:
    case = waiting.case
    return {"approvers": "the approvers", "requester": mention(case.requester_id), "bot": "the bot (Sinch)",
            "customer": f"the customer ({escape(clip(case.contact_email, 80))})",
            "staff": f"staff ({mention(case.requester_id)} asked)"}.get(who, who)


def report_blocks(report: StageReport) -> list[Block]:
    """The figures in one section, then the longest waits (at most four blocks, for the App Home too)."""
    lines = [_figure(figure) for figure in report.figures]
    waits: list[str] = []
    for figure in report.figures:
        stage = figure.stage
        if figure.channel not in ("", "Messenger"):
            continue  # one list per stage, not per channel
        for waiting in report.waiting.get(stage.key, ()):
            case = waiting.case
            waits.append(f"• {stage.label}: {case.reference} {escape(clip(case.customer_name, 60))} — "
                         f"{age(waiting.since, report.now)}, waiting on {_waits_on(waiting, stage.waits_on)} · "
                         f"{thread_link(case)}")
    blocks: list[Block] = [section(f"*:stopwatch: Stage times, last {report.days} days*\n" + "\n".join(lines))]
    if waits:
        blocks.append(section("*Waiting longest*"))
        blocks += line_sections(waits, max_blocks=2, more=lambda count: f"…and {count} more: see `/onboard list`.")
    else:
        blocks.append(context("No open onboarding is waiting."))
    return blocks


def report_message(report: StageReport) -> Rendered:
    """The ephemeral answer to `/onboard report [days]`."""
    return Rendered(text=f"Onboarding stage times, last {report.days} days", blocks=report_blocks(report))


def bad_days(text: str) -> str:
    """`/onboard report` was given something other than a number of days."""
    return f"`/onboard report [days]` takes a number of days from 1 to 365, not `{escape(clip(text, 40))}`."
