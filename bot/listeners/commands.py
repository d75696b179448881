"""`/onboard` and its subcommands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import ActionsBlock

from bot import workflow
from bot.deps import Deps
from bot.flows.transaction import actor
from bot.listeners.common import bind, open_form
from bot.slack.blocks import cancel_modal, refusals
from bot.slack.blocks.base import Rendered, context
from bot.slack.blocks.card import status_card
from bot.slack.blocks.guards import NOTHING_COMPLETED, not_completed
from bot.slack.blocks.modals import MAX_SELECT_OPTIONS, existing_intake_modal, intake_view
from bot.slack.blocks.reports import case_list, help_text
from bot.slack.blocks.stage_report import bad_days, report_message
from bot.slack.error_handler import IncompleteRequest, reports_errors
from bot.slack.ids import COMMAND
from bot.slack.payloads import case_number, trigger_id, user_id
from bot.slack.response_url import answer_by_response_url
from bot.workflow.stage_report import read_report
from store import repo
from store.db import session_scope
from store.models import Onboarding

__all__ = ["SUBCOMMANDS", "onboard", "register"]


@dataclass(frozen=True)
class Subcommand:
    usage: str
    description: str
    run: Callable[[Deps, str, Mapping[str, Any], WebClient, Respond], None]


def _reply(respond: Respond, rendered: Rendered) -> None:
    blocks = {"blocks": rendered.block_dicts()} if rendered.blocks else {}
    if not answer_by_response_url(respond, text=rendered.text, **blocks):
        raise IncompleteRequest("a usable response URL")  # reported as an ephemeral message instead


def _list(deps: Deps, argument: str, command: Mapping[str, Any], client: WebClient, respond: Respond) -> None:
    with session_scope(deps.engine) as session:
        cases = repo.list_open(session=session)
    _reply(respond, case_list(cases, deps.clock()))


def _find(deps: Deps, argument: str) -> Onboarding:
    """One case by `12`, `#12` or (part of) its customer name; a clear error otherwise."""
    text = workflow.clean_line(argument)  # the intake's rule: no bidi or zero-width character is searched or echoed
    if not text:
        raise workflow.OnboardingNotFound(refusals.SAY_WHICH)
    if repo.search_too_long(text):
        raise workflow.OnboardingNotFound(refusals.search_too_long(repo.MAX_SEARCH_BYTES))
    with session_scope(deps.engine) as session:
        number = case_number(text.removeprefix("#"))
        if number is not None:
            case = repo.get_onboarding(session=session, onboarding_id=number)
            if case is None:
                raise workflow.OnboardingNotFound(refusals.no_case(number))
            return case
        matches = repo.find_by_name(session=session, text=text, open_only=False)
    if not matches:
        raise workflow.OnboardingNotFound(refusals.none_match(text))
    if len(matches) > 1:
        raise workflow.OnboardingNotFound(refusals.many_match(text, matches))
    return matches[0]


def _status(deps: Deps, argument: str, command: Mapping[str, Any], client: WebClient, respond: Respond) -> None:
    case = _find(deps, argument)
    card = status_card(case, now=deps.clock())
    # The card's own buttons belong in the thread; here they are replaced by a link to it.
    blocks = [block for block in card.blocks if not isinstance(block, ActionsBlock)]
    _reply(respond, Rendered(text=card.text, blocks=[*blocks, context(refusals.open_the_thread(case))]))


def _cancel(deps: Deps, argument: str, command: Mapping[str, Any], client: WebClient, respond: Respond) -> None:
    if case_number(argument.strip().removeprefix("#")) is None:
        raise workflow.OnboardingNotFound(refusals.SAY_WHICH_NUMBER)
    case = _find(deps, argument)
    workflow.require_canceller(case, actor(deps, user_id(command)))
    open_form(deps, client, trigger=trigger_id(command), view=cancel_modal(case), body=command, respond=respond)


def _existing(deps: Deps, argument: str, command: Mapping[str, Any], client: WebClient, respond: Respond) -> None:
    """A further Page for a customer whose onboarding completed: choose the customer, then the usual form."""
    chosen_id = case_number(argument.strip().removeprefix("#")) if argument.strip() else None
    with session_scope(deps.engine) as session:
        completed = repo.list_completed(session=session, limit=MAX_SELECT_OPTIONS)
        chosen = repo.get_onboarding(session=session, onboarding_id=chosen_id) if chosen_id is not None else None
    if chosen is not None and chosen not in completed:
        raise workflow.OnboardingNotFound(not_completed(chosen.reference))
    if not completed:
        raise workflow.OnboardingNotFound(NOTHING_COMPLETED)
    open_form(deps, client, trigger=trigger_id(command), view=existing_intake_modal(completed, chosen), body=command,
              respond=respond)


MAX_REPORT_DAYS = 365


def _report(deps: Deps, argument: str, command: Mapping[str, Any], client: WebClient, respond: Respond) -> None:
    text = argument.strip() or "30"
    days = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else 0
    if not 1 <= days <= MAX_REPORT_DAYS:
        _reply(respond, Rendered(text=bad_days(text)))
        return
    with session_scope(deps.engine) as session:
        report = read_report(session=session, now=deps.clock(), days=days)
    _reply(respond, report_message(report))


def _help(deps: Deps, argument: str, command: Mapping[str, Any], client: WebClient, respond: Respond) -> None:
    _reply(respond, help_text([(sub.usage, sub.description) for sub in SUBCOMMANDS.values()]))


SUBCOMMANDS: dict[str, Subcommand] = {
    "list": Subcommand("list", "open onboardings with links to their threads", _list),
    "status": Subcommand("status <name|#id>", "one onboarding's status card", _status),
    "existing": Subcommand("existing [#id]", "another Facebook Page for a customer whose onboarding completed "
                                             "(same project, a new app)", _existing),
    "cancel": Subcommand("cancel <#id>", "cancel an onboarding (requester or approver; asks for a reason)", _cancel),
    "report": Subcommand("report [days]", "how long each stage took (median, 90th percentile) and who is "
                                          "waiting longest (default: the last 30 days)", _report),
    "help": Subcommand("help", "this help", _help),
}


def register(app: App, deps: Deps) -> None:
    app.command(COMMAND)(reports_errors(deps.settings)(bind(onboard, deps)))


def onboard(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, *, deps: Deps) -> None:
    """`/onboard` opens the intake form; `/onboard <subcommand> …` runs one of SUBCOMMANDS."""
    text = str(command.get("text") or "").strip()
    if not text:
        # Nothing to commit: answer Slack first, then open the (static) form off the request, well within
        # the 3 s the trigger id lives. Should this process die in between, the person types /onboard again.
        ack()
        with session_scope(deps.engine) as session:  # a person at their hourly limit gets no form
            workflow.check_intake_allowance(session=session, requester_id=user_id(command), now=deps.clock(),
                                            limit_per_hour=deps.settings.intake_limit_per_hour)
        open_form(deps, client, trigger=trigger_id(command), view=intake_view(), body=command, respond=respond)
        return
    ack()
    name, _, argument = text.partition(" ")
    subcommand = SUBCOMMANDS.get(name.lower())
    if subcommand is None:
        _reply(respond, Rendered(text=refusals.unknown_subcommand(name)))
        return
    subcommand.run(deps, argument, command, client, respond)
