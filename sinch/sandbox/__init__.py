"""A local stand-in for Sinch's APIs plus a dashboard stand-in for the human steps.

One WSGI app: use it in-process through `httpx.WSGITransport(app=make_app())`, or on a real
port with `serve()` (blocking, what `python -m bot sandbox` runs) or `start_in_thread()`.
See docs/sandbox.md.
"""

from __future__ import annotations

from sinch.sandbox.app import ConnectionDropped, SandboxApp, make_app
from sinch.sandbox.control import SandboxControl
from sinch.sandbox.server import RunningSandbox, endpoints_for, serve, start_in_thread

__all__ = [
    "ConnectionDropped",
    "RunningSandbox",
    "SandboxApp",
    "SandboxControl",
    "endpoints_for",
    "make_app",
    "serve",
    "start_in_thread",
]
