"""What every listener shares: binding its collaborators, and answering a modal submission."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_bolt import Ack

from bot import workflow
from bot.deps import Deps
from bot.flows.forms import FormAnswer

__all__ = ["answer_form", "bind", "parse_form"]

T = TypeVar("T")
F = TypeVar("F")


def bind(listener: Callable[..., T], deps: Deps) -> Callable[..., T]:
    """`listener` with its collaborators bound. They are keyword-only, so Bolt, which injects a listener's
    positional parameters by name (`ack`, `body`, `client`, …), neither sees nor fills them."""
    bound = functools.partial(listener, deps=deps)
    functools.update_wrapper(bound, listener)  # its name in logs and error reports
    return bound


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
