"""Thread replies: every notice's words, chosen by one `match`. A step notice carries buttons until resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from slack_sdk.models.blocks import Block, ButtonElement

from bot.slack.blocks.base import Rendered, actions, button, context, section
from bot.slack.blocks.channel_replies import (
    TOKEN_TYPE,
    account_line,
    account_mismatch,
    channel_update,
    channels_title,
    multi_channel_instructions,
    what_to_connect,
    wrong_account,
)
from bot.slack.blocks.reminder_text import reminder_text
from bot.slack.ids import ActionId
from bot.slack.mrkdwn import clip, escape, mention, mentions, when
from bot.workflow import STATE_LABELS
from bot.workflow.notices import (
    AccountMismatch,
    AppCreated,
    AppFailed,
    ApprovalRequest,
    Approved,
    Cancelled,
    ChannelActive,
    ChannelFailing,
    ChannelOther,
    ChannelPending,
    ChannelRecovered,
    ChannelSnapshot,
    ChannelUpdate,
    CustomerInstructions,
    Expired,
    Invited,
    InviteStep,
    Notice,
    Outcome,
    PageMismatch,
    PollRecovered,
    PollTrouble,
    ProjectRegistered,
    ProjectStep,
    Rejected,
    Reminder,
    RemovalCheckStep,
    Resolution,
    ReviewFlagged,
    Revoked,
    RevokeReason,
    RevokeStep,
    UnknownNotice,
    WrongAccount,
    WrongPage,
)
from bot.workflow.pages import PageCheck
from store.models import Onboarding, PageType

__all__ = ["TOKEN_TYPE", "NoticeContext", "customer_instructions", "reminder_text", "render_notice"]

REASON_SHOWN = 2000  # UTF-16 units of a reject/cancel reason in its thread reply; the audit keeps it all


@dataclass(frozen=True)
class NoticeContext:
    """What a renderer may need beyond the notice itself."""

    case: Onboarding
    approvers: tuple[str, ...]  # user and user-group ids to mention for approvals and escalations
    resolution: Resolution | None = None  # set when re-rendering a used step message without its buttons


_OUTCOME_TEXT = {
    Outcome.APPROVED: ":white_check_mark: Approved",
    Outcome.REJECTED: ":no_entry_sign: Rejected",
    Outcome.REGISTERED: ":white_check_mark: Project registered",
    Outcome.CREATED: ":white_check_mark: App created",
    Outcome.RETRIED: ":repeat: Retry requested",
    Outcome.SENT: ":white_check_mark: Invitation sent",
    Outcome.REMOVED: ":white_check_mark: Access removed",
    Outcome.CANCELLED: ":heavy_multiplication_x: Onboarding cancelled",
    Outcome.WRONG_PAGE: ":warning: Wrong Page: the customer keeps access to fix it",
    Outcome.WRONG_ACCOUNT: ":warning: Wrong Instagram account: the customer keeps access to fix it",
    Outcome.CHECKED: ":white_check_mark: Customer confirmed gone",
}

_REVOKE_REASON = {
    RevokeReason.ACTIVE: "The Messenger channel is *ACTIVE*, so the customer no longer needs access.",
    RevokeReason.CANCELLED: "The onboarding was cancelled after the customer was invited.",
    RevokeReason.EXPIRED: "The customer did not connect a Page in time.",
}


def render_notice(notice: Notice, ctx: NoticeContext) -> Rendered:
    """The thread reply for a notice (or its resolved form, when `ctx.resolution` is set)."""
    case = ctx.case
    match notice:
        case ApprovalRequest():
            return _approval_request(notice, ctx)
        case Approved(by=by):
            return _say(f":white_check_mark: Approved by {mention(by)}.", "Approved")
        case Rejected(by=by, requester=requester, reason=reason):
            return _say(f":no_entry_sign: Rejected by {mention(by)} ({mention(requester)}): {_reason(reason)}",
                        "Rejected")
        case ProjectStep():
            return _project_step(notice, ctx)
        case ProjectRegistered(by=by, project_id=project_id, key_id=key_id):
            return _say(f":white_check_mark: Project `{escape(project_id)}` registered by {mention(by)}; its access "
                        f"key `{escape(key_id)}` works. Creating the Conversation API app…", "Project registered")
        case AppCreated(app_id=app_id, app_name=app_name, region=region, reused=reused):
            return _say(f":white_check_mark: Conversation API app *{escape(app_name)}* (`{escape(app_id)}`) "
                        f"{'found' if reused else 'created'} in *{region.upper()}*.", "App created")
        case AppFailed(error=error, attempts=attempts):
            return _step(f":x: *Creating the Conversation API app failed* (attempt {attempts}).\n"
                         f"Sinch said: {escape(clip(error, 1500))}", "Creating the app failed", ctx,
                         button("Retry", ActionId.RETRY_APP, str(case.id), style="primary"))
        case InviteStep():
            return _invite_step(notice, ctx)
        case CustomerInstructions(app_name=app_name):
            body = customer_instructions(case, app_name or case.app_name or "")
            return _say(f":incoming_envelope: *Text to send the customer*\n```{escape(body)}```",
                        "Text to send the customer")
        case Invited(by=by, email=email):
            return _say(f":white_check_mark: {mention(by)} invited *{escape(email)}*. The customer now has access "
                        f"to the project; the bot watches the {channels_title(case)} channel"
                        f"{'s' if len(case.requested_channels) > 1 else ''}.", "Invitation sent")
        case ChannelPending():
            return _say(":arrows_counterclockwise: The customer connected a Page: the Messenger channel is "
                        f"*PENDING* (activating).{_status_detail(notice)}", "Messenger channel PENDING")
        case ChannelFailing(status=status):
            return _say(f":warning: The Messenger channel is *{escape(status)}* "
                        f"({mention(case.requester_id)}).{_status_detail(notice)}", "Messenger channel failing")
        case ChannelRecovered():
            return _say(":arrows_counterclockwise: The Messenger channel recovered: *PENDING* again."
                        f"{_status_detail(notice)}", "Messenger channel recovered")
        case ChannelActive():
            return _say(f":tada: The Messenger channel is *ACTIVE*.{_status_detail(notice)}",
                        "Messenger channel ACTIVE")
        case ChannelOther(status=status):
            return _say(f":grey_question: Sinch reports the Messenger channel as `{escape(status)}`."
                        f"{_status_detail(notice)}", "Messenger channel status changed")
        case RevokeStep():
            return _revoke_step(notice, ctx)
        case Revoked(by=by, outcome=outcome, checked_by=checked_by):
            checked = f", confirmed by {mention(checked_by)}" if checked_by else ""
            return _say(f":lock: {mention(by)} removed the customer's access{checked}. Onboarding "
                        f"*{escape(outcome.value)}*; the stored access key secret was erased.", "Access removed")
        case RemovalCheckStep():
            return _removal_check_step(notice, ctx)
        case PageMismatch(requester=requester, requested_page=requested):
            return _say(f":warning: *Not the requested Page* ({mention(requester)}): connected Page "
                        f"*{_connected(notice)}*, requested *{escape(clip(requested, 300))}*. Whoever removes the "
                        "customer's access is asked to confirm the Page first.",
                        "Connected Page differs from the requested one")
        case ReviewFlagged(by=by):
            return _say(f":rotating_light: {mention(by)} flagged this case in the access review: the customer "
                        "*still has access*. Remove it now and confirm below.", "Flagged: still has access")
        case WrongPage(by=by, requested_page=requested):
            return _say(f":warning: {mention(by)} says *{_connected(notice)}* is the wrong Page. The customer keeps "
                        f"access: ask them to connect *{escape(clip(requested, 300))}* instead (without deselecting "
                        "a Page that is live elsewhere). The bot keeps watching the channel.",
                        "Wrong Page: the customer keeps access")
        case Cancelled(by=by, reason=reason, needs_revoke=needs_revoke):
            return _say(f":heavy_multiplication_x: Cancelled by {mention(by)}: {_reason(reason)}"
                        + ("\nThe customer was already invited, so their access must still be removed."
                           if needs_revoke else ""), "Onboarding cancelled")
        case Expired(requester=requester):
            return _say(f":alarm_clock: The customer has not got the channel live in time ({mention(requester)}). "
                        "The onboarding expires once their access is removed.", "Onboarding expired")
        case Reminder():
            asks = reminder_text(notice, connects=what_to_connect(case))
            return _say(f":bell: *Reminder* {mentions(list(notice.mention))}\n{asks}\n"
                        f"_This onboarding has been {STATE_LABELS[notice.state]} since {when(notice.since)}._",
                        "Reminder")
        case PollTrouble(failures=failures, error=error):
            return _say(f":satellite_antenna: The bot cannot read the {channels_title(case)} status from Sinch "
                        f"({failures} tries in a row): {escape(clip(error, 1000))}. It keeps trying.",
                        "Cannot reach Sinch")
        case PollRecovered():
            return _say(f":satellite_antenna: Reading the {channels_title(case)} status from Sinch works again.",
                        "Sinch reachable")
        case ChannelUpdate():
            return channel_update(notice, case)
        case AccountMismatch():
            return account_mismatch(notice)
        case WrongAccount():
            return wrong_account(notice)
        case UnknownNotice(type=kind):
            return _say(f"Update: `{escape(kind)}`", "Update")
        case _:
            assert_never(notice)


def customer_instructions(case: Onboarding, app_name: str) -> str:
    """The text staff send the customer (plain text, pasted into an e-mail)."""
    if case.has_instagram:
        return multi_channel_instructions(case, app_name)
    page_type = case.page_type
    portfolio = (" Then choose the business portfolio that owns the Page." if page_type is PageType.BUSINESS
                 else "")
    return (
        "You have been invited to a Sinch project so you can connect your Facebook Page to Messenger:\n"
        "1. Accept the invitation e-mail from Sinch and log in to the Sinch Build Dashboard.\n"
        f"2. Open Conversation API → Apps → \"{app_name}\".\n"
        "3. Choose Set up channels → Facebook Messenger.\n"
        f"4. Choose the token type \"{TOKEN_TYPE[page_type]}\".{portfolio}\n"
        "5. Log in with Facebook (as an admin of the Page) and select exactly ONE Page: "
        f"\"{case.page}\". Do not deselect any Page that is already selected: that breaks its existing "
        "integration.\n"
        "6. Review the permissions and save. The status shows ACTIVATING CHANNEL, then ACTIVE.\n"
        "ACTIVE means Messenger is live on your Page. We then remove your access to the project; nothing "
        "else changes for you."
    )


def _say(text: str, fallback: str) -> Rendered:
    return Rendered(text=fallback, blocks=[section(text)])


def _resolved(resolution: Resolution) -> Block:
    outcome = _OUTCOME_TEXT.get(resolution.outcome, "Done")
    return context(f"{outcome} by {mention(resolution.by)} {when(resolution.at)}")


def _step(text: str, fallback: str, ctx: NoticeContext, *buttons: ButtonElement) -> Rendered:
    """A guided step: instructions, then buttons, or who used them once resolved."""
    blocks: list[Block] = [section(text)]
    if ctx.resolution is not None:
        blocks.append(_resolved(ctx.resolution))
    elif buttons:
        blocks.append(actions(*buttons))
    return Rendered(text=fallback, blocks=blocks)


def _approval_request(notice: ApprovalRequest, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    where = ("a new project in our Sinch account" if notice.existing_of is None else
             f"their existing project `{escape(notice.project_id)}` (a further Page, after onboarding "
             f"#{notice.existing_of})")
    text = (
        f":raised_hand: *Approval needed* {mentions(list(ctx.approvers))}\n"
        f"{mention(case.requester_id)} wants to invite *{escape(case.contact_email)}* "
        f"({escape(case.customer_name)}) into {where} as *Limited member*, "
        f"region *{case.region.upper()}*. Their access is removed again once the channel is ACTIVE."
    )
    value = str(case.id)
    return _step(text, f"Approval needed for {escape(case.customer_name)}", ctx,
                 button("Approve", ActionId.APPROVE, value, style="primary"),
                 button("Reject", ActionId.REJECT, value, style="danger"))


def _project_step(notice: ProjectStep, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    if notice.existing_of is not None:
        return _second_page_project_step(notice, ctx)
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


def _second_page_project_step(notice: ProjectStep, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":construction: *Step 1 — a new access key in the customer's project* ({mention(case.requester_id)})\n"
        f"This is a further Page for the customer of onboarding #{notice.existing_of}: no new project.\n"
        f"1. In the Sinch Build Dashboard, open project `{escape(notice.project_id)}` → *Settings → Access "
        "keys* and create an access key (the previous one was erased when that onboarding ended).\n"
        "2. Press *Register project* and paste the key id and secret. The bot checks it is the same project and "
        f"holds only the apps it created, then creates a new Conversation API app in *{case.region.upper()}*."
    )
    return _step(text, "Register a new key in the customer's project", ctx,
                 button("Register project", ActionId.REGISTER_PROJECT, str(case.id), style="primary"))


def _invite_step(notice: InviteStep, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":envelope: *Step 2 — invite the customer* ({mention(case.requester_id)})\n"
        f"In project `{escape(notice.project_id or case.project_id)}`: profile → *User management* → "
        f"*Invite users*, e-mail *{escape(notice.email)}*, role *Limited member* (no other role). "
        "Enter the 2FA code, then press *Invitation sent*. Then send the customer the text below."
    )
    return _step(text, "Invite the customer as Limited member", ctx,
                 button("Invitation sent", ActionId.INVITATION_SENT, str(case.id), style="primary"))


def _connected(page: PageMismatch | WrongPage | RevokeStep) -> str:
    return escape(page.page_name or page.page_id or "unknown")


def _page_line(notice: RevokeStep) -> str:
    """What the remover must know about the Page before removing access."""
    requested = escape(clip(notice.requested_page or "", 300))
    if notice.page_check == PageCheck.MISMATCH:
        return (f"\n:warning: *Check the Page first:* connected Page *{_connected(notice)}*, requested *{requested}*. "
                "If it is the right Page after all, remove the access and press *Right Page, access removed*; if "
                "not, press *Wrong Page, keep access* so the customer can connect the right one.")
    if notice.page_check == PageCheck.UNVERIFIED and notice.reason is RevokeReason.ACTIVE:
        return (f"\nThe bot could not verify which Page was connected (no Provisioning API): check it is "
                f"*{requested}* in the app's Messenger channel before removing the access.")
    return ""


def _revoke_step(notice: RevokeStep, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    mismatch = notice.page_check == PageCheck.MISMATCH and notice.reason is RevokeReason.ACTIVE
    wrong_account = notice.account_check == PageCheck.MISMATCH and notice.reason is RevokeReason.ACTIVE
    done_label = ("Right Page, access removed" if mismatch else "Right account, access removed" if wrong_account
                  else "Access removed")
    reason = _REVOKE_REASON[notice.reason]
    if case.has_instagram and notice.reason is RevokeReason.ACTIVE:
        reason = "Every requested channel is *ACTIVE*, so the customer no longer needs access."
    elif case.has_instagram and notice.reason is RevokeReason.EXPIRED:
        reason = f"The customer did not get {channels_title(case)} ACTIVE in time."
    account = account_line(notice.account_check, notice.requested_account, notice.account_username,
                           active=notice.reason is RevokeReason.ACTIVE)
    text = (
        f":rotating_light: *Remove the customer's access now* ({mention(case.requester_id)})\n"
        f"{reason}{_page_line(notice)}{account}\n"
        f"In project `{escape(notice.project_id or case.project_id)}`: *User management* → "
        f"*{escape(notice.email)}* → ⋮ → *Remove*, enter the 2FA code, then press *{done_label}*. "
        "The bot keeps reminding until you do."
    )
    buttons = [button(done_label, ActionId.ACCESS_REMOVED, str(case.id), style="danger")]
    if mismatch:
        buttons.append(button("Wrong Page, keep access", ActionId.WRONG_PAGE, str(case.id)))
    elif wrong_account:
        buttons.append(button("Wrong account, keep access", ActionId.WRONG_ACCOUNT, str(case.id)))
    return _step(text, "Remove the customer's access", ctx, *buttons)


def _removal_check_step(notice: RemovalCheckStep, ctx: NoticeContext) -> Rendered:
    case = ctx.case
    text = (
        f":eyes: *Second pair of eyes* ({mention(case.requester_id)})\n"
        f"{mention(notice.by)} removed the customer's access. Someone else: open project "
        f"`{escape(notice.project_id or case.project_id)}` → *User management*, check that "
        f"*{escape(notice.email)}* is no longer listed, then press *Customer is gone*."
    )
    return _step(text, "Confirm the customer is gone", ctx,
                 button("Customer is gone", ActionId.REMOVAL_CHECKED, str(case.id), style="primary"))


def _status_detail(seen: ChannelSnapshot) -> str:
    parts = []
    if seen.page_name:
        parts.append(f"Page *{escape(seen.page_name)}*")
    if seen.description:
        parts.append(f"Sinch says: {escape(clip(seen.description, 1000))}")
    return ("\n" + " · ".join(parts)) if parts else ""


def _reason(typed: str) -> str:
    """A typed reason, escaped, then clipped whole-token so the rest of its message always fits in a section."""
    return clip(escape(typed), REASON_SHOWN)
