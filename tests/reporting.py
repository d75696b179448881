"""The figures tests gather (security, replicas) and the databases they made, printed under pytest's summary.

With pytest-xdist each worker is a process of its own: it gathers its share, hands it to the controller when
it finishes (`workeroutput`), and the controller adds the shares up before printing.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from tests.replicas.figures import FIGURES as REPLICA_FIGURES
from tests.security.figures import FIGURES as SECURITY_FIGURES

__all__ = ["DatabaseUse", "add_share", "print_sections", "share"]

# Section title -> the figures; a Counter's values add up across workers, a dict's keys come from one test each.
SECTIONS: dict[str, MutableMapping[str, Any]] = {
    "security figures": SECURITY_FIGURES,
    "replica figures": REPLICA_FIGURES,
}
SORTED = {"security figures"}


class DatabaseUse:
    """Which database the run used and how many it made, over every worker."""

    def __init__(self) -> None:
        self.kind = ""  # e.g. "PostgreSQL 15.2 (TEST_DATABASE_URL=…)"; empty while no test used one
        self.dialect = ""
        self.made = 0

    def record(self, *, kind: str, dialect: str, made: int) -> None:
        self.kind, self.dialect = kind, dialect
        self.made += made

    def line(self) -> str:
        if self.dialect == "postgresql":
            return (f"{self.kind}: {self.made} databases made, each dropped when its test is done (the last ones by "
                    "`python -m tests.databases`, once the run has ended)")
        return f"{self.kind}: {self.made} made"


def share(databases: DatabaseUse) -> dict[str, Any]:
    """What one worker gathered, as plain data for `workeroutput`."""
    return {"figures": {title: dict(figures) for title, figures in SECTIONS.items()},
            "databases": {"kind": databases.kind, "dialect": databases.dialect, "made": databases.made}}


def add_share(gathered: dict[str, Any], databases: DatabaseUse) -> None:
    """Add one worker's share (from `share`) to this process's figures."""
    for title, figures in gathered.get("figures", {}).items():
        SECTIONS[title].update(figures)  # Counter.update adds; dict.update sets each test's own keys
    used = gathered.get("databases", {})
    if used.get("kind"):
        databases.record(kind=used["kind"], dialect=used["dialect"], made=used["made"])


def print_sections(terminalreporter: Any, databases: DatabaseUse) -> None:
    for title, figures in SECTIONS.items():
        if figures:
            terminalreporter.section(title)
            names = sorted(figures) if title in SORTED else list(figures)
            for name in names:
                terminalreporter.write_line(f"{name}: {figures[name]}")
    if databases.kind:
        terminalreporter.section("database")
        terminalreporter.write_line(databases.line())
