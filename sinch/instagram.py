"""Instagram channel status of an app, and both channels' status in one read."""

from __future__ import annotations

from dataclasses import dataclass

from sinch.apps import AppsAPI, segment
from sinch.errors import SinchNotFound
from sinch.messenger import MessengerAPI
from sinch.models import InstagramStatus, MessengerStatus, SinchCredentials
from sinch.session import ApiSession

__all__ = ["ChannelReadings", "InstagramAPI"]


@dataclass(frozen=True)
class ChannelReadings:
    """What one poll saw of each channel it read (None: that channel was not asked for)."""

    messenger: MessengerStatus | None
    instagram: InstagramStatus | None


class InstagramAPI:
    """Reads the Instagram channel status of a Conversation app."""

    def __init__(self, session: ApiSession, apps: AppsAPI, messenger: MessengerAPI, *, use_provisioning: bool) -> None:
        self._session = session
        self._apps = apps
        self._messenger = messenger
        self._use_provisioning = use_provisioning

    def status(self, creds: SinchCredentials, app_id: str) -> InstagramStatus:
        """The status; via the Provisioning API (adds ERROR, account id and username) when enabled."""
        if not self._use_provisioning:
            return self._apps.get(creds, app_id).instagram
        url = (
            f"{self._session.endpoints.provisioning_url}/v1/projects/{segment(creds.project_id)}"
            f"/conversation/apps/{segment(app_id)}/instagram"
        )
        try:
            data = self._session.get_json(creds, url)
        except SinchNotFound as exc:
            # The "no channel yet" code is undocumented for Instagram (sinch-api.md §3): any 404 that is not
            # about the app itself means no account is connected yet.
            if exc.code != "conversation_app_not_found":
                return InstagramStatus.not_connected()
            raise
        return InstagramStatus.from_json(data)

    def channels(
        self, creds: SinchCredentials, app_id: str, *, messenger: bool, instagram: bool
    ) -> ChannelReadings:
        """Every requested channel: one GET of the app for both, or one Provisioning GET per channel."""
        if not self._use_provisioning and messenger and instagram:
            app = self._apps.get(creds, app_id)
            return ChannelReadings(messenger=app.messenger, instagram=app.instagram)
        return ChannelReadings(
            messenger=self._messenger.status(creds, app_id) if messenger else None,
            instagram=self.status(creds, app_id) if instagram else None,
        )
