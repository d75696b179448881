"""The status card: the thread's parent message, always rendered from the stored case."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, ConfirmObject, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.slack.blocks.base import Rendered, actions, button, context, section
from bot.slack.blocks.channel_replies import TOKEN_TYPE, channel_lines, channels_title
from bot.slack.blocks.guards import SUBPROJECT_NOTES
from bot.slack.blocks.performers import PERFORMER_NOTE
from bot.slack.ids import ActionId
from bot.slack.mrkdwn import age, clip, escape, mention, when
from bot.workflow import STATE_LABELS, StepProgress, progress
from bot.workflow.freshness import SubprojectCheck
from bot.workflow.notices import StepKey
from bot.workflow.pages import PageCheck
from store.models import Channel, Onboarding
from store.states import REMOVAL_STATES, TERMINAL_STATES, OnboardingState

__all__ = ["STATE_EMOJI", "status_card"]

S = OnboardingState

STATE_EMOJI: dict[OnboardingState, str] = {
    S.AWAITING_APPROVAL: ":hourglass_flowing_sand:",
    S.CREATING_PROJECT: ":construction:",
    S.CREATING_APP: ":gear:",
    S.INVITING: ":envelope:",
    S.AWAITING_CUSTOMER: ":hourglass:",
    S.ACTIVATING: ":arrows_counterclockwise:",
    S.FAILING: ":warning:",
    S.REVOKING: ":rotating_light:",
    S.CONFIRMING_REMOVAL: ":eyes:",
    S.COMPLETED: ":white_check_mark:",
    S.REJECTED: ":no_entry_sign:",
    S.CANCELLED: ":heavy_multiplication_x:",
    S.EXPIRED: ":alarm_clock:",
}
_PROGRESS_EMOJI = {
    StepProgress.DONE: ":white_check_mark:",
    StepProgress.CURRENT: ":point_right:",
    StepProgress.TODO: ":white_small_square:",
    StepProgress.SKIPPED: ":heavy_minus_sign:",
}
_STEP_TITLE = {
    StepKey.APPROVAL: "Team lead approves the invitation",
    StepKey.PROJECT: "Create the project (not a subproject) and an access key",
    StepKey.APP: "Create the Conversation API app",
    StepKey.INVITE: "Invite the customer as Limited member",
    StepKey.CONNECT: "Customer connects their Facebook Page",
    StepKey.REVOKE: "Remove the customer's access to the project",
}


def _field(label: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(f"*{label}*\n{value}", 2000))


def _checklist(case: Onboarding, now: datetime) -> str:
    lines = []
    for step, status in progress(case):
        title = _STEP_TITLE[step.key]
        if step.key is StepKey.CONNECT and case.has_instagram:
            title = f"Customer connects {channels_title(case)}"
        line = f"{_PROGRESS_EMOJI[status]} {title} _({PERFORMER_NOTE[step.performer]})_"
        if status is StepProgress.CURRENT:
            line += f" — waiting {age(case.state_entered_at, now)}"
        lines.append(line)
    return "\n".join(lines)


def _channel(case: Onboarding) -> str:
    if case.channel_status is None:
        return "not checked yet" if case.invited_at else "-"
    text = f"`{escape(case.channel_status)}`"
    if case.channel_description:
        text += f" — {escape(clip(case.channel_description, 300))}"
    return text


def status_card(case: Onboarding, *, now: datetime) -> Rendered:
    """The parent message of the case's thread."""
    state_line = f"{STATE_EMOJI[case.state]} *{STATE_LABELS[case.state]}*"
    if case.state in REMOVAL_STATES and case.revoke_outcome is not None:
        state_line += f" (then {case.revoke_outcome.value})"
    page = escape(case.page) + _connected_page(case)
    app = "-"
    if case.app_name:
        app = escape(case.app_name) + (f"\n`{escape(case.app_id)}`" if case.app_id else " _(not created yet)_")
    messenger_only = not case.has_instagram
    # A case with Instagram: one field per requested channel (status and connected identity) instead of three.
    channel_fields = [_field(label, value) for label, value in channel_lines(case, page, _channel(case))]
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"{case.customer_name} · {channels_title(case)} onboarding {case.reference}", 150)),
        section(state_line),
        SectionBlock(fields=[
            _field("Region", case.region.upper() + " _(cannot change)_"),
            _field("Contact", escape(case.contact_email)),
            _field("Requested by", mention(case.requester_id)),
            _field("Approved by", mention(case.approver_id) if case.approver_id and case.decided_at else "-"),
            *([_field("Facebook Page", page), _field("Token type", TOKEN_TYPE[case.page_type])] if messenger_only
              else []),
            _field("Project", f"`{escape(case.project_id)}`" if case.project_id else "-"),
            _field("Conversation API app", app),
            *([_field("Messenger channel", _channel(case))] if messenger_only else channel_fields),
            _field("Customer access", _access(case, now)),
        ]),
        section(_checklist(case, now)),
    ]
    if case.notes:
        blocks.append(context(f"*Notes:* {escape(clip(case.notes, 1500))}"))
    footer = f"{case.reference} · opened {when(case.created_at)} · last change {age(case.updated_at, now)} ago"
    if case.existing_of is not None:
        footer += f" · a further Page for the customer of #{case.existing_of}, in the same project"
    if not case.chat_button and Channel.MESSENGER in case.requested_channels:
        footer += " · :warning: no Messenger chat button on the Page yet"
    note = SUBPROJECT_NOTES.get(SubprojectCheck(case.subproject_check)) if case.subproject_check else None
    if note:
        footer += f" · :information_source: {note}"
    blocks.append(context(footer))
    if case.state not in TERMINAL_STATES and case.state not in REMOVAL_STATES:
        blocks.append(actions(button(
            "Cancel onboarding", ActionId.CANCEL, str(case.id), style="danger",
            confirm=ConfirmObject(title="Cancel this onboarding?", text="You'll be asked for a reason.",
                                  confirm="Continue", deny="Keep it"),
        )))
    fallback = (f"{channels_title(case)} onboarding {case.reference} for {escape(case.customer_name)}: "
                f"{STATE_LABELS[case.state]}")
    return Rendered(text=fallback, blocks=blocks)


def _connected_page(case: Onboarding) -> str:
    """The connected Page and whether it is the requested one."""
    connected = ""
    if case.page_name or case.page_id:
        connected = escape(case.page_name or "") + (f" (`{escape(case.page_id)}`)" if case.page_id else "")
    match case.page_check:
        case PageCheck.MATCH | PageCheck.RIGHT_CONFIRMED:
            return f"\n:white_check_mark: connected: {connected}"
        case PageCheck.MISMATCH:
            return f"\n:warning: connected Page *{connected}*, requested *{escape(clip(case.page, 300))}*"
        case PageCheck.WRONG_CONFIRMED:
            return f"\n:warning: wrong Page connected ({connected}); the customer keeps access to fix it"
        case PageCheck.UNVERIFIED:
            return "\n_the connected Page could not be verified (no Provisioning API)_"
    return f"\nconnected: {connected}" if connected else ""


def _access(case: Onboarding, now: datetime) -> str:
    if case.invited_at is None:
        return "not invited"
    if case.revoked_at is not None and case.state == S.CONFIRMING_REMOVAL:
        return (f"removed by {mention(case.revoked_by)} {when(case.revoked_at)}; :eyes: waiting for someone else "
                "to confirm")
    if case.revoked_at is not None:
        return f"removed by {mention(case.revoked_by)} {when(case.revoked_at)}"
    return f":key: has access for {age(case.invited_at, now)}"
