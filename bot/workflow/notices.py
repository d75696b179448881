"""What the bot says in a thread, as data: one frozen dataclass per kind of notice.

The workflow writes a notice into the outbox (`store.payloads` stores it as JSON) and `bot/slack/blocks`
turns it into Block Kit at delivery time. A notice carries the values as they were when it was written,
so a reply reads the same however late it is delivered; only the status card is re-rendered from the
current state. Field names match the JSON keys older versions wrote, so rows already queued still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from bot.workflow.identity_notices import AccountMismatch, PageMismatch, ReviewFlagged, WrongAccount, WrongPage
from bot.workflow.notice_tags import NoticeType, Outcome, ReminderAbout, RevokeReason, StepKey
from sinch import Region
from store import payloads
from store.states import OnboardingState

__all__ = [
    "NOTICE_KINDS",
    "STATE_LABELS",
    "AccountMismatch",
    "AppCreated",
    "AppFailed",
    "ApprovalRequest",
    "Approved",
    "Cancelled",
    "ChannelActive",
    "ChannelFailing",
    "ChannelOther",
    "ChannelPending",
    "ChannelRecovered",
    "ChannelSnapshot",
    "ChannelUpdate",
    "CustomerInstructions",
    "Expired",
    "InviteStep",
    "Invited",
    "Notice",
    "PageMismatch",
    "NoticeType",
    "Outcome",
    "PollRecovered",
    "PollTrouble",
    "ProjectRegistered",
    "ProjectStep",
    "Rejected",
    "Reminder",
    "ReminderAbout",
    "Resolution",
    "ReviewFlagged",
    "RevokeReason",
    "RemovalCheckStep",
    "RevokeStep",
    "Revoked",
    "StepKey",
    "StepNotice",
    "UnknownNotice",
    "WrongAccount",
    "WrongPage",
    "decode_notice",
    "decode_resolution",
    "step_of",
]


# -- step messages: they carry buttons until resolved -----------------------------------------------


@dataclass(frozen=True)
class ApprovalRequest:
    tag: ClassVar[NoticeType] = NoticeType.APPROVAL_REQUEST
    step: ClassVar[StepKey] = StepKey.APPROVAL
    existing_of: int | None = None  # a further Page: the completed onboarding whose project it goes into
    project_id: str | None = None


@dataclass(frozen=True)
class ProjectStep:
    tag: ClassVar[NoticeType] = NoticeType.PROJECT_STEP
    step: ClassVar[StepKey] = StepKey.PROJECT
    existing_of: int | None = None
    project_id: str | None = None


@dataclass(frozen=True)
class AppFailed:
    tag: ClassVar[NoticeType] = NoticeType.APP_FAILED
    step: ClassVar[StepKey] = StepKey.APP
    error: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class InviteStep:
    tag: ClassVar[NoticeType] = NoticeType.INVITE_STEP
    step: ClassVar[StepKey] = StepKey.INVITE
    email: str
    project_id: str | None = None


@dataclass(frozen=True)
class RevokeStep:
    tag: ClassVar[NoticeType] = NoticeType.REVOKE_STEP
    step: ClassVar[StepKey] = StepKey.REVOKE
    reason: RevokeReason
    email: str
    project_id: str | None = None
    # The Page check (bot.workflow.pages.PageCheck value) as it stood, and the Pages it compared.
    page_check: str | None = None
    requested_page: str | None = None
    page_name: str | None = None
    page_id: str | None = None
    # The Instagram account check (same values as page_check), for a case with Instagram.
    account_check: str | None = None
    requested_account: str | None = None
    account_username: str | None = None


@dataclass(frozen=True)
class RemovalCheckStep:
    """REMOVAL_CONFIRMATION=two-person: someone other than `by` confirms the customer is gone."""

    tag: ClassVar[NoticeType] = NoticeType.REMOVAL_CHECK_STEP
    # Still the removal step: its resolution (CHECKED) applies to this message, posted after REMOVED was.
    step: ClassVar[StepKey] = StepKey.REVOKE
    by: str
    email: str
    project_id: str | None = None


StepNotice = ApprovalRequest | ProjectStep | AppFailed | InviteStep | RevokeStep | RemovalCheckStep


# -- reports of what happened ---------------------------------------------------------------------


@dataclass(frozen=True)
class Approved:
    tag: ClassVar[NoticeType] = NoticeType.APPROVED
    by: str


@dataclass(frozen=True)
class Rejected:
    tag: ClassVar[NoticeType] = NoticeType.REJECTED
    by: str
    requester: str
    reason: str = ""


@dataclass(frozen=True)
class ProjectRegistered:
    tag: ClassVar[NoticeType] = NoticeType.PROJECT_REGISTERED
    by: str
    project_id: str
    key_id: str


@dataclass(frozen=True)
class AppCreated:
    tag: ClassVar[NoticeType] = NoticeType.APP_CREATED
    app_id: str
    app_name: str
    region: Region
    reused: bool = False


@dataclass(frozen=True)
class CustomerInstructions:
    tag: ClassVar[NoticeType] = NoticeType.CUSTOMER_INSTRUCTIONS
    app_name: str | None = None


@dataclass(frozen=True)
class Invited:
    tag: ClassVar[NoticeType] = NoticeType.INVITED
    by: str
    email: str


@dataclass(frozen=True)
class ChannelSnapshot:
    """The Messenger channel as one poll saw it."""

    status: str  # a sinch.ChannelStatus value, or whatever new status Sinch sent, verbatim
    description: str | None = None
    page_name: str | None = None
    page_id: str | None = None


@dataclass(frozen=True)
class ChannelPending(ChannelSnapshot):
    tag: ClassVar[NoticeType] = NoticeType.CHANNEL_PENDING


@dataclass(frozen=True)
class ChannelRecovered(ChannelSnapshot):
    tag: ClassVar[NoticeType] = NoticeType.CHANNEL_RECOVERED


@dataclass(frozen=True)
class ChannelActive(ChannelSnapshot):
    tag: ClassVar[NoticeType] = NoticeType.CHANNEL_ACTIVE


@dataclass(frozen=True)
class ChannelOther(ChannelSnapshot):
    tag: ClassVar[NoticeType] = NoticeType.CHANNEL_OTHER


@dataclass(frozen=True)
class ChannelFailing(ChannelSnapshot):
    tag: ClassVar[NoticeType] = NoticeType.CHANNEL_FAILING


@dataclass(frozen=True)
class ChannelUpdate:
    """One channel of a case with Instagram, as one poll saw it change (one notice per channel per change).

    `waiting_for` names the requested channels that are not live yet, with their statuses in `waiting_status`:
    while any is, the customer keeps access.
    """

    tag: ClassVar[NoticeType] = NoticeType.CHANNEL_UPDATE
    channel: str  # a store.models.Channel value
    status: str
    description: str | None = None
    identity: str | None = None  # the connected Page's name or the account's @username, as Sinch named it
    waiting_for: tuple[str, ...] = ()
    waiting_status: tuple[str, ...] = ()
    recovered: bool = False  # was FAILING, now PENDING again


@dataclass(frozen=True)
class Revoked:
    tag: ClassVar[NoticeType] = NoticeType.REVOKED
    by: str
    outcome: OnboardingState
    checked_by: str | None = None  # two-person removal: who confirmed


@dataclass(frozen=True)
class Cancelled:
    tag: ClassVar[NoticeType] = NoticeType.CANCELLED
    by: str
    reason: str = ""
    needs_revoke: bool = False


@dataclass(frozen=True)
class Expired:
    tag: ClassVar[NoticeType] = NoticeType.EXPIRED
    requester: str


@dataclass(frozen=True)
class Reminder:
    """A nudge for the current step. `about` says which; `reminder` is the ready sentence older rows carry."""

    tag: ClassVar[NoticeType] = NoticeType.REMINDER
    state: OnboardingState
    since: datetime
    mention: tuple[str, ...] = ()
    about: ReminderAbout | None = None
    escalated: bool = False  # a revoke reminder that now also mentions the approvers
    waited: timedelta | None = None  # customer reminder: how long since the invitation
    expires_after: timedelta | None = None  # customer reminder: when the onboarding expires
    reminder: str = ""


@dataclass(frozen=True)
class PollTrouble:
    tag: ClassVar[NoticeType] = NoticeType.POLL_TROUBLE
    failures: int
    error: str = ""


@dataclass(frozen=True)
class PollRecovered:
    tag: ClassVar[NoticeType] = NoticeType.POLL_RECOVERED


@dataclass(frozen=True)
class UnknownNotice:
    """A stored row whose type this version does not know (never written; only read back)."""

    type: str


Notice = (
    ApprovalRequest | ProjectStep | AppFailed | InviteStep | RevokeStep | Approved | Rejected | ProjectRegistered
    | AppCreated | CustomerInstructions | Invited | ChannelPending | ChannelRecovered | ChannelActive | ChannelOther
    | ChannelFailing | Revoked | Cancelled | Expired | Reminder | PollTrouble | PollRecovered | RemovalCheckStep
    | PageMismatch | WrongPage | ChannelUpdate | AccountMismatch | WrongAccount | ReviewFlagged | UnknownNotice
)

NOTICE_KINDS: dict[str, type[Notice]] = {
    cls.tag: cls for cls in (
        ApprovalRequest, ProjectStep, AppFailed, InviteStep, RevokeStep, Approved, Rejected, ProjectRegistered,
        AppCreated, CustomerInstructions, Invited, ChannelPending, ChannelRecovered, ChannelActive, ChannelOther,
        ChannelFailing, Revoked, Cancelled, Expired, Reminder, PollTrouble, PollRecovered, RemovalCheckStep,
        PageMismatch, WrongPage, ChannelUpdate, AccountMismatch, WrongAccount, ReviewFlagged,
    )
}


@dataclass(frozen=True)
class Resolution:
    """Who used a step message's buttons, and how (stored untagged in RESOLVE rows)."""

    step: StepKey
    outcome: Outcome
    by: str
    at: datetime | None = None


