"""The figures the several-processes tests gathered (see figures.py), printed under pytest's summary.

Each test's database comes from the suite-wide `database_url` fixture (tests/conftest.py): SQLite by default,
PostgreSQL when TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

from typing import Any

from tests.replicas.figures import FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("replica figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
