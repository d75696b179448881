"""Conversation API apps: create, list, get, delete, and find by name."""

from __future__ import annotations

import builtins
import logging
from urllib.parse import quote

from sinch.models import ConversationApp, SinchCredentials
from sinch.session import ApiSession

__all__ = ["AppsAPI"]

logger = logging.getLogger(__name__)


def segment(value: str) -> str:
    """One URL path segment: an id pasted into Slack must not be able to change the path."""
    return quote(value, safe="")


class AppsAPI:
    """Conversation API apps, on the regional host of the credentials' region."""

    def __init__(self, session: ApiSession) -> None:
        self._session = session

    def _url(self, creds: SinchCredentials, app_id: str | None = None) -> str:
        base = self._session.endpoints.conversation_base(creds.region)
        url = f"{base}/v1/projects/{segment(creds.project_id)}/apps"
        return url if app_id is None else f"{url}/{segment(app_id)}"

    def create(self, creds: SinchCredentials, *, display_name: str) -> ConversationApp:
        """Create an app with no channels; sent once, never retried (use find_by_name first)."""
        if not display_name.strip():
            raise ValueError("display_name must not be empty")
        body = {"display_name": display_name, "channel_credentials": []}
        app = ConversationApp.from_json(self._session.post_json(creds, self._url(creds), body))
        logger.info("created Sinch app %s in project %s (%s)", app.id, creds.project_id, creds.region)
        return app

    def list(self, creds: SinchCredentials) -> builtins.list[ConversationApp]:
        """The project's apps in the credentials' region."""
        return ConversationApp.list_from_json(self._session.get_json(creds, self._url(creds)))

    def get(self, creds: SinchCredentials, app_id: str) -> ConversationApp:
        """One app; SinchNotFound if it does not exist in this region."""
        return ConversationApp.from_json(self._session.get_json(creds, self._url(creds, app_id)))

    def delete(self, creds: SinchCredentials, app_id: str) -> None:
        """Delete an app (sent once, never retried)."""
        self._session.delete(creds, self._url(creds, app_id))
        logger.info("deleted Sinch app %s in project %s (%s)", app_id, creds.project_id, creds.region)

    def find_by_name(self, creds: SinchCredentials, display_name: str) -> ConversationApp | None:
        """The app with exactly this display name, so that a create can be made idempotent."""
        matches = [app for app in self.list(creds) if app.display_name == display_name]
        if len(matches) > 1:
            logger.warning(
                "%d Sinch apps named %r in project %s; using %s",
                len(matches),
                display_name,
                creds.project_id,
                matches[0].id,
            )
        return matches[0] if matches else None