def step_of(notice: Notice) -> StepKey | None:
    """The step a notice's buttons act on, if it is a step message."""
    if isinstance(notice, ApprovalRequest | ProjectStep | AppFailed | InviteStep | RevokeStep | RemovalCheckStep):
        return notice.step
    return None


def decode_notice(text: str) -> Notice:
    """A REPLY row's notice; a type this version does not know reads as UnknownNotice."""
    try:
        return payloads.decode(text, NOTICE_KINDS)
    except payloads.PayloadError:
        tag = payloads.tag_of(text)
        if tag is not None and tag not in NOTICE_KINDS:
            return UnknownNotice(type=tag)
        raise


def decode_resolution(text: str) -> Resolution:
    """A RESOLVE row's resolution."""
    return payloads.decode_as(text, Resolution)


STATE_LABELS: dict[OnboardingState, str] = {
    OnboardingState.AWAITING_APPROVAL: "waiting for approval",
    OnboardingState.CREATING_PROJECT: "waiting for the project and access key",
    OnboardingState.CREATING_APP: "creating the Conversation API app",
    OnboardingState.INVITING: "waiting for the customer's invitation",
    OnboardingState.AWAITING_CUSTOMER: "waiting for the customer to connect a Page",
    OnboardingState.ACTIVATING: "channel activating",
    OnboardingState.FAILING: "channel failing",
    OnboardingState.REVOKING: "waiting for the customer's access to be removed",
    OnboardingState.CONFIRMING_REMOVAL: "waiting for a second person to confirm the access removal",
    OnboardingState.COMPLETED: "completed",
    OnboardingState.REJECTED: "rejected",
    OnboardingState.CANCELLED: "cancelled",
    OnboardingState.EXPIRED: "expired",
}
