"""The sandbox's in-memory world: projects, keys, tokens, apps per region, faults, request counts."""

from __future__ import annotations

import hmac
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sinch.models import Region
from sinch.sandbox.connections import InstagramConnection, MessengerConnection
from sinch.sandbox.ids import new_access_token, new_app_id, new_key_secret, new_page_token, new_uuid

__all__ = [
    "AccessKey", "App", "Fault", "InstagramConnection", "MessengerConnection", "Project", "SandboxState",
    "SubprojectRefused", "TokenCheck",
]

# What each connect outcome looks like in the Conversation API, which has no ERROR status.
CONVERSATION_STATUS = {"ACTIVE": "ACTIVE", "FAILING": "FAILING", "ERROR": "FAILING"}


@dataclass
class Project:
    """A project as staff create it in the dashboard, or a subproject (`parent_project_id` set)."""

    project_id: str
    name: str
    parent_project_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0


class SubprojectRefused(ValueError):
    """A subproject that cannot be created: unknown parent, or a parent that is itself a subproject."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass
class AccessKey:
    """An access key; it only works for its own project."""

    key_id: str
    project_id: str
    secret: str = field(repr=False)


@dataclass
class App:
    """A Conversation API app; it exists only in the region it was created in."""

    app_id: str
    project_id: str
    region: Region
    display_name: str
    messenger: MessengerConnection | None = None
    instagram: InstagramConnection | None = None


@dataclass
class Fault:
    """The next `remaining` requests matching method + path get this treatment (-1: forever)."""

    fault_id: int
    path_regex: re.Pattern[str]
    remaining: int
    method: str | None = None
    status: int | None = None
    retry_after: str | None = None
    latency_ms: float = 0.0
    body: Any = None
    has_body: bool = False
    drop: bool = False

    @property
    def responds(self) -> bool:
        """True when the fault replaces the response, not just delays it."""
        return self.drop or self.status is not None or self.has_body

    def matches(self, method: str, path: str) -> bool:
        """True when the fault applies to this request."""
        return (self.method is None or self.method == method) and self.path_regex.search(path) is not None

    def describe(self) -> dict[str, Any]:
        """The fault as JSON for the control routes."""
        return {
            "fault_id": self.fault_id,
            "method": self.method,
            "path_regex": self.path_regex.pattern,
            "remaining": self.remaining,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "drop": self.drop,
        }


@dataclass(frozen=True)
class TokenCheck:
    """The key behind a token, or why there is none."""

    key: AccessKey | None
    expired: bool = False


class SandboxState:
    """All sandbox data behind one re-entrant lock (waitress serves requests on many threads)."""

    def __init__(self, *, clock: Callable[[], float], token_ttl: int) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.token_ttl = token_ttl
        self.reset()

    def reset(self) -> None:
        """Forget everything: projects, keys, tokens, apps, faults and counts."""
        with self.lock:
            self.projects: dict[str, Project] = {}
            self.keys: dict[str, AccessKey] = {}
            self.tokens: dict[str, tuple[str, float]] = {}  # token -> (key id, expires at)
            self.apps: dict[Region, dict[str, App]] = {region: {} for region in Region}
            self.faults: list[Fault] = []
            self.request_counts: Counter[str] = Counter()
            self._next_fault_id = 1

    # -- projects, keys, tokens ------------------------------------------------------------

    def create_project(self, name: str) -> tuple[Project, AccessKey]:
        """A project with one access key, as staff would create in the dashboard."""
        with self.lock:
            project = Project(project_id=new_uuid(), name=name)
            key = AccessKey(key_id=new_uuid(), project_id=project.project_id, secret=new_key_secret())
            self.projects[project.project_id] = project
            self.keys[key.key_id] = key
            return project, key

    def create_subproject(
        self, parent_project_id: str, name: str, labels: dict[str, str] | None = None
    ) -> Project:
        """A subproject of a (parent) project; Sinch allows no subprojects of subprojects."""
        with self.lock:
            parent = self.projects.get(parent_project_id)
            if parent is None:
                raise SubprojectRefused(f"Project {parent_project_id} not found", not_found=True)
            if parent.parent_project_id is not None:
                raise SubprojectRefused(f"Project {parent_project_id} is a subproject and cannot have subprojects")
            project = Project(project_id=new_uuid(), name=name, parent_project_id=parent_project_id,
                              labels=dict(labels or {}), created_at=self.clock())
            self.projects[project.project_id] = project
            return project

    def add_key(self, project_id: str) -> AccessKey:
        """A further access key of an existing project (or subproject)."""
        with self.lock:
            key = AccessKey(key_id=new_uuid(), project_id=project_id, secret=new_key_secret())
            self.keys[key.key_id] = key
            return key

    def subprojects_of(self, parent_project_id: str) -> list[Project]:
        """The parent's subprojects, oldest first."""
        with self.lock:
            return [p for p in self.projects.values() if p.parent_project_id == parent_project_id]

    def project(self, project_id: str) -> Project | None:
        """The project or subproject with this id."""
        with self.lock:
            return self.projects.get(project_id)

    def key_reaches(self, key: AccessKey, project_id: str) -> bool:
        """A key acts on its own project and, as Sinch documents, on that project's subprojects."""
        if key.project_id == project_id:
            return True
        with self.lock:
            project = self.projects.get(project_id)
            return project is not None and project.parent_project_id == key.project_id

    def has_project(self, project_id: str) -> bool:
        """True when the project exists."""
        with self.lock:
            return project_id in self.projects

    def check_secret(self, key_id: str, secret: str) -> AccessKey | None:
        """The key when id and secret match."""
        with self.lock:
            key = self.keys.get(key_id)
        if key is None or not hmac.compare_digest(key.secret.encode(), secret.encode()):
            return None
        return key

    def issue_token(self, key: AccessKey) -> str:
        """A new access token for the key, valid for `token_ttl` seconds of the sandbox clock."""
        with self.lock:
            token = new_access_token()
            self.tokens[token] = (key.key_id, self.clock() + self.token_ttl)
            return token

    def check_token(self, token: str) -> TokenCheck:
        """The key behind a Bearer token, unless it is unknown or expired."""
        with self.lock:
            found = self.tokens.get(token)
            if found is None:
                return TokenCheck(key=None)
            key_id, expires_at = found
            if self.clock() >= expires_at:
                return TokenCheck(key=None, expired=True)
            return TokenCheck(key=self.keys.get(key_id))

    # -- apps --------------------------------------------------------------------------------

    def create_app(self, project_id: str, region: Region, display_name: str) -> App:
        """A new app with no channels, in the region of the host it was POSTed to."""
        with self.lock:
            app = App(app_id=new_app_id(self.clock()), project_id=project_id, region=region, display_name=display_name)
            self.apps[region][app.app_id] = app
            return app

    def apps_of(self, project_id: str, region: Region) -> list[App]:
        """The project's apps in one region, oldest first."""
        with self.lock:
            return [app for app in self.apps[region].values() if app.project_id == project_id]

    def app_in(self, project_id: str, region: Region, app_id: str) -> App | None:
        """The app, only if it belongs to the project and was created in this region."""
        with self.lock:
            app = self.apps[region].get(app_id)
            return app if app is not None and app.project_id == project_id else None

    def app_anywhere(self, project_id: str, app_id: str) -> App | None:
        """The project's app in whatever region it lives (the Provisioning API is global)."""
        with self.lock:
            for region in Region:
                if (app := self.app_in(project_id, region, app_id)) is not None:
                    return app
            return None

    def delete_app(self, app: App) -> None:
        """Remove the app."""
        with self.lock:
            self.apps[app.region].pop(app.app_id, None)

    def connect_messenger(
        self, app: App, *, page_id: str, page_name: str, outcome: str, description: str | None, delay: float
    ) -> MessengerConnection:
        """The customer connects a Page; a second connect replaces the first (and starts PENDING again)."""
        with self.lock:
            app.messenger = MessengerConnection(
                page_id=page_id,
                page_name=page_name,
                outcome=outcome,
                description=description,
                connected_at=self.clock(),
                delay=delay,
                static_token=new_page_token(),
            )
            return app.messenger

    def connect_instagram(
        self, app: App, *, instagram_id: str, username: str, outcome: str, description: str | None, delay: float
    ) -> InstagramConnection:
        """The customer connects an Instagram account; a second connect replaces the first (PENDING again)."""
        with self.lock:
            app.instagram = InstagramConnection(
                instagram_id=instagram_id,
                username=username,
                outcome=outcome,
                description=description,
                connected_at=self.clock(),
                delay=delay,
                token=new_page_token(),
            )
            return app.instagram

    # -- faults and counts -------------------------------------------------------------------

    def add_fault(self, **fields: Any) -> Fault:
        """Register a fault (fields as in `Fault`)."""
        with self.lock:
            fault = Fault(fault_id=self._next_fault_id, **fields)
            self._next_fault_id += 1
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self.lock:
            self.faults.clear()

    def record_request(self, route: str, method: str, path: str) -> list[Fault]:
        """Count the request and count down (and return) every fault that matches it."""
        with self.lock:
            self.request_counts[route] += 1
            hits = [fault for fault in self.faults if fault.matches(method, path)]
            for fault in hits:
                if fault.remaining > 0:
                    fault.remaining -= 1
            self.faults = [fault for fault in self.faults if fault.remaining != 0]
            return hits

    def request_count(self, route: str) -> int:
        """Requests seen for a route key such as "POST /conversation/{region}/v1/projects/{project}/apps"."""
        with self.lock:
            return self.request_counts[route]

    def snapshot(self) -> dict[str, Any]:
        """Everything but secrets and tokens, as JSON; reading it does not count as a status read."""
        with self.lock:
            now = self.clock()
            return {
                "projects": [
                    {
                        "project_id": project.project_id,
                        "name": project.name,
                        "parent_project_id": project.parent_project_id,
                        "key_ids": [k.key_id for k in self.keys.values() if k.project_id == project.project_id],
                    }
                    for project in self.projects.values()
                ],
                "apps": {
                    region.value: [_describe_app(app, now) for app in self.apps[region].values()] for region in Region
                },
                "request_counts": dict(sorted(self.request_counts.items())),
                "faults": [fault.describe() for fault in self.faults],
                "tokens_issued": len(self.tokens),
            }


def _describe_app(app: App, now: float) -> dict[str, Any]:
    messenger, instagram = app.messenger, app.instagram
    return {
        "id": app.app_id,
        "project_id": app.project_id,
        "display_name": app.display_name,
        "messenger": None
        if messenger is None
        else {
            "page_id": messenger.page_id,
            "page_name": messenger.page_name,
            "outcome": messenger.outcome,
            "status": messenger.status(now),
            "pending_reported": messenger.pending_reported,
            "applies_at": messenger.connected_at + messenger.delay,
        },
        "instagram": None
        if instagram is None
        else {
            "instagram_id": instagram.instagram_id,
            "username": instagram.username,
            "outcome": instagram.outcome,
            "status": instagram.status(now),
            "pending_reported": instagram.pending_reported,
            "applies_at": instagram.connected_at + instagram.delay,
        },
    }
