"""Path templates such as `/apps/{app}` matched to handlers, per method."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sinch.sandbox.state import SandboxState
from sinch.sandbox.wsgi import Request, Response

__all__ = ["Handler", "Match", "Route", "match"]

Handler = Callable[[SandboxState, Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    template: str
    handlers: dict[str, Handler]
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "/?$"
        object.__setattr__(self, "pattern", re.compile(regex))


@dataclass(frozen=True)
class Match:
    """The matched route's `METHOD /template` key, its handler (None: method not allowed) and params."""

    key: str
    handler: Handler | None
    params: dict[str, str]
    allowed: tuple[str, ...]


def match(routes: Sequence[Route], method: str, path: str) -> Match | None:
    """The route for the path, or None when no template matches."""
    for route in routes:
        found = route.pattern.match(path)
        if found is not None:
            return Match(
                key=f"{method} {route.template}",
                handler=route.handlers.get(method),
                params=found.groupdict(),
                allowed=tuple(sorted(route.handlers)),
            )
    return None
