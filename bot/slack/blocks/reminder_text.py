"""What a reminder in a thread asks for, by what it is about."""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from bot.slack.mrkdwn import escape
from bot.workflow.notices import Reminder, ReminderAbout

__all__ = ["reminder_text"]


def reminder_text(reminder: Reminder, *, connects: str) -> str:
    """What a reminder asks for (a row from before reminders were typed carries its sentence ready-made);
    `connects` names what the customer connects ("a Facebook Page", "an Instagram account", or both)."""
    match reminder.about:
        case None:
            return escape(reminder.reminder)
        case ReminderAbout.APPROVAL:
            return "This onboarding is still waiting for an approver."
        case ReminderAbout.PROJECT:
            return "Please create the project and register it."
        case ReminderAbout.INVITE:
            return "Please invite the customer as Limited member and press *Invitation sent*."
        case ReminderAbout.CUSTOMER:
            return (f"The customer has not connected {connects} in {_days(reminder.waited)}. Check in with "
                    "them; the onboarding expires (and their access is removed) after "
                    f"{_days(reminder.expires_after)}.")
        case ReminderAbout.REVOKE:
            return ("The customer still has access to our Sinch project. Remove it in the dashboard and press "
                    "*Access removed*." + (" Escalated to the approvers." if reminder.escalated else ""))
        case ReminderAbout.REMOVAL_CHECK:
            return ("Nobody has confirmed yet that the customer is gone from User management: someone other than "
                    "the person who removed the access, press *Customer is gone*."
                    + (" Escalated to the approvers." if reminder.escalated else ""))
        case _:
            assert_never(reminder.about)


def _days(value: timedelta | None) -> str:
    seconds = (value or timedelta()).total_seconds()
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds / 3600:g} hours"
