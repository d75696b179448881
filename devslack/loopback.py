"""HTTP requests to servers on loopback (the bot, the fake Slack, the sandbox), without httpx's TLS set-up
per request.

`httpx.get` and `httpx.post` make a client per call, and every client builds a TLS context, loading certifi's
CA bundle: about 30 ms of CPU each. The simulator's requests and the tests' polls of /healthz sent that way
were about a sixth of the SQLite pass's CPU (py-spy over the whole suite). These requests are plain HTTP to
127.0.0.1, so one context, made once per process, serves them all; `trust_env=False` keeps a developer's
HTTP(S)_PROXY from routing them elsewhere.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

__all__ = ["get", "post"]


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, **{"verify": _tls(), "trust_env": False, **kwargs})


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, **{"verify": _tls(), "trust_env": False, **kwargs})
