"""Thread replies: one renderer per notice type. A step notice carries buttons until it is resolved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block

from bot.slack.blocks.base import Rendered, actions, button, context, section
from bot.slack.ids import ActionId
from bot.slack.mrkdwn import clip, escape, mention, mentions, when
from bot.workflow import STATE_LABELS, NoticeType, PageType
from store.models import Onboarding
from store.states import OnboardingState

__all__ = ["NoticeContext", "customer_instructions", "render_notice"]

Notice = Mapping[str, Any]


@dataclass(frozen=True)
class NoticeContext:
    """What a renderer may need beyond the notice itself."""

    case: Onboarding
    approvers: tuple[str, ...]  # user and user-group ids to mention for approvals and escalations
    resolution: Notice | None = None  # set when re-rendering a used step message without its buttons


_OUTCOME_TEXT = {
    "approved": ":white_check_mark: Approved",
    "rejected": ":no_entry_sign: Rejected",
    "registered": ":white_check_mark: Project registered",
    "created": ":white_check_mark: App created",
    "retried": ":repeat: Retry requested",
    "sent": ":white_check_mark: Invitation sent",
    "removed": ":white_check_mark: Access removed",
    "cancelled": ":heavy_multiplication_x: Onboarding cancelled",
}


def _resolved(resolution: Notice) -> Block:
    outcome = _OUTCOME_TEXT.get(str(resolution.get("outcome")), "Done")
    at = datetime.fromisoformat(str(resolution["at"])) if resolution.get("at") else None
    return context(f"{outcome} by {mention(str(resolution.get('by')))} {when(at)}")


def _step(text: str, fallback: str, ctx: NoticeContext, *buttons: Any) -> Rendered:
    """A guided step: instructions, then buttons, or who used them once resolved."""
    blocks: list[Block] = [section(text)]
    if ctx.resolution is not None:
        blocks.append(_resolved(ctx.resolution))
    elif buttons:
        blocks.append(actions(*buttons))
    return Rendered(text=fallback, blocks=blocks)


def _approval_request(n: Notice, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":raised_hand: *Approval needed* {mentions(list(ctx.approvers))}\n"
        f"{mention(case.requester_id)} wants to invite *{escape(case.contact_email)}* "
        f"({escape(case.customer_name)}) into a new project in our Sinch account as *Limited member*, "
        f"region *{case.region.upper()}*. Their access is removed again once the channel is ACTIVE."
    )
    value = str(case.id)
    return _step(text, f"Approval needed for {escape(case.customer_name)}", ctx,
                 button("Approve", ActionId.APPROVE, value, style="primary"),
                 button("Reject", ActionId.REJECT, value, style="danger"))


def _project_step(n: Notice, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":construction: *Step 1 — create the customer's project* ({mention(case.requester_id)})\n"
        f"1. In the Sinch Build Dashboard, create a *new project* named `{escape(case.customer_name)}`. "
        "A *project*, *not a subproject*: the customer must not see any other project of ours.\n"
        "2. In that project, open *Settings → Access keys* and create an access key.\n"
        "3. Press *Register project* and paste the project id, key id and key secret. "
        f"The bot checks the key, then creates the Conversation API app in *{case.region.upper()}* itself."
    )
    return _step(text, "Create the customer's project", ctx,
                 button("Register project", ActionId.REGISTER_PROJECT, str(case.id), style="primary"))


def _app_failed(n: Notice, ctx: NoticeContext) -> Rendered:
    text = (f":x: *Creating the Conversation API app failed* (attempt {n.get('attempts', 1)}).\n"
            f"Sinch said: {escape(clip(str(n.get('error', '')), 1500))}")
    return _step(text, "Creating the app failed", ctx,
                 button("Retry", ActionId.RETRY_APP, str(ctx.case.id), style="primary"))


def _invite_step(n: Notice, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":envelope: *Step 2 — invite the customer* ({mention(case.requester_id)})\n"
        f"In project `{escape(str(n.get('project_id') or case.project_id))}`: profile → *User management* → "
        f"*Invite users*, e-mail *{escape(str(n.get('email')))}*, role *Limited member* (no other role). "
        "Enter the 2FA code, then press *Invitation sent*. Then send the customer the text below."
    )
    return _step(text, "Invite the customer as Limited member", ctx,
                 button("Invitation sent", ActionId.INVITATION_SENT, str(case.id), style="primary"))


_REVOKE_REASON = {
    "active": "The Messenger channel is *ACTIVE*, so the customer no longer needs access.",
    "cancelled": "The onboarding was cancelled after the customer was invited.",
    "expired": "The customer did not connect a Page in time.",
}


def _revoke_step(n: Notice, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":rotating_light: *Remove the customer's access now* ({mention(case.requester_id)})\n"
        f"{_REVOKE_REASON.get(str(n.get('reason')), '')}\n"
        f"In project `{escape(str(n.get('project_id') or case.project_id))}`: *User management* → "
        f"*{escape(str(n.get('email')))}* → ⋮ → *Remove*, enter the 2FA code, then press *Access removed*. "
        "The bot keeps reminding until you do."
    )
    return _step(text, "Remove the customer's access", ctx,
                 button("Access removed", ActionId.ACCESS_REMOVED, str(case.id), style="danger"))


def customer_instructions(case: Onboarding, app_name: str) -> str:
    """The text staff send the customer (plain text, pasted into an e-mail)."""
    page_type = PageType(case.page_type)
    portfolio = (" Then choose the business portfolio that owns the Page." if page_type is PageType.BUSINESS
                 else "")
    return (
        "You have been invited to a Sinch project so you can connect your Facebook Page to Messenger:\n"
        "1. Accept the invitation e-mail from Sinch and log in to the Sinch Build Dashboard.\n"
        f"2. Open Conversation API → Apps → \"{app_name}\".\n"
        "3. Choose Set up channels → Facebook Messenger.\n"
        f"4. Choose the token type \"{page_type.token_type}\".{portfolio}\n"
        "5. Log in with Facebook (as an admin of the Page) and select exactly ONE Page: "
        f"\"{case.page}\". Do not deselect any Page that is already selected: that breaks its existing "
        "integration.\n"
        "6. Review the permissions and save. The status shows ACTIVATING CHANNEL, then ACTIVE.\n"
        "ACTIVE means Messenger is live on your Page. We then remove your access to the project; nothing "
        "else changes for you."
    )


def _customer_instructions(n: Notice, ctx: NoticeContext) -> Rendered:
    body = customer_instructions(ctx.case, str(n.get("app_name") or ctx.case.app_name))
    text = f":incoming_envelope: *Text to send the customer*\n```{escape(body)}```"
    return Rendered(text="Text to send the customer", blocks=[section(text)])


def _simple(template: Callable[[Notice, NoticeContext], str], fallback: str) -> Callable[..., Rendered]:
    def render(n: Notice, ctx: NoticeContext) -> Rendered:
        return Rendered(text=fallback, blocks=[section(template(n, ctx))])

    return render


def _status_detail(n: Notice) -> str:
    parts = []
    if n.get("page_name"):
        parts.append(f"Page *{escape(str(n['page_name']))}*")
    if n.get("description"):
        parts.append(f"Sinch says: {escape(clip(str(n['description']), 1000))}")
    return ("\n" + " · ".join(parts)) if parts else ""


def _reminder_text(n: Notice, ctx: NoticeContext) -> str:
    state = OnboardingState(str(n.get("state")))
    since = datetime.fromisoformat(str(n["since"])) if n.get("since") else None
    who = mentions([str(user) for user in n.get("mention", [])])
    return (f":bell: *Reminder* {who}\n{escape(str(n.get('reminder', '')))}\n"
            f"_This onboarding has been {STATE_LABELS[state]} since {when(since)}._")


_RENDERERS: dict[str, Callable[[Notice, NoticeContext], Rendered]] = {
    NoticeType.APPROVAL_REQUEST: _approval_request,
    NoticeType.APPROVED: _simple(lambda n, c: f":white_check_mark: Approved by {mention(str(n.get('by')))}.",
                                 "Approved"),
    NoticeType.REJECTED: _simple(
        lambda n, c: f":no_entry_sign: Rejected by {mention(str(n.get('by')))} "
                     f"({mention(str(n.get('requester')))}): {escape(str(n.get('reason', '')))}", "Rejected"),
    NoticeType.PROJECT_STEP: _project_step,
    NoticeType.PROJECT_REGISTERED: _simple(
        lambda n, c: f":white_check_mark: Project `{escape(str(n.get('project_id')))}` registered by "
                     f"{mention(str(n.get('by')))}; its access key `{escape(str(n.get('key_id')))}` works. "
                     "Creating the Conversation API app…", "Project registered"),
    NoticeType.APP_CREATED: _simple(
        lambda n, c: f":white_check_mark: Conversation API app *{escape(str(n.get('app_name')))}* "
                     f"(`{escape(str(n.get('app_id')))}`) {'found' if n.get('reused') else 'created'} in "
                     f"*{str(n.get('region', '')).upper()}*.", "App created"),
    NoticeType.APP_FAILED: _app_failed,
    NoticeType.INVITE_STEP: _invite_step,
    NoticeType.CUSTOMER_INSTRUCTIONS: _customer_instructions,
    NoticeType.INVITED: _simple(
        lambda n, c: f":white_check_mark: {mention(str(n.get('by')))} invited *{escape(str(n.get('email')))}*. "
                     "The customer now has access to the project; the bot watches the Messenger channel.",
        "Invitation sent"),
    NoticeType.CHANNEL_PENDING: _simple(
        lambda n, c: ":arrows_counterclockwise: The customer connected a Page: the Messenger channel is "
                     f"*PENDING* (activating).{_status_detail(n)}", "Messenger channel PENDING"),
    NoticeType.CHANNEL_FAILING: _simple(
        lambda n, c: f":warning: The Messenger channel is *{escape(str(n.get('status')))}* "
                     f"({mention(str(n.get('requester')))}).{_status_detail(n)}", "Messenger channel failing"),
    NoticeType.CHANNEL_RECOVERED: _simple(
        lambda n, c: f":arrows_counterclockwise: The Messenger channel recovered: *PENDING* again."
                     f"{_status_detail(n)}", "Messenger channel recovered"),
    NoticeType.CHANNEL_ACTIVE: _simple(
        lambda n, c: f":tada: The Messenger channel is *ACTIVE*.{_status_detail(n)}", "Messenger channel ACTIVE"),
    NoticeType.CHANNEL_OTHER: _simple(
        lambda n, c: f":grey_question: Sinch reports the Messenger channel as `{escape(str(n.get('status')))}`."
                     f"{_status_detail(n)}", "Messenger channel status changed"),
    NoticeType.REVOKE_STEP: _revoke_step,
    NoticeType.REVOKED: _simple(
        lambda n, c: f":lock: {mention(str(n.get('by')))} removed the customer's access. "
                     f"Onboarding *{escape(str(n.get('outcome')))}*; the stored access key secret was erased.",
        "Access removed"),
    NoticeType.CANCELLED: _simple(
        lambda n, c: f":heavy_multiplication_x: Cancelled by {mention(str(n.get('by')))}: "
                     f"{escape(str(n.get('reason', '')))}"
                     + ("\nThe customer was already invited, so their access must still be removed."
                        if n.get("needs_revoke") else ""), "Onboarding cancelled"),
    NoticeType.EXPIRED: _simple(
        lambda n, c: f":alarm_clock: The customer has not got the channel live in time "
                     f"({mention(str(n.get('requester')))}). The onboarding expires once their access is removed.",
        "Onboarding expired"),
    NoticeType.REMINDER: _simple(_reminder_text, "Reminder"),
    NoticeType.POLL_TROUBLE: _simple(
        lambda n, c: f":satellite_antenna: The bot cannot read the Messenger status from Sinch "
                     f"({n.get('failures')} tries in a row): {escape(clip(str(n.get('error', '')), 1000))}. "
                     "It keeps trying.", "Cannot reach Sinch"),
    NoticeType.POLL_RECOVERED: _simple(
        lambda n, c: ":satellite_antenna: Reading the Messenger status from Sinch works again.", "Sinch reachable"),
}


def render_notice(notice: Notice, ctx: NoticeContext) -> Rendered:
    """The thread reply for a notice (or its resolved form, when `ctx.resolution` is set)."""
    renderer = _RENDERERS.get(str(notice.get("type")))
    if renderer is None:
        return Rendered(text="Update", blocks=[section(f"Update: `{escape(str(notice.get('type')))}`")])
    return renderer(notice, ctx)
