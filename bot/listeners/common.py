"""What every listener shares: binding its collaborators, and answering a modal submission."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot import workflow
from bot.deps import Deps
from bot.flows.forms import FormAnswer
from bot.slack.error_handler import report

__all__ = ["answer_form", "bind", "open_form", "parse_form"]

T = TypeVar("T")
F = TypeVar("F")


def bind(listener: Callable[..., T], deps: Deps) -> Callable[..., T]:
    """`listener` with its collaborators bound. They are keyword-only, so Bolt, which injects a listener's
    positional parameters by name (`ack`, `body`, `client`, …), neither sees nor fills them."""
    bound = functools.partial(listener, deps=deps)
    functools.update_wrapper(bound, listener)  # its name in logs and error reports
    return bound


def open_form(deps: Deps, client: WebClient, *, trigger: str, view: View | dict[str, Any], body: Mapping[str, Any],
              respond: Respond | None = None) -> None:
    """Open `view` once Slack has its answer, off the request thread; a failure (an expired trigger, Slack
    down) reaches the person as the one error handler words it.

    A listener that waited on views.open would hold one of the few HTTP threads (bot/serving.py,
    HTTP_THREADS) for Slack's round trip, and every ack queued behind it; the trigger id lives 3 s, and
    `run_soon`'s pool, which nothing slow shares, starts the call at once."""
    def open_now() -> None:
        try:
            client.views_open(trigger_id=trigger, view=view)
        except Exception as error:  # reported like any listener's: an ephemeral note, a logged reference
            report(error, body, client, deps.settings, respond)

    deps.run_soon(open_now)


def answer_form(ack: Ack, answer: FormAnswer) -> None:
    """Close the modal, show field errors in it, or put another view in its place; then the answer's follow-up."""
    if answer.errors:
        ack(response_action="errors", errors=answer.errors)
    elif answer.view is not None:
        ack(response_action="update", view=answer.view)
    else:
        ack()
    if answer.then is not None:
        answer.then()


def parse_form(ack: Ack, parse: Callable[[Mapping[str, Any], Mapping[str, Any]], F], body: Mapping[str, Any],
               view: Mapping[str, Any], *, field: str) -> F | None:
    """The submission `parse` reads from a case's form; or None, once a form that names no case (tampered
    metadata) was answered with the refusal under its `field`."""
    try:
        return parse(body, view)
    except workflow.OnboardingError as exc:
        ack(response_action="errors", errors={field: str(exc)})
        return None
