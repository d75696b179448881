"""The onboarding workflow: states, steps and domain operations. No Slack imports here."""

from __future__ import annotations

from bot.workflow.access import apply_channel_status, cancel, confirm_invite, confirm_revocation, expire, remind
from bot.workflow.core import (
    MAX_REASON,
    SYSTEM_ACTOR,
    Actor,
    app_display_name,
    load,
    require_approver,
    require_canceller,
    require_decider,
)
from bot.workflow.errors import (
    DuplicateOnboarding,
    IntakeInvalid,
    IntakeLimited,
    NotAllowed,
    OnboardingError,
    OnboardingNotFound,
    StateChanged,
    WrongState,
)
from bot.workflow.intake import INTAKE_FIELDS, Intake, PageType, parse_intake
from bot.workflow.notices import STATE_LABELS, NoticeType
from bot.workflow.operations import (
    approve,
    check_intake_allowance,
    record_app_created,
    record_app_failure,
    register_project,
    reject,
    request_app_retry,
    submit_intake,
)
from bot.workflow.steps import STEPS, Performer, Step, StepProgress, progress

__all__ = [
    "INTAKE_FIELDS",
    "MAX_REASON",
    "STATE_LABELS",
    "STEPS",
    "SYSTEM_ACTOR",
    "Actor",
    "DuplicateOnboarding",
    "Intake",
    "IntakeInvalid",
    "IntakeLimited",
    "NotAllowed",
    "NoticeType",
    "OnboardingError",
    "OnboardingNotFound",
    "PageType",
    "Performer",
    "Step",
    "StateChanged",
    "StepProgress",
    "WrongState",
    "app_display_name",
    "apply_channel_status",
    "approve",
    "cancel",
    "check_intake_allowance",
    "confirm_invite",
    "confirm_revocation",
    "expire",
    "load",
    "parse_intake",
    "progress",
    "record_app_created",
    "record_app_failure",
    "register_project",
    "reject",
    "remind",
    "request_app_retry",
    "require_approver",
    "require_canceller",
    "require_decider",
    "submit_intake",
]
