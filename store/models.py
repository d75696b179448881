"""Tables: the onboarding case, its audit trail, and the Slack outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from sinch.models import Region
from store.states import OnboardingState

__all__ = [
    "AccessReview",
    "AuditEvent",
    "Channel",
    "ChannelPace",
    "HomeViewer",
    "Onboarding",
    "OutboxKind",
    "OutboxMessage",
    "OutboxPriority",
    "OutboxStatus",
    "PageType",
    "Region",
    "ReviewItem",
    "SlackEventSeen",
    "UTCDateTime",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, hands back timezone-aware datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


E = TypeVar("E", bound=StrEnum)


class StrEnumType(TypeDecorator[E]):
    """Stores a StrEnum as its plain string value and hands back the enum member."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)


def _when(*, nullable: bool = True, index: bool = False, **kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index, **kwargs)


def _state_column(*, nullable: bool = False) -> Any:
    # A plain VARCHAR (no database enum) keeps migrations simple when states are added.
    return Field(sa_type=StrEnumType(OnboardingState, 32), nullable=nullable)


class PageType(StrEnum):
    """Who owns the customer's Facebook Page, which decides the token type they pick in the dashboard."""

    PERSONAL = "personal"  # a User access token
    BUSINESS = "business"  # a System User access token (the Page is owned in Meta Business Manager)


class Channel(StrEnum):
    """A Meta channel an onboarding connects; a case asks for one or both, in this order."""

    MESSENGER = "messenger"
    INSTAGRAM = "instagram"


_ONBOARDING_VERSION = sa.Column("version", sa.Integer, nullable=False, default=1)


