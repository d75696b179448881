"""Every Slack callback id, action id and command name the bot uses, in one place."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["COMMAND", "ActionId", "CallbackId"]

COMMAND = "/onboard"


class CallbackId(StrEnum):
    INTAKE = "onboard_intake"
    INTAKE_EXISTING = "onboard_intake_existing"  # a second Page for a customer whose onboarding completed
    REGISTER_PROJECT = "onboard_register_project"
    REJECT = "onboard_reject"
    CANCEL = "onboard_cancel"


class ActionId(StrEnum):
    APPROVE = "onboard_approve"
    REJECT = "onboard_reject"
    REGISTER_PROJECT = "onboard_register_project"
    RETRY_APP = "onboard_retry_app"
    INVITATION_SENT = "onboard_invitation_sent"
    ACCESS_REMOVED = "onboard_access_removed"
    WRONG_PAGE = "onboard_wrong_page"
    WRONG_ACCOUNT = "onboard_wrong_account"
    REMOVAL_CHECKED = "onboard_removal_checked"
    CANCEL = "onboard_cancel"
    HOME_REFRESH = "onboard_home_refresh"
    REVIEW_CHECKED = "onboard_review_checked"  # value "<review id>:<line id>"
    REVIEW_STILL_HAS_ACCESS = "onboard_review_still_has_access"
    REVIEW_CHECK_ALL = "onboard_review_check_all"  # value "<review id>"
