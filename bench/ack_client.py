"""The ack benchmark's simulated Slack client: signed requests on kept-alive connections, round robin over
one or more server processes."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Any

from bench.common import Figure
from bot.slack.ids import ActionId
from devslack import FakeMessage, SlackUserSimulator

__all__ = ["CHANNEL", "LEAD", "REQUESTERS", "Client", "Sample", "floor_figures", "ramp_figures"]

CHANNEL = "C0ONBOARD"
REQUESTERS = ("U0REQ", "U0REQ2", "U0REQ3", "U0REQ4")
LEAD = "U0LEAD"


@dataclass
class Sample:
    kind: str
    status: int
    ms: float



class Client:
    """One simulated Slack client: builds each signed request just before sending it on a kept-alive connection.

    With several server processes (`ports`), requests go to them in turn, as a round-robin load balancer would.
    """

    def __init__(self, ports: list[int], sim: SlackUserSimulator, *, first: int = 0) -> None:
        self._ports = ports
        self._sim = sim
        self._turn = first
        self._port = ports[first % len(ports)]
        self._conns: dict[int, http.client.HTTPConnection] = {}

    def _connection(self) -> http.client.HTTPConnection:
        if self._port not in self._conns:
            self._conns[self._port] = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
        return self._conns[self._port]

    def close(self) -> None:
        connection = self._conns.pop(self._port, None)
        if connection is not None:
            connection.close()

    def close_all(self) -> None:
        for connection in self._conns.values():
            connection.close()
        self._conns.clear()

    def send(self, kind: str, index: int, message: FakeMessage | None) -> Sample:
        if kind == "click":
            assert message is not None
            req = self._sim.click(LEAD, message=message, action_id=ActionId.APPROVE)
        else:
            req = self._sim.slash_command(REQUESTERS[index % len(REQUESTERS)], text="", channel_id=CHANNEL)
        body = req.body.encode()
        self._port = self._ports[self._turn % len(self._ports)]
        self._turn += 1
        for attempt in (1, 2):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body=body, headers=req.headers)
                response = conn.getresponse()
                response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()  # the server closed a kept-alive connection; a fresh one is what Slack would use
                if attempt == 2:
                    raise
                continue
            ms = (time.perf_counter() - started) * 1000
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return Sample(kind, response.status, ms)
        raise AssertionError("unreachable")


def ramp_figures(name: str, clients: int, bot: dict[str, Any], base: dict[str, Any], clicks: int, *,
                 limit_ms: float | None) -> list[Figure]:
    """One ramp step's figures: p99 and the slowest ack (held to `limit_ms` where given), all answered 200,
    every approval applied, throughput; each beside the baseline's."""
    label = f"{name} ({clients} clients, back to back)"
    slowest_met = bot["max"] < limit_ms if limit_ms is not None else None
    return [
        Figure(f"{label}: p99", bot["p99"], "ms", "-", None, baseline=base["p99"]),
        Figure(f"{label}: slowest ack", bot["max"], "ms", f"< {limit_ms:g} ms" if limit_ms else "-", slowest_met,
               baseline=base["max"]),
        Figure(f"{label}: answered 200", bot["statuses"].get("200", 0), "", f"= {bot['requests']}",
               bot["statuses"] == {"200": bot["requests"]}, baseline=base["statuses"].get("200", 0)),
        Figure(f"{label}: approvals applied", bot["approved_after_ack"], "", f"= {clicks}",
               bot["approved_after_ack"] == clicks),
        Figure(f"{label}: throughput", bot["throughput_rps"], "req/s", "-", None, baseline=base["throughput_rps"]),
    ]


def floor_figures(name: str, floor: dict[str, Any], base: dict[str, Any]) -> list[Figure]:
    """The floor's p99 and its ratio to bare Bolt (bench/floor_server.py): where this stack alone puts the figure
    the bot is held to. Informational; the bot's own figures carry the targets."""
    ratio = floor["p99"] / base["p99"] if base["p99"] else float("inf")
    return [Figure(f"{name}: floor p99 (bare Bolt + the durable work)", floor["p99"], "ms", "-", None,
                   baseline=base["p99"]),
            Figure(f"{name}: floor p99 ÷ baseline p99", round(ratio, 2), "×", "-", None),
            Figure(f"{name}: floor answered 200", floor["statuses"].get("200", 0), "", f"= {floor['requests']}",
                   floor["statuses"] == {"200": floor["requests"]})]
