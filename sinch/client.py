"""`SinchClient`: the entry point the bot holds, one per process, shared by every thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

import httpx

from sinch.apps import AppsAPI
from sinch.errors import SinchAPIError, SinchAuthError, SinchForbidden
from sinch.instagram import InstagramAPI
from sinch.messenger import MessengerAPI
from sinch.models import SinchCredentials, SinchEndpoints
from sinch.session import ApiSession, CallObserver
from sinch.subprojects import SubprojectsAPI

__all__ = ["SinchClient"]

USER_AGENT = "messenger-onboarding-bot (httpx)"


class SinchClient:
    """Sinch Conversation and Provisioning APIs over an injected httpx.Client.

    Every call takes the `SinchCredentials` of the customer's project, so one client serves all
    onboardings. `close()` closes the httpx.Client.

    **Parameters:**

    * **http** - the shared httpx.Client; give it an explicit timeout (`create()` does).
    * **endpoints** - base URLs; point them at the sandbox for tests and demos.
    * **use_provisioning** - read Messenger and Instagram status from the Provisioning API (closed beta)
      instead of the app.
    * **max_attempts** - attempts per idempotent call, the first included.
    * **sleep**, **clock** - injected so tests neither wait nor depend on real time.
    * **observer** - told of every HTTP call (method, path, status or None, seconds), e.g. for metrics.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        endpoints: SinchEndpoints,
        use_provisioning: bool = False,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        observer: CallObserver | None = None,
    ) -> None:
        self._session = ApiSession(http, endpoints=endpoints, max_attempts=max_attempts, sleep=sleep, clock=clock,
                                   observer=observer)
        self.endpoints = endpoints
        self.apps = AppsAPI(self._session)
        self.messenger = MessengerAPI(self._session, self.apps, use_provisioning=use_provisioning)
        self.instagram = InstagramAPI(self._session, self.apps, self.messenger, use_provisioning=use_provisioning)
        self.subprojects = SubprojectsAPI(self._session)

    @classmethod
    def create(
        cls,
        *,
        endpoints: SinchEndpoints,
        use_provisioning: bool = False,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 4,
        clock: Callable[[], float] = time.monotonic,
        observer: CallObserver | None = None,
    ) -> SinchClient:
        """A client with its own httpx.Client (explicit timeout; `transport` is the test seam)."""
        http = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT})
        return cls(
            http,
            endpoints=endpoints,
            use_provisioning=use_provisioning,
            max_attempts=max_attempts,
            sleep=sleep,
            clock=clock,
            observer=observer,
        )

    def __repr__(self) -> str:
        return f"<SinchClient auth={self.endpoints.auth_url!r} conversation={self.endpoints.conversation_url!r}>"

    def __enter__(self) -> SinchClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fetch_token(self, creds: SinchCredentials) -> str:
        """An access token for the key (cached until shortly before expiry)."""
        return self._session.fetch_token(creds)

    def verify_credentials(self, creds: SinchCredentials) -> None:
        """Check the key works for its project in its region; raise a clear SinchError if not."""
        try:
            self._session.fetch_token(creds)
        except SinchAuthError as exc:
            raise _restated(exc, f"Sinch rejected access key {creds.key_id}: check the key id and secret") from exc
        try:
            self.apps.list(creds)
        except SinchForbidden as exc:
            raise _restated(exc, f"Access key {creds.key_id} is not a key of project {creds.project_id}") from exc
        except SinchAuthError as exc:
            raise _restated(exc, f"Sinch rejected access key {creds.key_id} for project {creds.project_id}") from exc

    def forget_key(self, key_id: str) -> None:
        """Drop the cached access token of this key (its secret has been erased)."""
        self._session.tokens.forget_key(key_id)

    def cached_key_ids(self) -> frozenset[str]:
        """The key ids an access token is cached for."""
        return self._session.tokens.key_ids()

    def close(self) -> None:
        """Close the underlying httpx.Client."""
        self._session.http.close()


def _restated(exc: SinchAPIError, lead: str) -> SinchAPIError:
    """The same error class and codes, with a message that says what to fix."""
    return type(exc)(
        exc.describe(lead),
        status=exc.status,
        code=exc.code,
        sinch_status=exc.sinch_status,
        resolution=exc.resolution,
        detail=exc.detail,
    )
