"""A channel the customer connected in the dashboard: a Facebook Page (Messenger) or an Instagram account."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Connection", "InstagramConnection", "MessengerConnection"]

DEFAULT_FAILURE = "The Page access token could not be exchanged for a long-lived token"
DEFAULT_INSTAGRAM_FAILURE = "The Instagram account's token could not be exchanged for a long-lived token"


@dataclass(kw_only=True)
class Connection:
    """PENDING first, then `outcome` (see `observe`); the same semantics for every channel."""

    outcome: str  # ACTIVE, FAILING or ERROR (Provisioning vocabulary)
    description: str | None
    connected_at: float
    delay: float
    pending_reported: bool = False

    def status(self, now: float) -> str:
        """The Provisioning-vocabulary status at `now`, without counting as a read."""
        if self.pending_reported and now >= self.connected_at + self.delay:
            return self.outcome
        return "PENDING"

    def observe(self, now: float) -> str:
        """The status a status read reports: the first read after a connect always sees PENDING."""
        status = self.status(now)
        if status == "PENDING":
            self.pending_reported = True
        return status

    def failure_description(self, status: str) -> str | None:
        """Sinch's description, which only a failing integration carries."""
        if status in ("FAILING", "ERROR"):
            return self.description or self.default_failure()
        return None

    def default_failure(self) -> str:
        """What Sinch says when the connect gave no description of its own."""
        return DEFAULT_FAILURE


@dataclass(kw_only=True)
class MessengerConnection(Connection):
    """A Page the customer connected."""

    page_id: str
    page_name: str
    static_token: str = field(repr=False)


@dataclass(kw_only=True)
class InstagramConnection(Connection):
    """An Instagram professional account the customer connected."""

    instagram_id: str
    username: str
    token: str = field(repr=False)

    def default_failure(self) -> str:
        """What Sinch says when the connect gave no description of its own."""
        return DEFAULT_INSTAGRAM_FAILURE
