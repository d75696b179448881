"""Value objects at the boundary of the `sinch` package: nothing else crosses it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sinch.errors import SinchInvalidResponse

__all__ = [
    "AccessToken",
    "ChannelStatus",
    "ConversationApp",
    "InstagramStatus",
    "MessengerStatus",
    "Region",
    "SinchCredentials",
    "SinchEndpoints",
    "Subproject",
    "SubprojectPage",
]


class Region(StrEnum):
    """A Conversation API region; an app lives in exactly one and cannot move."""

    US = "us"
    EU = "eu"
    BR = "br"


class ChannelStatus(StrEnum):
    """Messenger channel status, merged from the Conversation and Provisioning vocabularies."""

    NOT_CONNECTED = "NOT_CONNECTED"  # ours: no Page connected yet (no MESSENGER credential / PAPI 404)
    PENDING = "PENDING"  # Page connected, Sinch still validating the token ("ACTIVATING CHANNEL")
    ACTIVE = "ACTIVE"
    FAILING = "FAILING"  # token could not be validated / exchanged; see the description
    ERROR = "ERROR"  # Provisioning API only
    UNRECOGNIZED = "UNRECOGNIZED"  # Provisioning API only


def _known_status(raw: str) -> str:
    """The ChannelStatus member for a known string; an unknown one is kept as Sinch sent it."""
    try:
        return ChannelStatus(raw)
    except ValueError:
        return raw


def _object(data: object, what: str) -> Mapping[str, Any]:
    """`data` as a JSON object, or SinchInvalidResponse."""
    if not isinstance(data, Mapping):
        raise SinchInvalidResponse(f"Sinch sent an unexpected {what}: expected a JSON object")
    return data


def _optional(data: Mapping[str, Any], key: str, what: str) -> str | None:
    """A string field, None when absent or empty; SinchInvalidResponse when mistyped."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SinchInvalidResponse(f"Sinch sent an unexpected {what}: '{key}' is not a string")
    return value


def _required(data: Mapping[str, Any], key: str, what: str) -> str:
    """A non-empty string field, or SinchInvalidResponse."""
    value = _optional(data, key, what)
    if value is None:
        raise SinchInvalidResponse(f"Sinch sent an unexpected {what}: '{key}' is missing")
    return value


@dataclass(frozen=True)
class SinchCredentials:
    """An access key of one project, plus the region its Conversation app lives in."""

    project_id: str
    key_id: str
    key_secret: str = field(repr=False)
    region: Region

    def __post_init__(self) -> None:
        # Accept "eu" as well as Region.EU, and fail early on a blank value pasted into a modal.
        object.__setattr__(self, "region", Region(self.region))
        for name in ("project_id", "key_id", "key_secret"):
            value = getattr(self, name)
            if not value.strip():
                raise ValueError(f"SinchCredentials.{name} must not be empty")
            if not (value.isascii() and value.isprintable()):
                # Sinch ids and secrets are printable ASCII; a lone surrogate could not even be encoded.
                raise ValueError(f"SinchCredentials.{name} must be printable ASCII")


@dataclass(frozen=True)
class MessengerStatus:
    """Where the customer's Facebook Page connection stands.

    `status` is a ChannelStatus when Sinch sent a known value, else Sinch's raw string, kept so that a
    new status shows up verbatim instead of crashing the poller. The Page id and name come only from
    the Provisioning API.
    """

    status: str
    description: str | None = None
    page_id: str | None = None
    page_name: str | None = None

    @property
    def connected(self) -> bool:
        """True once a Page has been connected, whatever its state."""
        return self.status != ChannelStatus.NOT_CONNECTED

    @classmethod
    def not_connected(cls) -> MessengerStatus:
        """No Page connected yet."""
        return cls(status=ChannelStatus.NOT_CONNECTED)

    @classmethod
    def from_json(cls, data: object) -> MessengerStatus:
        """From a Provisioning API messenger body: status, statusDescription, id (Page), name (Page)."""
        body = _object(data, "Messenger status")
        what = "Messenger status"
        return cls(
            status=_known_status(_required(body, "status", what)),
            description=_optional(body, "statusDescription", what),
            page_id=_optional(body, "id", what),
            page_name=_optional(body, "name", what),
        )

    @classmethod
    def from_channel_credentials(cls, items: object) -> MessengerStatus:
        """From an app's `channel_credentials`: the MESSENGER entry's state, or NOT_CONNECTED."""
        found = _channel_state(items, "MESSENGER")
        return cls.not_connected() if found is None else cls(status=found[0], description=found[1])