class Onboarding(SQLModel, table=True):
    """One customer being onboarded: intake, who did what, Sinch ids, Slack location, timers."""

    __tablename__ = "onboarding"
    __table_args__ = (
        sa.Index("ix_onboarding_state_next_poll_at", "state", "next_poll_at"),
        sa.Index("ix_onboarding_state_channels_poll_at", "state", "channels_poll_at"),
        sa.Index("ix_onboarding_state_entered", "state", "state_entered_at"),
        sa.Index("ix_onboarding_requester_created", "requester_id", "created_at"),  # the intake limit's count
    )

    id: int | None = Field(default=None, primary_key=True)
    # Optimistic lock: every UPDATE carries `WHERE version = ?`, so two writers cannot both win.
    version: int = Field(default=1, sa_column=_ONBOARDING_VERSION)

    # Intake
    customer_name: str = Field(max_length=200)
    customer_key: str = Field(max_length=200, index=True)  # normalised name, for duplicate checks
    contact_email: str = Field(max_length=320, index=True)  # stored lower-case
    region: Region = Field(sa_type=StrEnumType(Region, 2))
    page: str = Field(max_length=500)
    page_type: PageType = Field(sa_type=StrEnumType(PageType, 16))
    business_verified: bool = False
    page_admin: bool = False
    chat_button: bool = False
    notes: str = Field(default="", max_length=3000)

    # State
    state: OnboardingState = _state_column()
    state_entered_at: datetime = _when(nullable=False, default_factory=utcnow)
    # Which terminal state REVOKING leads to once the access removal is confirmed.
    revoke_outcome: OnboardingState | None = _state_column(nullable=True)
    created_at: datetime = _when(nullable=False, default_factory=utcnow)
    updated_at: datetime = _when(nullable=False, default_factory=utcnow)

    # People and decisions
    requester_id: str = Field(max_length=32)
    approver_id: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = _when()
    rejection_reason: str | None = Field(default=None, max_length=3000)
    cancelled_by: str | None = Field(default=None, max_length=32)
    cancel_reason: str | None = Field(default=None, max_length=3000)

    # Sinch project and key (registered by staff), app (created by the bot)
    project_id: str | None = Field(default=None, max_length=64, index=True)
    key_id: str | None = Field(default=None, max_length=64)
    key_secret_sealed: str | None = Field(default=None, max_length=1000)
    project_registered_by: str | None = Field(default=None, max_length=32)
    project_registered_at: datetime | None = _when()
    app_name: str | None = Field(default=None, max_length=200)
    app_id: str | None = Field(default=None, max_length=64)
    app_attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)

    # Invitation and access removal (human steps)
    invited_by: str | None = Field(default=None, max_length=32)
    invited_at: datetime | None = _when()
    revoked_by: str | None = Field(default=None, max_length=32)
    revoked_at: datetime | None = _when()
    # REMOVAL_CONFIRMATION=two-person: the second person, who is not `revoked_by`.
    removal_checked_by: str | None = Field(default=None, max_length=32)
    removal_checked_at: datetime | None = _when()

    # Guards (migration 0003): a second Page reuses the project of a completed onboarding (`existing_of`);
    # `subproject_check` is passed | unavailable | not_configured; `page_check` is match | mismatch |
    # unverified | wrong_confirmed | right_confirmed, and `wrong_page_id` the Page staff said is the wrong one.
    existing_of: int | None = Field(default=None)
    subproject_check: str | None = Field(default=None, max_length=16)
    page_check: str | None = Field(default=None, max_length=16)
    wrong_page_id: str | None = Field(default=None, max_length=64)

    # Messenger channel, as last seen
    channel_status: str | None = Field(default=None, max_length=32)
    channel_description: str | None = Field(default=None, max_length=2000)
    channel_checked_at: datetime | None = _when()
    page_id: str | None = Field(default=None, max_length=64)
    page_name: str | None = Field(default=None, max_length=300)
    active_at: datetime | None = _when()

    # Channels (migration 0004): NULL is "messenger" (every row written before it). A case with Instagram keeps
    # its poll due time in `channels_poll_at` and leaves `next_poll_at` NULL, so a process of the previous
    # version (which polls by next_poll_at and knows Messenger only) never polls it (docs/replicas.md).
    channels: str | None = Field(default=None, max_length=32)  # "messenger", "instagram", "messenger,instagram"
    instagram_username: str | None = Field(default=None, max_length=64)  # asked for at intake, without "@"
    channels_poll_at: datetime | None = _when()
    # Instagram channel, as last seen; the account check is match | mismatch | unverified | wrong_confirmed |
    # right_confirmed, like `page_check`.
    ig_status: str | None = Field(default=None, max_length=32)
    ig_description: str | None = Field(default=None, max_length=2000)
    ig_checked_at: datetime | None = _when()
    ig_account_id: str | None = Field(default=None, max_length=64)
    ig_username: str | None = Field(default=None, max_length=64)
    ig_active_at: datetime | None = _when()
    ig_check: str | None = Field(default=None, max_length=16)
    ig_wrong_id: str | None = Field(default=None, max_length=64)

    # Slack location: the status card is the thread parent
    slack_channel: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)

    # Scheduler bookkeeping
    next_poll_at: datetime | None = _when()
    poll_failures: int = 0  # consecutive
    poll_alerted: bool = False  # the thread was told polling is failing
    reminders_sent: int = 0  # for the current state; reset on every transition
    customer_reminded: bool = False  # the "customer has not connected" reminder went out
    app_attempt_at: datetime | None = _when()  # CREATING_APP: when the app creation is (re)attempted

    # Leases: which process works on the case in the background, until when (see docs/replicas.md).
    # Claimed and released with plain UPDATEs that leave `version` alone, so a claim never makes a
    # person's concurrent change fail.
    work_lease_until: datetime | None = _when()  # a poll or an app creation (talks to Sinch)
    work_lease_owner: str | None = Field(default=None, max_length=64)
    reminder_lease_until: datetime | None = _when()  # deciding and writing a reminder or the expiry
    reminder_lease_owner: str | None = Field(default=None, max_length=64)

    __mapper_args__ = {"version_id_col": _ONBOARDING_VERSION}

    @property
    def reference(self) -> str:
        """How people refer to the case in Slack: `#12`."""
        return f"#{self.id}"

    @property
    def requested_channels(self) -> tuple[Channel, ...]:
        """The channels this case connects, in order (Messenger only for rows older than migration 0004)."""
        if not self.channels:
            return (Channel.MESSENGER,)
        return tuple(channel for channel in Channel if channel.value in self.channels.split(","))

    @property
    def has_instagram(self) -> bool:
        """True when the case connects Instagram (and so is polled by this version only)."""
        return Channel.INSTAGRAM in self.requested_channels


class AuditEvent(SQLModel, table=True):
    """Who did what to a case, when, and which state change it caused."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", index=True)
    at: datetime = _when(nullable=False, default_factory=utcnow)
    actor: str = Field(max_length=32)  # a Slack user id, or "bot"
    action: str = Field(max_length=40)
    from_state: OnboardingState | None = _state_column(nullable=True)
    to_state: OnboardingState | None = _state_column(nullable=True)
    detail: str = Field(default="", max_length=3000)


class OutboxKind(StrEnum):
    CARD = "card"  # post the status card (first time) or re-render it with chat.update
    REPLY = "reply"  # a thread reply reporting a change
    RESOLVE = "resolve"  # replace a step message's buttons with who acted and when


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed; if a crash leaves it here, delivery is in doubt and gets checked
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after a permanent Slack error


class OutboxPriority(IntEnum):
    """Which rows go first: a new case's first card and approval request before routine updates."""

    ROUTINE = 0
    URGENT = 1


