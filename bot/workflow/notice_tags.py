"""The enums that name notices, steps and outcomes (stored as their string values in the outbox)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NoticeType", "Outcome", "ReminderAbout", "RevokeReason", "StepKey"]


class NoticeType(StrEnum):
    """The `"type"` a notice is stored under."""

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
    CHANNEL_UPDATE = "channel_update"  # one channel of a case with Instagram changed
    ACCOUNT_MISMATCH = "account_mismatch"
    WRONG_ACCOUNT = "wrong_account"
    PAGE_MISMATCH = "page_mismatch"
    WRONG_PAGE = "wrong_page"
    REMOVAL_CHECK_STEP = "removal_check_step"
    REVOKE_STEP = "revoke_step"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REMINDER = "reminder"
    POLL_TROUBLE = "poll_trouble"
    POLL_RECOVERED = "poll_recovered"
    REVIEW_FLAGGED = "review_flagged"


class StepKey(StrEnum):
    """The runbook's steps (`bot.workflow.steps.STEPS`), also naming the step a thread message asks for."""

    APPROVAL = "approval"
    PROJECT = "project"
    APP = "app"
    INVITE = "invite"
    CONNECT = "connect"
    REVOKE = "revoke"

    @classmethod
    def _missing_(cls, value: object) -> StepKey | None:
        # Before the steps and the notices shared this enum, the app step's messages were stored as "app_retry".
        return cls.APP if value == "app_retry" else None


class Outcome(StrEnum):
    """How a step message was resolved (shown in place of its buttons)."""

    APPROVED = "approved"
    REJECTED = "rejected"
    REGISTERED = "registered"
    CREATED = "created"
    RETRIED = "retried"
    SENT = "sent"
    REMOVED = "removed"
    CANCELLED = "cancelled"
    WRONG_PAGE = "wrong_page"  # the confirmer said the connected Page is wrong: the customer keeps access
    WRONG_ACCOUNT = "wrong_account"  # likewise for the connected Instagram account
    CHECKED = "checked"  # a second person confirmed the customer is gone


class RevokeReason(StrEnum):
    """Why the customer's access must be removed."""

    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ReminderAbout(StrEnum):
    """What a reminder nudges people to do."""

    APPROVAL = "approval"
    PROJECT = "project"
    INVITE = "invite"
    CUSTOMER = "customer"
    REVOKE = "revoke"
    REMOVAL_CHECK = "removal_check"
