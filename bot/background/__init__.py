"""Background work: the scheduler and its jobs, the outbox dispatcher, timing rules and app creation."""
