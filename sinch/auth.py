"""OAuth2 client-credentials tokens: one cached token per access key, shared across threads."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sinch.models import AccessToken, SinchCredentials

__all__ = ["REFRESH_MARGIN", "TokenCache"]

logger = logging.getLogger(__name__)

REFRESH_MARGIN = 60.0  # seconds before expiry at which a cached token is replaced

_Key = tuple[str, str]


def _cache_key(creds: SinchCredentials) -> _Key:
    """Key id plus a digest of the secret, so a wrong secret never rides on a token the right one got."""
    return creds.key_id, hashlib.sha256(creds.key_secret.encode()).hexdigest()


@dataclass(frozen=True)
class _Entry:
    token: AccessToken
    refresh_at: float


class TokenCache:
    """Caches one access token per key; refreshes it shortly before expiry or when told it is stale.

    Bolt worker threads and scheduler threads share one cache. A lock per key makes the fetch
    single-flight (concurrent callers wait for one token request) without making callers of
    other keys wait behind a slow token request.
    """

    def __init__(
        self,
        fetch: Callable[[SinchCredentials], AccessToken],
        *,
        clock: Callable[[], float],
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._guard = threading.Lock()
        self._locks: dict[_Key, threading.Lock] = {}
        self._entries: dict[_Key, _Entry] = {}

    def __repr__(self) -> str:
        return f"<TokenCache keys={len(self._entries)}>"

    def get(self, creds: SinchCredentials) -> str:
        """A valid token for the key, fetching one when none is cached or it is about to expire."""
        key = _cache_key(creds)
        with self._lock_for(key):
            entry = self._entries.get(key)
            if entry is None or self._clock() >= entry.refresh_at:
                entry = self._store(key, creds)
            return entry.token.value

    def refresh(self, creds: SinchCredentials, *, stale: str) -> str:
        """A token other than `stale` (which Sinch just rejected); reuses one another thread already got."""
        key = _cache_key(creds)
        with self._lock_for(key):
            entry = self._entries.get(key)
            if entry is not None and entry.token.value != stale and self._clock() < entry.refresh_at:
                return entry.token.value
            return self._store(key, creds).token.value

    def forget(self, creds: SinchCredentials) -> None:
        """Drop the key's token (e.g. once its secret has been erased)."""
        key = _cache_key(creds)
        with self._guard:
            self._entries.pop(key, None)

    def forget_key(self, key_id: str) -> None:
        """Drop every token of this key id, whatever secret got it (the bot no longer holds the secret)."""
        with self._guard:
            for key in [key for key in self._entries if key[0] == key_id]:
                del self._entries[key]

    def key_ids(self) -> frozenset[str]:
        """The key ids a token is cached for."""
        with self._guard:
            return frozenset(key[0] for key in self._entries)

    def _lock_for(self, key: _Key) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _store(self, key: _Key, creds: SinchCredentials) -> _Entry:
        now = self._clock()
        token = self._fetch(creds)
        lifetime = token.expires_at - now
        # A short-lived token (e.g. a sandbox TTL of 60 s) must still be used for half its life.
        entry = _Entry(token=token, refresh_at=token.expires_at - min(self._margin, lifetime / 2))
        with self._guard:
            self._entries[key] = entry
        logger.debug("new Sinch access token for key %s, valid %.0f s", creds.key_id, lifetime)
        return entry
