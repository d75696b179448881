"""slack_sdk's WebClient on kept-alive connections, one per thread and host.

slack_sdk sends every Web API call through `urllib.request.urlopen`, which opens a new connection and closes it
after the answer: in production a TCP and TLS handshake per `views.open` and per outbox post, and in a burst of
`/onboard` commands (each opens a form) CPU the acks share. On loopback, where there is no TLS to save, a
`views.open` cost 0.52–0.55 ms of the bot's CPU on a kept-alive connection against 0.59–0.70 ms (issue 22).

Only the transport changes; what slack_sdk sees does not. A non-2xx answer is raised as urllib's HTTPError, a
failure to send as urllib's URLError, and a failure while reading the answer as the socket's own error, exactly
as `urlopen` reports them, so slack_sdk's retry handlers (and this bot's rate-limit handler) decide as before.
A request is sent again only when it provably never left: a connection found closed before use is replaced,
and one that breaks while the request is being written is retried once on a new connection. One that breaks
after the request was sent is reported, never resent here: Slack may have acted on it (see make_web_client).
"""

from __future__ import annotations

import http.client
import io
import select
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

__all__ = ["IDLE_REUSE_S", "KeepAliveWebClient"]

# A connection idle longer than this is closed rather than reused: well under the idle timeouts of common
# front ends (60 s and more), so the server is not closing it at the moment a request goes out.
IDLE_REUSE_S = 30.0

_Key = tuple[int, str, str, int]  # the calling thread, then scheme, host and port
_Open = dict[_Key, tuple[http.client.HTTPConnection, float]]


class KeepAliveWebClient(WebClient):
    """A WebClient whose calls reuse the calling thread's open connection to the API host.

    The connections are held here rather than in each thread, so that `close()` (or the client's end) closes
    them all, including those of threads that have ended.
    """

    def __init__(self, *args: Any, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._open: _Open = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._open, self._lock)

    def close(self) -> None:
        """Close every kept-alive connection; later calls go through urllib, a connection each, as slack_sdk's do."""
        self._finalizer()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if (not self._finalizer.alive or self.proxy is not None or parts.scheme not in ("http", "https")
                or parts.hostname is None):
            return super()._perform_urllib_http_request_internal(url, req)
        key = (threading.get_ident(), parts.scheme, parts.hostname,
               parts.port or (443 if parts.scheme == "https" else 80))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {name.title(): value for name, value in req.header_items()}
        connection, response = self._send(key, target, req.data, headers)
        try:
            body = response.read()
        except BaseException:
            self._forget(key)
            raise
        if response.will_close:
            self._forget(key)
        else:
            with self._lock:
                self._open[key] = (connection, self._clock())
        if not 200 <= response.status < 300:
            raise HTTPError(url, response.status, response.reason, response.headers, io.BytesIO(body))
        if response.headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": response.headers, "body": body}
        charset = response.headers.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.headers, "body": body.decode(charset)}

    def _send(self, key: _Key, target: str, body: Any,
              headers: dict[str, str]) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """The connection and its response to one POST; raises as urlopen would (URLError while sending, the
        socket's own error after)."""
        for attempt in (1, 2):
            connection, reused = self._connection(key)
            try:
                connection.request("POST", target, body=body, headers=headers)
            except OSError as error:
                self._forget(key)
                if reused and attempt == 1:
                    continue  # the server had closed it: nothing was taken in
                raise URLError(error) from error
            try:
                return connection, connection.getresponse()
            except BaseException:
                self._forget(key)
                raise
        raise AssertionError("unreachable")

    def _connection(self, key: _Key) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to `key`, and whether it was used before; a new one if it is stale."""
        with self._lock:
            held = self._open.get(key)
        if held is not None:
            connection, last_used = held
            if self._clock() - last_used < IDLE_REUSE_S and not _closed_by_peer(connection):
                return connection, True
            self._forget(key)
        _thread, scheme, host, port = key
        connection = (http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self.ssl)
                      if scheme == "https" else http.client.HTTPConnection(host, port, timeout=self.timeout))
        with self._lock:
            self._open[key] = (connection, self._clock())
        return connection, False

    def _forget(self, key: _Key) -> None:
        with self._lock:
            held = self._open.pop(key, None)
        if held is not None:
            held[0].close()


def _close_all(connections: _Open, lock: threading.Lock) -> None:
    with lock:
        held = list(connections.values())
        connections.clear()
    for connection, _last_used in held:
        connection.close()


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection has something to read: the server's close (or stray bytes); either way, unusable."""
    sock = connection.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
