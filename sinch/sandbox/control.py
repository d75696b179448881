"""`SandboxControl`: a typed client for the /_sandbox control routes, for tests, demos and scripts."""

from __future__ import annotations

from typing import Any

import httpx

from sinch.models import Region, SinchCredentials

__all__ = ["SandboxControl"]


class SandboxControl:
    """Drives the dashboard stand-in and fault injection over HTTP (any transport, e.g. WSGITransport)."""

    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, f"{self._base}/_sandbox{path}", json=body)
        response.raise_for_status()
        return response.json()

    def create_project(self, name: str, region: Region | str = Region.US) -> SinchCredentials:
        """A new project and its access key, as credentials for `region`."""
        created = self._call("POST", "/projects", {"name": name})
        return SinchCredentials(
            project_id=created["project_id"],
            key_id=created["key_id"],
            key_secret=created["key_secret"],
            region=Region(region),
        )

    def create_subproject(
        self, parent_project_id: str, name: str, region: Region | str = Region.US
    ) -> SinchCredentials:
        """A subproject of `parent_project_id` and an access key made in it, as credentials for `region`."""
        created = self._call("POST", f"/projects/{parent_project_id}/subprojects", {"name": name})
        return SinchCredentials(
            project_id=created["project_id"],
            key_id=created["key_id"],
            key_secret=created["key_secret"],
            region=Region(region),
        )

    def create_key(self, project_id: str, region: Region | str = Region.US) -> SinchCredentials:
        """One more access key of an existing project, as staff create it in the dashboard."""
        created = self._call("POST", f"/projects/{project_id}/keys", {})
        return SinchCredentials(
            project_id=project_id,
            key_id=created["key_id"],
            key_secret=created["key_secret"],
            region=Region(region),
        )

    def connect_page(
        self,
        project_id: str,
        app_id: str,
        *,
        page_id: str = "100200300400500",
        page_name: str = "Sandbox Page",
        outcome: str = "ACTIVE",
        description: str | None = None,
        delay_seconds: float = 0,
    ) -> dict[str, Any]:
        """The customer connects a Facebook Page to the app."""
        body: dict[str, Any] = {
            "page_id": page_id,
            "page_name": page_name,
            "outcome": outcome,
            "delay_seconds": delay_seconds,
        }
        if description is not None:
            body["description"] = description
        result: dict[str, Any] = self._call("POST", f"/projects/{project_id}/apps/{app_id}/messenger", body)
        return result

    def connect_instagram(
        self,
        project_id: str,
        app_id: str,
        *,
        instagram_id: str = "17841400000000001",
        username: str = "sandbox.shop",
        outcome: str = "ACTIVE",
        description: str | None = None,
        delay_seconds: float = 0,
    ) -> dict[str, Any]:
        """The customer connects an Instagram account to the app."""
        body: dict[str, Any] = {
            "instagram_id": instagram_id,
            "username": username,
            "outcome": outcome,
            "delay_seconds": delay_seconds,
        }
        if description is not None:
            body["description"] = description
        result: dict[str, Any] = self._call("POST", f"/projects/{project_id}/apps/{app_id}/instagram", body)
        return result

    def add_fault(self, path_regex: str, *, count: int = 1, **fields: Any) -> dict[str, Any]:
        """Shape the next `count` matching requests (fields: method, status, retry_after, latency_ms, body, drop)."""
        result: dict[str, Any] = self._call("POST", "/faults", {"path_regex": path_regex, "count": count, **fields})
        return result

    def clear_faults(self) -> None:
        """Remove every fault, including global latency."""
        self._call("DELETE", "/faults")

    def reset(self) -> None:
        """Forget everything."""
        self._call("POST", "/reset")

    def state(self) -> dict[str, Any]:
        """Projects, apps per region, request counts per route, pending faults."""
        result: dict[str, Any] = self._call("GET", "/state")
        return result