class OutboxMessage(SQLModel, table=True):
    """A Slack post or update written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", index=True)
    kind: OutboxKind = Field(sa_type=StrEnumType(OutboxKind, 16))
    notice: str = Field(default="{}", sa_type=sa.Text)  # JSON: what to say (rendered at delivery)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=StrEnumType(OutboxStatus, 16))
    attempts: int = 0
    next_attempt_at: datetime = _when(nullable=False, default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _when(nullable=False, default_factory=utcnow)
    delivered_at: datetime | None = _when()
    slack_ts: str | None = Field(default=None, max_length=32)
    # Set at enqueue time; rows written by the previous version get the server default (routine).
    priority: int = Field(default=OutboxPriority.ROUTINE, sa_column_kwargs={"server_default": "0"})
    # A SENDING row belongs to `lease_owner` until `lease_until`; only an expired one is "in doubt".
    lease_until: datetime | None = _when()
    lease_owner: str | None = Field(default=None, max_length=64)


class ChannelPace(SQLModel, table=True):
    """When the next post may go to a channel (epoch seconds), shared by every process."""

    __tablename__ = "channel_pace"

    channel: str = Field(primary_key=True, max_length=32)
    next_post_at: float = 0.0
    # No post before this (Slack's Retry-After after a 429): a slot taken earlier that falls before it is void.
    held_until: float = 0.0


class HomeViewer(SQLModel, table=True):
    """Someone who opened the App Home tab, and when their tab was last published."""

    __tablename__ = "home_viewer"

    user_id: str = Field(primary_key=True, max_length=32)
    opened_at: datetime = _when(nullable=False)
    published_at: datetime = _when(nullable=False)


class SlackEventSeen(SQLModel, table=True):
    """An Events API delivery already handled, so Slack's retries of it are not applied twice."""

    __tablename__ = "slack_event_seen"

    event_id: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = _when(nullable=False)


class AccessReview(SQLModel, table=True):
    """One weekly access review (migration 0005): the snapshot it lists, and its one Slack message.

    `scheduled_for` is the scheduled instant it stands for (UNIQUE: whichever process inserts it first posts
    it; the others' INSERT does nothing). The message is delivered like an outbox row: claimed with a lease,
    posted with the review's id in its metadata (looked for before posting again after a crash), then
    re-rendered with chat.update whenever `revision` is ahead of `rendered_revision` (a sign-off).
    """

    __tablename__ = "access_review"

    id: int | None = Field(default=None, primary_key=True)
    scheduled_for: datetime = _when(nullable=False, sa_column_kwargs={"unique": True})
    taken_at: datetime = _when(nullable=False)  # the snapshot's time: the next review lists removals after it
    requested_by: str = Field(max_length=32)  # "bot" (the schedule) or "cli" (review --post-now)
    channel: str = Field(max_length=32)
    post_status: str = Field(default="pending", max_length=16)  # pending | sending | delivered | skipped
    post_owner: str | None = Field(default=None, max_length=64)
    post_lease_until: datetime | None = _when()
    slack_ts: str | None = Field(default=None, max_length=32)
    revision: int = 1  # bumped by every sign-off: the message shows it once rendered_revision catches up
    rendered_revision: int = 0
    reminders_sent: int = 0  # reminders written (each posted once through `reminders_posted`)
    reminders_posted: int = 0


class ReviewItem(SQLModel, table=True):
    """A line of an access review: a case holding access, or a confirmed removal to sign off."""

    __tablename__ = "review_item"
    __table_args__ = (sa.UniqueConstraint("review_id", "onboarding_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="access_review.id", index=True)
    onboarding_id: int = Field(foreign_key="onboarding.id")
    kind: str = Field(max_length=16)  # holding | removed
    since: datetime = _when(nullable=False)  # invited at (holding) or removal confirmed at (removed)
    by: str | None = Field(default=None, max_length=32)  # who confirmed the removal
    signed_by: str | None = Field(default=None, max_length=32)
    signed_at: datetime | None = _when()
    outcome: str | None = Field(default=None, max_length=16)  # checked | still_has_access
