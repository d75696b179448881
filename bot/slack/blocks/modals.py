"""Modals: intake, register project, and the reason prompts for reject and cancel.

Input block ids equal the workflow's field names, so a field error from the workflow lands under the
right input with `response_action: errors`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    EmailInputElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.blocks.base import context, section
from bot.slack.ids import CallbackId
from bot.slack.mrkdwn import clip, escape
from bot.workflow.core import MAX_REASON
from sinch import Region
from store.models import Onboarding

__all__ = [
    "REGISTER_FIELDS", "cancel_modal", "existing_intake_modal",
    "intake_modal", "intake_view", "reason_modal", "register_project_modal",
    "reject_modal",
]

REGISTER_FIELDS = ("project_id", "key_id", "key_secret")
MAX_SELECT_OPTIONS = 100  # Slack's limit for a static select
_REGION_LABELS = {Region.US: "US", Region.EU: "EU", Region.BR: "BR (Brazil)"}


def _text_input(block_id: str, label: str, *, hint: str | None = None, optional: bool = False,
                max_length: int | None = None, multiline: bool = False, placeholder: str | None = None,
                initial_value: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        hint=hint,
        optional=optional,
        element=PlainTextInputElement(action_id=block_id, max_length=max_length, multiline=multiline,
                                      placeholder=placeholder, initial_value=initial_value),
    )


def _contact_email() -> InputBlock:
    return InputBlock(block_id="contact_email", label="Customer's contact e-mail",
                      hint="The address the customer logs in to Sinch with; they are invited as Limited member.",
                      element=EmailInputElement(action_id="contact_email"))


def _channel_blocks() -> list[InputBlock]:
    """Which channels, and the Instagram account (asked only when Instagram is chosen; checked on submit)."""
    messenger = Option(value="messenger", label="Messenger")
    return [
        InputBlock(
            block_id="channels", label="Channels",
            hint="One invitation and one access removal for every channel chosen.",
            element=RadioButtonsElement(action_id="channels", initial_option=messenger, options=[
                messenger,
                Option(value="instagram", label="Instagram"),
                Option(value="messenger_instagram", label="Messenger and Instagram"),
            ]),
        ),
        _text_input("instagram_username", "Instagram username", optional=True, max_length=100,
                    placeholder="@acme.bikes or instagram.com/acme.bikes",
                    hint="For Instagram: the professional account to connect (1-30 letters, digits, . and _)."),
    ]


def _page_blocks(*, channels: bool = False) -> list[InputBlock]:
    """The Page, its owner, the prerequisites and notes: the same for a first and a second Page."""
    return [
        *(_channel_blocks() if channels else []),
        _text_input("page", "Facebook Page name or URL", max_length=300, optional=channels,
                    hint="For Messenger. Its URL (facebook.com/… or profile.php?id=…) lets the bot check the "
                         "connected Page."),
        InputBlock(
            block_id="page_type", label="Who owns the Page?", optional=channels,
            element=RadioButtonsElement(action_id="page_type", options=[
                Option(value="personal", label="A person (User access token)"),
                Option(value="business", label="A business in Meta Business Manager (System User token)"),
            ]),
        ),
        InputBlock(
            block_id="prerequisites", label="Prerequisites", optional=True,
            hint=("Messenger: the first two are required before we invite anyone. Instagram: the last three."
                  if channels else "The first two are required before we invite anyone."),
            element=CheckboxesElement(action_id="prerequisites", options=[
                Option(value="business_verified", label="The customer's business is verified in Meta"),
                Option(value="page_admin", label="The customer is an admin of the Facebook Page"),
                Option(value="chat_button", label="The Page has a Messenger chat button"),
                *([Option(value="ig_professional", label="Instagram: a professional (business or creator) account"),
                   Option(value="ig_page_linked", label="Instagram: connected to a Facebook Page they administer"),
                   Option(value="ig_messages_access", label="Instagram: access to messages allowed for tools")]
                  if channels else []),
            ]),
        ),
        _text_input("notes", "Notes", optional=True, multiline=True, max_length=2000),
    ]


def intake_modal() -> View:
    """The `/onboard` form. Static on purpose: it opens before anything touches the DB or network."""
    return View(
        type="modal",
        callback_id=CallbackId.INTAKE,
        title="Meta channel onboarding",
        submit="Submit",
        close="Cancel",
        blocks=[
            _text_input("customer_name", "Customer name", max_length=100),
            _contact_email(),
            InputBlock(
                block_id="region", label="Region",
                hint="Where the customer's data must live. It cannot be changed once the app is created.",
                element=StaticSelectElement(action_id="region", placeholder="Choose a region", options=[
                    Option(value=region.value, label=label) for region, label in _REGION_LABELS.items()]),
            ),
            *_page_blocks(channels=True),
        ],
    )


def _existing_option(case: Onboarding) -> Option:
    return Option(value=str(case.id), label=clip(f"{case.reference} {case.customer_name} · {case.region.upper()}", 75))


def existing_intake_modal(completed: Sequence[Onboarding], chosen: Onboarding | None = None) -> View:
    """`/onboard existing`: another Page for a customer whose onboarding completed, in that same project."""
    options = [_existing_option(case) for case in completed[:MAX_SELECT_OPTIONS]]
    return View(
        type="modal",
        callback_id=CallbackId.INTAKE_EXISTING,
        title="Another Page or channel",
        submit="Submit",
        close="Cancel",
        blocks=[
            section("A further Facebook Page for an existing customer: the bot reuses the customer's project and "
                    "region, creates a new app in it, and the customer connects the new Page as before. Or the "
                    "channel they do not have yet (Instagram for a Messenger customer, or Messenger for an "
                    "Instagram one): same project, and the same app if it is still there."),
            InputBlock(block_id="existing", label="Existing customer project",
                       hint="Completed onboardings, newest first.",
                       element=StaticSelectElement(action_id="existing", placeholder="Choose the customer",
                                                   options=options,
                                                   initial_option=_existing_option(chosen) if chosen else None)),
            _contact_email(),
            *_page_blocks(channels=True),
        ],
    )


@functools.cache
def _intake_json() -> str:
    return json.dumps(intake_modal().to_dict())


def intake_view() -> dict[str, Any]:
    """`intake_modal()` as a fresh dict for views.open, built and validated once per process since it never
    changes: building the View and validating it took ~0.4 ms of CPU per `/onboard` (bench/README.md, ack)."""
    loaded: dict[str, Any] = json.loads(_intake_json())
    return loaded


def register_project_modal(case: Onboarding, *, existing_project: str | None = None) -> View:
    """Staff paste the new project's id and an access key made in it; the bot verifies before storing.

    For a second Page, `existing_project` (the project of the completed onboarding) is filled in.
    """
    lead = (f"*{escape(clip(case.customer_name, 200))}* ({case.reference}), region *{case.region.upper()}*. "
            + ("Use the *project* you just created (not a subproject)." if existing_project is None else
               f"A second Page: use the customer's existing project `{escape(existing_project)}` and a *new* "
               "access key made in it (the old one was erased)."))
    return View(
        type="modal",
        callback_id=CallbackId.REGISTER_PROJECT,
        private_metadata=str(case.id),
        title="Register project",
        submit="Verify and save",
        close="Cancel",
        blocks=[
            section(lead),
            _text_input("project_id", "Project id", placeholder="e.g. 8e7c2a4f-…", max_length=64,
                        initial_value=existing_project),
            _text_input("key_id", "Access key id", max_length=64),
            _text_input("key_secret", "Access key secret", max_length=200,
                        hint="Stored encrypted, used only for this customer's app, erased when the onboarding ends."),
            context("The bot gets a token with this key and checks the project is fresh (no apps in any region, "
                    "not in use by another onboarding, not ours, not a subproject) before saving anything."),
        ],
    )


def reason_modal(callback_id: CallbackId, case: Onboarding, *, title: str, prompt: str, submit: str,
                 note: str | None = None, reason: str | None = None) -> View:
    """A one-field modal asking why (reject, cancel).

    The metadata carries the case id and the state the person is looking at (`12:inviting`), so the
    submission can tell whether the case moved on meanwhile. `note` and `reason` re-open it after that.
    """
    blocks = [section(f"*{escape(clip(case.customer_name, 200))}* ({case.reference})")]
    if note:
        blocks.append(section(f":warning: {escape(note)}"))
    return View(
        type="modal",
        callback_id=callback_id,
        private_metadata=f"{case.id}:{case.state.value}",
        title=title,
        submit=submit,
        close="Back",
        blocks=[
            *blocks,
            _text_input("reason", prompt, multiline=True, max_length=MAX_REASON,
                        initial_value=clip(reason, MAX_REASON) if reason else None),
        ],
    )


def reject_modal(case: Onboarding) -> View:
    return reason_modal(CallbackId.REJECT, case, title="Reject onboarding", prompt="Why? (the requester sees this)",
                        submit="Reject")


def cancel_modal(case: Onboarding, *, note: str | None = None, reason: str | None = None) -> View:
    return reason_modal(CallbackId.CANCEL, case, title="Cancel onboarding", prompt="Why are you cancelling?",
                        submit="Cancel it", note=note, reason=reason)
