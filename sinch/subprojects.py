"""Subprojects API (closed beta): list, get and create the subprojects of a parent project."""

from __future__ import annotations

import builtins
import logging
from urllib.parse import urlencode

from sinch.apps import segment
from sinch.errors import SinchForbidden, SinchNotFound, SinchSubprojectsUnavailable
from sinch.models import SinchCredentials, Subproject, SubprojectPage
from sinch.session import ApiSession

__all__ = ["SubprojectsAPI"]

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # the API's maximum: one request covers all but the largest accounts
MAX_PAGES = 20  # a runaway nextPageToken must not keep a Slack request waiting forever


def _unavailable(exc: SinchForbidden | SinchNotFound) -> SinchSubprojectsUnavailable:
    """Closed beta: an account without the API gets 403 or 404 on the listing itself."""
    return SinchSubprojectsUnavailable(
        exc.describe(SinchSubprojectsUnavailable.summary),
        status=exc.status,
        code=exc.code,
        sinch_status=exc.sinch_status,
        resolution=exc.resolution,
        detail=exc.detail,
    )


class SubprojectsAPI:
    """Subprojects of the credentials' project (a parent's key works on its subprojects)."""

    def __init__(self, session: ApiSession) -> None:
        self._session = session

    def _base(self) -> str:
        return f"{self._session.endpoints.subprojects_url}/v1"

    def list(self, creds: SinchCredentials) -> builtins.list[Subproject]:
        """Every live subproject of `creds.project_id`; SinchSubprojectsUnavailable on 403/404."""
        found: builtins.list[Subproject] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            query = {"pageSize": str(PAGE_SIZE)} | ({"pageToken": token} if token else {})
            url = f"{self._base()}/projects/{segment(creds.project_id)}/subprojects?{urlencode(query)}"
            try:
                page = SubprojectPage.from_json(self._session.get_json(creds, url))
            except (SinchForbidden, SinchNotFound) as exc:
                raise _unavailable(exc) from exc
            found.extend(item for item in page.subprojects if not item.deleted)
            token = page.next_page_token
            if token is None:
                return found
        logger.warning("subproject listing of %s stopped after %d pages", creds.project_id, MAX_PAGES)
        return found

    def get(self, creds: SinchCredentials, subproject_id: str) -> Subproject:
        """One subproject; SinchNotFound if there is none (or this key cannot see it)."""
        url = f"{self._base()}/subprojects/{segment(subproject_id)}"
        return Subproject.from_json(self._session.get_json(creds, url))

    def create(self, creds: SinchCredentials, *, display_name: str) -> Subproject:
        """A new subproject of `creds.project_id` (sent once, never retried)."""
        url = f"{self._base()}/projects/{segment(creds.project_id)}/subprojects"
        try:
            data = self._session.post_json(creds, url, {"displayName": display_name})
        except (SinchForbidden, SinchNotFound) as exc:
            raise _unavailable(exc) from exc
        return Subproject.from_json(data)
