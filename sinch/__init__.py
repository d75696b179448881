"""Client for the Sinch Conversation and Provisioning APIs, plus a local sandbox of them."""

from __future__ import annotations

from sinch.apps import AppsAPI
from sinch.client import SinchClient
from sinch.errors import (
    SinchAPIError,
    SinchAuthError,
    SinchBadRequest,
    SinchError,
    SinchForbidden,
    SinchInvalidResponse,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchSubprojectsUnavailable,
    SinchTransportError,
)
from sinch.instagram import ChannelReadings, InstagramAPI
from sinch.messenger import MessengerAPI
from sinch.models import (
    ChannelStatus,
    ConversationApp,
    InstagramStatus,
    MessengerStatus,
    Region,
    SinchCredentials,
    SinchEndpoints,
    Subproject,
)
from sinch.retry import should_retry, wait_seconds
from sinch.subprojects import SubprojectsAPI

# Sinch's own SDK (PyPI "sinch") installs a top-level `sinch` package too; the bot looks for this line in
# the `sinch` it would import to tell the two apart (bot/ops/preflight.py) before importing it.
ONBOARDING_BOT_PACKAGE = True

__all__ = [
    "AppsAPI",
    "ChannelReadings",
    "ChannelStatus",
    "ConversationApp",
    "InstagramAPI",
    "InstagramStatus",
    "MessengerAPI",
    "MessengerStatus",
    "Region",
    "SinchAPIError",
    "SinchAuthError",
    "SinchBadRequest",
    "SinchClient",
    "SinchCredentials",
    "SinchEndpoints",
    "SinchError",
    "SinchForbidden",
    "SinchInvalidResponse",
    "SinchNotFound",
    "SinchRateLimited",
    "SinchServerError",
    "SinchSubprojectsUnavailable",
    "SinchTransportError",
    "Subproject",
    "SubprojectsAPI",
    "should_retry",
    "wait_seconds",
]
