"""What happens when a person acts: one function per button, form and review sign-off, between the listeners
(which parse Slack's payload and answer) and the workflow (which decides). A flow opens the transaction, calls the
workflow operation, wakes the outbox after the commit and schedules follow-up work."""
