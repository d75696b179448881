"""Socket Mode recovery, per adapter, against devslack's stand-in: ack latency and time to reconnect.

`python -m bench.socket_mode [builtin] [websocket-client] [connector]` runs, for each adapter, a minimal Bolt
app (one slash command that acks) connected to the stand-in and measures:
- the first ack; the ack of the first envelope after a `disconnect` (refresh_requested);
- seconds to a new connection after a clean close, an abrupt TCP reset, a peer gone silent, and a 3 s refusal;
- acks received twice.
`websocket-client` is not a dependency of the bot; that adapter is measured only where it is installed.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from devslack import FakeSlackState, start_fake_slack
from devslack.socket_mode import SocketConnection, SocketModeServer

__all__ = ["measure"]

GIVE_UP = 20.0  # seconds; a recovery slower than this is reported as "> 20"


def _app(url: str, state: FakeSlackState) -> App:
    app = App(client=WebClient(token=state.bot_token, base_url=url), token_verification_enabled=False,
              signing_secret="unused-in-socket-mode")
    app.command("/onboard")(lambda ack: ack())
    return app


def _envelope(state: FakeSlackState) -> dict[str, Any]:
    return {"command": "/onboard", "text": "", "user_id": "U0BENCH", "channel_id": "C0BENCH", "team_id": state.team_id,
            "api_app_id": state.app_id, "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/x"}


def _start(adapter: str, app: App, token: str) -> Callable[[], None]:
    """Start the adapter; returns its stop function."""
    if adapter == "connector":
        from bot.slack.socket_mode import SocketModeConnector

        connector = SocketModeConnector(app, token, proxy=None)
        connector.start()
        return lambda: connector.stop(timeout=2)
    handler: Any
    if adapter == "builtin":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, token)
    else:
        from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler as WebSocketClientHandler

        handler = WebSocketClientHandler(app, token)
    handler.connect()
    return handler.close  # type: ignore[no-any-return]


def _ack_ms(hub: SocketModeServer, state: FakeSlackState) -> float:
    envelope = hub.deliver("slash_commands", _envelope(state), accepts_response_payload=True, wait=GIVE_UP)
    try:
        return hub.wait_for_ack(envelope, GIVE_UP).latency * 1000
    except TimeoutError:
        return float("inf")


def _back_after(hub: SocketModeServer, action: Callable[[], None]) -> float:
    newest = max((c.connection_id for c in hub.connections), default=0)
    started = time.monotonic()
    action()
    try:
        hub.wait_for_connection(newer_than=newest, timeout=GIVE_UP)
    except TimeoutError:
        return float("inf")
    return time.monotonic() - started


def _each(hub: SocketModeServer, action: Callable[[SocketConnection], None]) -> None:
    for conn in hub.open_connections():
        action(conn)


def measure(adapter: str) -> dict[str, float]:
    """One adapter's figures (milliseconds for acks, seconds for reconnects)."""
    state = FakeSlackState()
    running = start_fake_slack(state=state, socket_mode=True)
    hub = running.socket_mode
    assert hub is not None
    stop = _start(adapter, _app(running.url, state), state.app_token)
    figures: dict[str, float] = {}
    try:
        hub.wait_for_connection(timeout=GIVE_UP)
        figures["first ack (ms)"] = _ack_ms(hub, state)
        figures["back after clean close (s)"] = _back_after(hub, lambda: _each(hub, hub.close))
        figures["ack after close (ms)"] = _ack_ms(hub, state)
        for conn in hub.open_connections(deliverable=True):
            hub.send_disconnect(conn)
        figures["first ack after disconnect (ms)"] = _ack_ms(hub, state)
        figures["back after TCP reset (s)"] = _back_after(hub, lambda: _each(hub, hub.drop))
        figures["back after silent peer (s)"] = _back_after(hub, lambda: _each(hub, hub.silence))

        def refuse_then_close() -> None:
            hub.refuse_connections(3.0)
            for conn in hub.open_connections():
                hub.close(conn)

        figures["back after 3 s refusal (s)"] = _back_after(hub, refuse_then_close)
        figures["acked twice"] = float(len(hub.duplicate_acks))
    finally:
        stop()
        running.stop()
    return figures


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.CRITICAL)
    for adapter in argv or ["builtin", "websocket-client", "connector"]:
        try:
            figures = measure(adapter)
        except ImportError as exc:
            print(f"{adapter}: not installed ({exc})")
            continue
        print(adapter + ": " + ", ".join(f"{name} {value:.2f}" for name, value in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
