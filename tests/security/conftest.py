"""Prints the figures the security tests gathered (see figures.py) under pytest's summary."""

from __future__ import annotations

from typing import Any

from tests.security.figures import FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("security figures")
        for name, count in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {count}")