def _channel_state(items: object, channel: str) -> tuple[str, str | None] | None:
    """(status, description) of the app's `channel` entry in `channel_credentials`, None when it has none."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise SinchInvalidResponse("Sinch sent an unexpected app: 'channel_credentials' is not a list")
    for item in items:
        entry = _object(item, "channel credential")
        if entry.get("channel") != channel:
            continue
        state = _object(entry.get("state") or {}, "channel state")
        # An entry without a state has just been added: Sinch documents PENDING as initial.
        status = _optional(state, "status", "channel state") or ChannelStatus.PENDING
        return _known_status(status), _optional(state, "description", "channel state")
    return None


@dataclass(frozen=True)
class InstagramStatus:
    """Where the customer's Instagram account connection stands (account id and username: Provisioning only)."""

    status: str
    description: str | None = None
    account_id: str | None = None
    username: str | None = None

    @property
    def connected(self) -> bool:
        """True once an account has been connected, whatever its state."""
        return self.status != ChannelStatus.NOT_CONNECTED

    @classmethod
    def not_connected(cls) -> InstagramStatus:
        """No account connected yet."""
        return cls(status=ChannelStatus.NOT_CONNECTED)

    @classmethod
    def from_json(cls, data: object) -> InstagramStatus:
        """From a Provisioning API instagram body: status, statusDescription, id, username."""
        body = _object(data, "Instagram status")
        what = "Instagram status"
        return cls(
            status=_known_status(_required(body, "status", what)),
            description=_optional(body, "statusDescription", what),
            account_id=_optional(body, "id", what),
            username=_optional(body, "username", what),
        )

    @classmethod
    def from_channel_credentials(cls, items: object) -> InstagramStatus:
        """From an app's `channel_credentials`: the INSTAGRAM entry's state, or NOT_CONNECTED."""
        found = _channel_state(items, "INSTAGRAM")
        return cls.not_connected() if found is None else cls(status=found[0], description=found[1])


@dataclass(frozen=True)
class ConversationApp:
    """A Conversation API app; `messenger` and `instagram` are read from its channel_credentials."""

    id: str
    display_name: str
    messenger: MessengerStatus
    instagram: InstagramStatus = InstagramStatus(status=ChannelStatus.NOT_CONNECTED)

    @classmethod
    def from_json(cls, data: object) -> ConversationApp:
        """From a Conversation API app resource."""
        body = _object(data, "app")
        return cls(
            id=_required(body, "id", "app"),
            display_name=_optional(body, "display_name", "app") or "",
            messenger=MessengerStatus.from_channel_credentials(body.get("channel_credentials")),
            instagram=InstagramStatus.from_channel_credentials(body.get("channel_credentials")),
        )

    @classmethod
    def list_from_json(cls, data: object) -> list[ConversationApp]:
        """From a list-apps body `{"apps": [...]}` (Sinch omits `apps` when there are none)."""
        body = _object(data, "app list")
        apps = body.get("apps") or []
        if not isinstance(apps, list):
            raise SinchInvalidResponse("Sinch sent an unexpected app list: 'apps' is not a list")
        return [cls.from_json(item) for item in apps]


@dataclass(frozen=True)
class Subproject:
    """A subproject (Subprojects API): a project under a parent, sharing the parent's keys and billing."""

    id: str
    display_name: str
    parent_project_id: str
    deleted: bool = False

    @classmethod
    def from_json(cls, data: object) -> Subproject:
        """From a Subproject resource `{"subprojectId", "displayName", "parentProjectId", "deleted", ...}`."""
        body = _object(data, "subproject")
        return cls(
            id=_required(body, "subprojectId", "subproject"),
            display_name=_optional(body, "displayName", "subproject") or "",
            parent_project_id=_required(body, "parentProjectId", "subproject"),
            deleted=body.get("deleted") is True,
        )


@dataclass(frozen=True)
class SubprojectPage:
    """One page of a subproject listing; `next_page_token` is None on the last page."""

    subprojects: list[Subproject]
    next_page_token: str | None

    @classmethod
    def from_json(cls, data: object) -> SubprojectPage:
        """From `{"subprojects": [...], "nextPageToken": "..."}`."""
        body = _object(data, "subproject list")
        items = body.get("subprojects") or []
        if not isinstance(items, list):
            raise SinchInvalidResponse("Sinch sent an unexpected subproject list: 'subprojects' is not a list")
        return cls(
            subprojects=[Subproject.from_json(item) for item in items],
            next_page_token=_optional(body, "nextPageToken", "subproject list"),
        )


@dataclass(frozen=True)
class AccessToken:
    """An OAuth2 access token and the monotonic time it expires at."""

    value: str = field(repr=False)
    expires_at: float

    @classmethod
    def from_json(cls, data: object, *, now: float) -> AccessToken:
        """From a token response `{"access_token", "expires_in", "token_type", "scope"}`."""
        body = _object(data, "token response")
        value = _required(body, "access_token", "token response")
        expires_in = body.get("expires_in", 3600)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
            raise SinchInvalidResponse("Sinch sent an unexpected token response: bad 'expires_in'")
        return cls(value=value, expires_at=now + float(expires_in))


@dataclass(frozen=True)
class SinchEndpoints:
    """Base URLs; `conversation_url` is a template with `{region}` and may include a path."""

    auth_url: str = "https://auth.sinch.com"
    conversation_url: str = "https://{region}.conversation.api.sinch.com"
    provisioning_url: str = "https://provisioning.api.sinch.com"
    subprojects_url: str = "https://subproject.api.sinch.com"

    def __post_init__(self) -> None:
        for name in ("auth_url", "conversation_url", "provisioning_url", "subprojects_url"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"SinchEndpoints.{name} must be an http(s) URL, got {url!r}")
            object.__setattr__(self, name, url.rstrip("/"))
        # Without the placeholder every region would hit one host and a wrong-region app would go unnoticed.
        if "{region}" not in self.conversation_url:
            raise ValueError("SinchEndpoints.conversation_url must contain '{region}'")

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint."""
        return f"{self.auth_url}/oauth2/token"

    def conversation_base(self, region: Region) -> str:
        """The Conversation API base URL for a region."""
        # str.replace, not str.format: a URL may legitimately contain other braces.
        return self.conversation_url.replace("{region}", Region(region).value)
