"""Messenger channel status of an app, from the app itself or from the Provisioning API."""

from __future__ import annotations

from sinch.apps import AppsAPI, segment
from sinch.errors import SinchNotFound
from sinch.models import MessengerStatus, SinchCredentials
from sinch.session import ApiSession

__all__ = ["NO_MESSENGER_CHANNEL", "MessengerAPI"]

# Provisioning API 404 code meaning "no Page connected yet": a state, not an error.
NO_MESSENGER_CHANNEL = "conversation_app_no_messenger_channel"


class MessengerAPI:
    """Reads the Messenger channel status of a Conversation app."""

    def __init__(self, session: ApiSession, apps: AppsAPI, *, use_provisioning: bool) -> None:
        self._session = session
        self._apps = apps
        self._use_provisioning = use_provisioning

    def status(self, creds: SinchCredentials, app_id: str) -> MessengerStatus:
        """The status; via the Provisioning API (adds ERROR, Page id and name) when enabled."""
        if not self._use_provisioning:
            return self._apps.get(creds, app_id).messenger
        url = (
            f"{self._session.endpoints.provisioning_url}/v1/projects/{segment(creds.project_id)}"
            f"/conversation/apps/{segment(app_id)}/messenger"
        )
        try:
            data = self._session.get_json(creds, url)
        except SinchNotFound as exc:
            if exc.code == NO_MESSENGER_CHANNEL:
                return MessengerStatus.not_connected()
            raise
        return MessengerStatus.from_json(data)
