"""What the bot says in a thread, as data. `bot/blocks` turns a notice into Block Kit at delivery time.

A notice carries the values as they were when it was written, so a reply reads the same however late
it is delivered; only the status card is re-rendered from the current state.
"""

from __future__ import annotations

from enum import StrEnum

from store.states import OnboardingState

__all__ = ["NoticeType", "STATE_LABELS"]


class NoticeType(StrEnum):
    APPROVAL_REQUEST = "approval_request"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROJECT_STEP = "project_step"
    PROJECT_REGISTERED = "project_registered"
    APP_CREATED = "app_created"
    APP_FAILED = "app_failed"
    INVITE_STEP = "invite_step"
    CUSTOMER_INSTRUCTIONS = "customer_instructions"
    INVITED = "invited"
    CHANNEL_PENDING = "channel_pending"
    CHANNEL_FAILING = "channel_failing"
    CHANNEL_RECOVERED = "channel_recovered"
    CHANNEL_ACTIVE = "channel_active"
    CHANNEL_OTHER = "channel_other"
    REVOKE_STEP = "revoke_step"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REMINDER = "reminder"
    POLL_TROUBLE = "poll_trouble"
    POLL_RECOVERED = "poll_recovered"


STATE_LABELS: dict[OnboardingState, str] = {
    OnboardingState.AWAITING_APPROVAL: "waiting for approval",
    OnboardingState.CREATING_PROJECT: "waiting for the project and access key",
    OnboardingState.CREATING_APP: "creating the Conversation API app",
    OnboardingState.INVITING: "waiting for the customer's invitation",
    OnboardingState.AWAITING_CUSTOMER: "waiting for the customer to connect a Page",
    OnboardingState.ACTIVATING: "channel activating",
    OnboardingState.FAILING: "channel failing",
    OnboardingState.REVOKING: "waiting for the customer's access to be removed",
    OnboardingState.COMPLETED: "completed",
    OnboardingState.REJECTED: "rejected",
    OnboardingState.CANCELLED: "cancelled",
    OnboardingState.EXPIRED: "expired",
}
