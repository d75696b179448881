"""Who may approve: listed user ids, plus members of listed user groups (looked up, cached)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["ApproverDirectory"]

logger = logging.getLogger(__name__)


class ApproverDirectory:
    """Answers "is this user an approver?" from APPROVERS; group membership is cached for `ttl` seconds."""

    def __init__(
        self,
        client: WebClient,
        *,
        users: tuple[str, ...],
        groups: tuple[str, ...],
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._users = frozenset(users)
        self._groups = groups
        self._ttl = ttl
        self._monotonic = monotonic
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def mentions(self) -> tuple[str, ...]:
        """Ids to mention when approvers are needed: the users and the groups themselves."""
        return tuple(sorted(self._users)) + self._groups

    def is_approver(self, user_id: str) -> bool:
        if user_id in self._users:
            return True
        return any(user_id in self._group_members(group) for group in self._groups)

    def _group_members(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._members.get(group)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or [])
        except SlackApiError as exc:
            # Fail closed: an unreadable group grants nobody approval rights.
            logger.warning("cannot read user group %s: %s", group, exc.response.get("error"))
            return cached[1] if cached is not None else frozenset()
        with self._lock:
            self._members[group] = (now, members)
        return members
